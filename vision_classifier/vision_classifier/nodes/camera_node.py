"""camera_node: publishes frames of a webcam, video file, image file or folder, or a test pattern on `image_raw`."""
import sys
import time

from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from vision_classifier.core.camera_sources import Backoff, FrameError, make_source, SourceError
from vision_classifier.core.health import Health
from vision_classifier.core.parameters import CAMERA
from vision_classifier.core.rate_limit import FaultLog
from vision_classifier.nodes.diagnostics import Diagnostics
from vision_classifier.nodes.lifecycle import ManagedNode
from vision_classifier.nodes.main import run_node
from vision_classifier.nodes.messages import image_msg
from vision_classifier.nodes.parameters import declare


class CameraNode(ManagedNode):
    NODE_NAME = 'camera'

    def __init__(self, node_name=NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        self.p = declare(self, CAMERA)
        self.source = self.publisher = self.timer = None
        self.is_open, self.failing, self.retry_at = False, False, 0.0
        self.last_error = None
        self.health = Health('frames', 'images', counts_drops=False)
        self.diagnostics = Diagnostics(self, self.health, 'camera', self._status)
        if self.p['autostart']:
            self.autostart()

    def configure(self):
        """Make the source (opened when active) and the publisher."""
        p = self.p
        self.source = make_source(p['source_type'], p['source_path'], p['width'], p['height'], p['frame_rate'])
        self.backoff = Backoff(maximum=p['retry_max_seconds'])
        self.faults = FaultLog(p['fault_log_period'])
        self.publisher = self.create_publisher(Image, 'image_raw',
                                               QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        self.get_logger().info(f'{self.source} at {p["frame_rate"]:g} fps on {self.publisher.topic_name}')

    def activate(self):
        """Open the source and publish at the frame rate."""
        self.failing, self.retry_at = False, 0.0
        self._open()
        self.timer = self.create_timer(1.0 / self.p['frame_rate'], self._on_timer)

    def deactivate(self):
        """Stop publishing and close the source (a webcam is free for others while inactive)."""
        if self.timer is not None:
            self.destroy_timer(self.timer)
            self.timer = None
        if self.source is not None:
            self.source.close()
        self.is_open = False

    def cleanup(self):
        if self.publisher is not None:
            self.destroy_publisher(self.publisher)
        self.source = self.publisher = None

    def _status(self):
        if self.source is None:
            return None, [('state', 'unconfigured')]
        values = [('source', str(self.source)), ('topic', self.publisher.topic_name),
                  ('state', 'active' if self.active else 'inactive')]
        return (None if self.is_open or not self.active else f'source unavailable: {self.last_error}'), values

    def _open(self):
        try:
            self.source.open()
        except SourceError as e:
            self._lost(e)
            return False
        self.is_open = True
        return True

    def _lost(self, error):
        """Close the source and try again after the next back-off delay; one warning per attempt."""
        self.source.close()
        self.is_open, self.failing, self.last_error = False, True, error
        self.health.fault('source')
        delay = self.backoff.next()
        self.retry_at = time.monotonic() + delay
        self.get_logger().warning(f'{error}; retrying in {delay:g} s')

    def _on_timer(self):
        if not self.is_open and (time.monotonic() < self.retry_at or not self._open()):
            return
        try:
            pixels = self.source.read()
        except FrameError as e:
            self.health.fault('frame')
            if self.faults.report('frame'):
                self.get_logger().warning(f'{e} ({self.faults.counts["frame"]} in all; repeats are logged every '
                                          f'{self.faults.period:g} s)')
            return
        except SourceError as e:
            self._lost(e)
            return
        if self.failing:
            self.failing = False
            self.backoff.reset()
            self.get_logger().info(f'{self.source}: frames again')
        self.health.frame_in()
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.p['frame_id'])
        self.publisher.publish(image_msg(pixels, 'rgb8', header))
        self.health.result_out(self.diagnostics.age(header))

    def destroy_node(self):
        if getattr(self, 'source', None) is not None:
            self.source.close()
        return super().destroy_node()


def main(args=None):
    return run_node(CameraNode, args)


if __name__ == '__main__':
    sys.exit(main())
