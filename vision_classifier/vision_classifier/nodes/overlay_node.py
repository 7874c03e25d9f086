"""
overlay_node: Viam's `transform` camera with a `classifications` step.

Draws a classifier's results on the frames they were computed from (matched by header stamp and frame_id) and
publishes `~/image`, and `~/image/compressed` (JPEG) while someone subscribes to it.
"""
from pathlib import Path
import sys
import time

import cv2
from rcl_interfaces.msg import SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from vision_classifier.core.compressed import encode_jpeg
from vision_classifier.core.drawing import draw_classifications, filter_for_overlay
from vision_classifier.core.health import Health
from vision_classifier.core.image_encoding import ImageError
from vision_classifier.core.parameters import OVERLAY
from vision_classifier.core.preprocess import to_rgb
from vision_classifier.core.rate_limit import FaultLog
from vision_classifier.core.vision import Classification
from vision_classifier.nodes.diagnostics import Diagnostics
from vision_classifier.nodes.image_input import image_subscription
from vision_classifier.nodes.lifecycle import ManagedNode
from vision_classifier.nodes.main import run_node, StartupError
from vision_classifier.nodes.messages import image_msg
from vision_classifier.nodes.parameters import declare
from vision_classifier_msgs.msg import Classifications

BUFFERED = 30        # recent frames waiting for results, and recent results, kept for matching
BUFFERED_BYTES = 256 * 1024 * 1024  # and at most this much image data waiting
IMAGE_DEPTH = 5
DYNAMIC = tuple(name for name, p in OVERLAY.items() if p.dynamic)


def key_of(header):
    """Return (stamp in ns, frame_id): what ties a result to its frame; sorts by stamp."""
    return header.stamp.sec * 10**9 + header.stamp.nanosec, header.frame_id


class OverlayNode(ManagedNode):
    NODE_NAME = 'overlay'

    def __init__(self, node_name=NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        self.p = self._declare_parameters()
        self.faults = FaultLog(self.p['fault_log_period'])  # faults and health first: _trim_saved reports to them
        self.health = Health('images', 'images', counts_drops=True)
        self.output_dir = Path(self.p['output_dir']) if self.p['output_dir'] else None
        self.saved = {}  # paths of saved frames, oldest first
        self.frames = {}    # key -> (arrival time, header, DecodedImage), oldest arrival first
        self.results = {}   # key -> [Classification]
        self.publisher = self.jpeg_publisher = self.image_sub = self.results_sub = self.timer = None
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.diagnostics = Diagnostics(self, self.health, 'overlay', self._status)
        if self.p['autostart']:
            self.autostart()

    def configure(self):
        """Prepare output_dir (its oldest frames beyond max_saved_frames deleted) and the publishers."""
        if self.output_dir:
            try:
                self.output_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StartupError(f'output_dir {self.output_dir}: {e.strerror}') from None
            self.saved = dict.fromkeys(sorted(self.output_dir.glob('frame_*.png'), key=lambda p: p.stat().st_mtime))
            self._trim_saved()
        reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        self.publisher = self.create_publisher(Image, '~/image', reliable)
        self.jpeg_publisher = self.create_publisher(CompressedImage, '~/image/compressed', reliable)

    def activate(self):
        """Subscribe the images and the results, and publish what is drawn."""
        self.image_sub, self.decode_image = image_subscription(
            self, self.p['image_transport'], self._on_image, self.p['qos_reliability'], IMAGE_DEPTH)
        self.results_sub = self.create_subscription(Classifications, 'classifications', self._on_results, 10)
        self.timer = self.create_timer(0.05, self._expire_old_frames, clock=Clock(clock_type=ClockType.STEADY_TIME))
        saving = f'; saving frames in {self.output_dir}' if self.output_dir else ''
        self.get_logger().info(f'drawing {self.results_sub.topic_name} on {self.image_sub.topic_name}, '
                               f'publishing {self.publisher.topic_name}{saving}')

    def deactivate(self):
        """Unsubscribe; the frames waiting for results are dropped."""
        if self.image_sub is not None:
            self.image_sub.destroy()
            self.destroy_subscription(self.results_sub)
            self.destroy_timer(self.timer)
        self.image_sub = self.results_sub = self.timer = None
        self.frames.clear()
        self.results.clear()

    def cleanup(self):
        for publisher in (self.publisher, self.jpeg_publisher):
            if publisher is not None:
                self.destroy_publisher(publisher)
        self.publisher = self.jpeg_publisher = None

    def _status(self):
        if self.image_sub is None:
            return None, [('state', 'active' if self.active else 'inactive' if self.publisher else 'unconfigured')]
        return None, [('topic', self.image_sub.topic_name), ('results topic', self.results_sub.topic_name),
                      ('waiting frames', str(len(self.frames))), ('state', 'active')], self.image_sub.problems

    def _declare_parameters(self):
        values = declare(self, OVERLAY)
        values['valid_labels'] = [label for label in values['valid_labels'] if label.strip()]
        return values

    def _on_set_parameters(self, params):
        values = dict(self.p, **{p.name: p.value for p in params if p.name in DYNAMIC})
        values['valid_labels'] = [label for label in values['valid_labels'] or [] if label.strip()]
        self.p = values
        return SetParametersResult(successful=True)

    def _on_image(self, msg):
        self.health.frame_in()
        try:
            image = self.decode_image(msg, self.p['max_image_bytes'])
        except ImageError as e:
            self._fault(e.kind, f'image rejected: {e}')
            return
        key = key_of(msg.header)
        if key in self.results:
            self._publish(msg.header, image, self.results[key])
            return
        self.frames.pop(key, None)
        self.frames[key] = (time.monotonic(), msg.header, image)
        while len(self.frames) > BUFFERED or (
                len(self.frames) > 1 and sum(f[2].pixels.nbytes for f in self.frames.values()) > BUFFERED_BYTES):
            self._unmatched(next(iter(self.frames)))

    def _on_results(self, msg):
        key = key_of(msg.header)
        results = [Classification(c.class_name, c.confidence) for c in msg.classifications]
        self.results[key] = results
        if len(self.results) > BUFFERED:
            del self.results[min(self.results)]
        if key in self.frames:
            _, header, image = self.frames.pop(key)
            self._publish(header, image, results)

    def _expire_old_frames(self):
        deadline = time.monotonic() - self.p['result_timeout']
        for key in [key for key, (arrival, _, _) in self.frames.items() if arrival <= deadline]:
            self._unmatched(key)

    def _unmatched(self, key):
        """Drop a frame whose results did not come, or draw it with the newest earlier results and a note."""
        _, header, image = self.frames.pop(key)
        if not self.p['publish_unmatched']:
            self.health.drop()
            self._fault('unmatched', f'frame {header.stamp.sec}.{header.stamp.nanosec:09d} got no results within '
                        f'result_timeout and was not published (is a classifier publishing on '
                        f'{self.results_sub.topic_name}? publish_unmatched:=true publishes such frames)', info=True)
            return
        earlier = [k for k in self.results if k[1] == key[1] and k[0] < key[0]]
        if not earlier:
            self._publish(header, image, [], 'no results yet')
            return
        newest = max(earlier)
        self._publish(header, image, self.results[newest], f'results from {(key[0] - newest[0]) / 1e9:.2f} s earlier')

    def _publish(self, header, image, results, note=None):
        p = self.p
        kept = filter_for_overlay(results, p['confidence_threshold'], p['max_classifications'], p['valid_labels'])
        order = 'bgr' if image.order == 'bgr' else 'rgb'
        pixels = image.pixels if order == 'bgr' else to_rgb(image.pixels, image.order)
        drawn = draw_classifications(pixels, kept, note, order)
        self.publisher.publish(image_msg(drawn, order + '8', header))
        if self.jpeg_publisher.get_subscription_count():
            self.jpeg_publisher.publish(CompressedImage(
                header=header, format=f'{order}8; jpeg compressed bgr8',
                data=encode_jpeg(drawn, order, self.p['jpeg_quality'])))
        self.health.result_out(self.diagnostics.age(header))
        if self.output_dir:
            self._save(header, drawn, order)

    def _save(self, header, pixels, order):
        path = self.output_dir / f'frame_{header.stamp.sec}_{header.stamp.nanosec:09d}.png'
        try:
            ok = cv2.imwrite(str(path), pixels if order == 'bgr' else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        except cv2.error:
            ok = False
        if not ok:
            self._fault('save', f'could not write {path}')
            return
        self.saved.pop(path, None)
        self.saved[path] = None
        self._trim_saved()

    def _trim_saved(self):
        while len(self.saved) > self.p['max_saved_frames']:
            oldest = next(iter(self.saved))
            del self.saved[oldest]
            try:
                oldest.unlink(missing_ok=True)
            except OSError as e:
                self._fault('delete', f'could not delete {oldest}: {e.strerror}')

    def _fault(self, kind, message, info=False):
        if kind != 'unmatched':
            self.health.fault(kind)
        if self.faults.report(kind):
            log = self.get_logger().info if info else self.get_logger().warning
            log(f'{message} ({self.faults.counts[kind]} {kind} in all; repeats are logged every '
                f'{self.faults.period:g} s)')


def main(args=None):
    return run_node(OverlayNode, args)


if __name__ == '__main__':
    sys.exit(main())
