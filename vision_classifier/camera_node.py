"""camera_node: publishes frames of a webcam, video file, image file or folder, or a test pattern on `image_raw`."""
import sys
import time

from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from .camera_sources import Backoff, FrameError, make_source, SOURCE_TYPES, SourceError
from .diagnostics import Diagnostics
from .health import Health
from .rate_limit import FaultLog
from .ros_common import declare_typed, describe, image_msg, run_node, StartupError


class CameraNode(Node):
    NODE_NAME = 'camera'

    def __init__(self, node_name=NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        p = self._declare_parameters()
        try:
            self.source = make_source(p['source_type'], p['source_path'], p['width'], p['height'], p['frame_rate'])
        except ValueError as e:
            raise StartupError(str(e)) from None
        self.frame_id = p['frame_id']
        self.backoff = Backoff(maximum=p['retry_max_seconds'])
        self.faults = FaultLog()
        self.is_open, self.failing, self.retry_at = False, False, 0.0
        self.last_error = None
        self.publisher = self.create_publisher(Image, 'image_raw',
                                               QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        self.health = Health('frames', 'images', counts_drops=False)
        self.diagnostics = Diagnostics(self, self.health, 'camera', self._status)
        self.get_logger().info(f'{self.source} at {p["frame_rate"]:g} fps on {self.publisher.topic_name}')
        self._open()
        self.timer = self.create_timer(1.0 / p['frame_rate'], self._on_timer)

    def _declare_parameters(self):
        specs = [
            ('source_type', 'fake', describe('Where frames come from.', read_only=True, choices=SOURCE_TYPES)),
            ('source_path', '', describe('webcam: device path or index (empty: 0); video_file, image_file, '
                                         'image_folder: the path; fake: unused.', read_only=True)),
            ('width', 0, describe('Frame width; 0: native (with height > 0: keep the aspect ratio).',
                                  read_only=True, int_range=(0, 16384))),
            ('height', 0, describe('Frame height; 0: native (with width > 0: keep the aspect ratio).',
                                   read_only=True, int_range=(0, 16384))),
            ('frame_rate', 10.0, describe('Frames published per second.', read_only=True,
                                          float_range=(0.01, 1000.0))),
            ('frame_id', self.get_name(), describe('header.frame_id of the images; default: the node name.',
                                                   read_only=True)),
            ('retry_max_seconds', 10.0, describe('Longest wait between attempts to open a missing or lost '
                                                 'source (waits double from 0.5 s).', read_only=True,
                                                 float_range=(0.1, 3600.0))),
        ]
        return declare_typed(self, specs)

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
                self.get_logger().warning(f'{e} (repeats are logged every 5 s)')
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
