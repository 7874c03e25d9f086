"""camera_node: publishes frames of a webcam, video file, image file or folder, or a test pattern on `image_raw`."""
import sys
import time

from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from vision_classifier.core.camera_sources import Backoff, FrameError, make_source, SourceError
from vision_classifier.core.health import Health
from vision_classifier.core.parameters import CAMERA
from vision_classifier.core.rate_limit import FaultLog
from vision_classifier.nodes.diagnostics import Diagnostics
from vision_classifier.nodes.main import run_node, StartupError
from vision_classifier.nodes.messages import image_msg
from vision_classifier.nodes.parameters import declare


class CameraNode(Node):
    NODE_NAME = 'camera'

    def __init__(self, node_name=NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        p = declare(self, CAMERA)
        try:
            self.source = make_source(p['source_type'], p['source_path'], p['width'], p['height'], p['frame_rate'])
        except ValueError as e:
            raise StartupError(str(e)) from None
        self.frame_id = p['frame_id']
        self.backoff = Backoff(maximum=p['retry_max_seconds'])
        self.faults = FaultLog(p['fault_log_period'])
        self.is_open, self.failing, self.retry_at = False, False, 0.0
        self.last_error = None
        self.publisher = self.create_publisher(Image, 'image_raw',
                                               QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        self.health = Health('frames', 'images', counts_drops=False)
        self.diagnostics = Diagnostics(self, self.health, 'camera', self._status)
        self.get_logger().info(f'{self.source} at {p["frame_rate"]:g} fps on {self.publisher.topic_name}')
        self._open()
        self.timer = self.create_timer(1.0 / p['frame_rate'], self._on_timer)

    def _status(self):
        values = [('source', str(self.source)), ('topic', self.publisher.topic_name)]
        return (None if self.is_open else f'source unavailable: {self.last_error}'), values

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
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.frame_id)
        self.publisher.publish(image_msg(pixels, 'rgb8', header))
        self.health.result_out(self.diagnostics.age(header))

    def destroy_node(self):
        if hasattr(self, 'source'):
            self.source.close()
        return super().destroy_node()


def main(args=None):
    return run_node(CameraNode, args)


if __name__ == '__main__':
    sys.exit(main())
