"""The bench's camera (and flood) process: `python -m vision_classifier.bench.publisher TOPIC`."""
import argparse
import json
import signal
import sys
import time

from vision_classifier.bench.frames import bench_frame, ENCODINGS, frame_msg, message_type, msg_class
from vision_classifier.core.output import write_line


def publisher(topic, seconds, fps, size, encoding, frame_id='bench_camera'):
    """
    Run a camera: one prebuilt frame in `encoding`, only the stamp updated; print a JSON report.

    It publishes at `fps` (0: as fast as possible) for `seconds` (0: until Ctrl-C), and prints its count so far
    (`count <time_ns> <published>`) about once a second.
    """
    import rclpy
    from rclpy.impl.implementation_singleton import rclpy_implementation
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import Header
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a shell's background job starts with SIGINT ignored
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_camera')
    count, failed, start = 0, 0, time.time_ns()
    try:
        pub = node.create_publisher(msg_class(message_type(encoding)), topic,
                                    QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        deadline = time.monotonic() + 120.0
        while pub.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                write_line(f'no subscriber on {topic} within 120 s', sys.stderr)
                return 1
            time.sleep(0.05)
        msg = frame_msg(bench_frame(*size), encoding, Header(frame_id=frame_id))
        stamp, period = msg.header.stamp, 1.0 / fps if fps > 0 else 0.0
        start = now = time.time_ns()
        end = start + int(seconds * 1e9) if seconds > 0 else None
        tick = next_count = time.monotonic()
        while end is None or now < end:
            if time.monotonic() >= next_count:
                write_line(f'count {now} {count}')
                next_count += 1.0
            if period:
                tick += period
                delay = tick - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    tick = time.monotonic()  # behind: no catch-up burst
                now = time.time_ns()
            stamp.sec, stamp.nanosec = divmod(now, 10**9)
            try:
                pub.publish(msg)
                count += 1
            except rclpy_implementation.RCLError:  # the writer's history is blocked: back-pressure, not a fault
                failed += 1
            now = time.time_ns()
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    write_line(json.dumps({'published': count, 'failed': failed, 'start_ns': start, 'end_ns': time.time_ns()}))
    return 0


def main(argv=None):
    from vision_classifier.bench.run import frame_size
    parser = argparse.ArgumentParser(prog='python -m vision_classifier.bench.publisher', description=__doc__)
    parser.add_argument('topic')
    parser.add_argument('--fps', type=float, default=0.0, help='frames per second; 0: as fast as possible')
    parser.add_argument('--seconds', type=float, default=0.0, help='how long; 0: until Ctrl-C')
    parser.add_argument('--size', type=frame_size, default=(640, 480), metavar='WxH')
    parser.add_argument('--encoding', default='rgb8', choices=ENCODINGS)
    parser.add_argument('--frame-id', default='bench_camera', help='header.frame_id of the frames')
    args = parser.parse_args(argv)
    return publisher(args.topic, args.seconds, args.fps, args.size, args.encoding, args.frame_id)


if __name__ == '__main__':
    sys.exit(main())
