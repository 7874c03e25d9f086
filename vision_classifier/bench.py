"""`vision_classifier bench`: LiteRT invoke, the classifier's work per frame, end to end over DDS, a flood, threads.

All DDS traffic stays on loopback, in a random ROS domain chosen per run (or --domain-id), except with --topic (a
camera already running, in the current domain). The last line printed is one JSON object.
`python -m vision_classifier.bench --publisher TOPIC` is the camera's and the flood's publisher process.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path

import numpy as np

from .assets import DEFAULT_MODEL
from .fastdds import large_images_profile, profile_env, profile_in, PROFILE_VARIABLES
from .image_encoding import ImageError
from .paths import PathError, resolve_path
from .tflite_model import ModelConfig, ModelError, TfliteCpuModel

TOPIC = '/bench/image_raw'
RESULTS = '/classifier/classifications'
WIDTH, HEIGHT, CAMERA_FPS = 640, 480, 30.0
ENCODINGS = ('rgb8', 'bgr8', 'mono8', 'yuv422', 'yuv422_yuy2', 'jpeg')  # jpeg: a sensor_msgs/CompressedImage
IMAGE_TYPE, COMPRESSED_TYPE = 'sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage'


class BenchError(RuntimeError):
    pass


def frame_size(text):
    width, sep, height = text.lower().partition('x')
    try:
        size = (int(width), int(height))
    except ValueError:
        size = None
    if not sep or not size or min(size) < 1:
        raise argparse.ArgumentTypeError(f'expected WIDTHxHEIGHT, e.g. 640x480, got {text!r}')
    return size


def add_arguments(parser):
    parser.add_argument('--model', default=DEFAULT_MODEL, help='.tflite model (default: %(default)s)')
    parser.add_argument('--num-threads', type=int, default=1, help="the classifier's num_threads (default: "
                        '%(default)s)')
    parser.add_argument('--fps', type=float, default=CAMERA_FPS, help='camera frame rate of the end-to-end run '
                        '(default: %(default)s)')
    parser.add_argument('--size', type=frame_size, default=(WIDTH, HEIGHT), metavar='WxH',
                        help=f'frame size (default: {WIDTH}x{HEIGHT})')
    parser.add_argument('--encoding', default='rgb8', choices=ENCODINGS,
                        help='frame encoding; jpeg frames are sensor_msgs/CompressedImage (default: %(default)s)')
    parser.add_argument('--topic', default=None, help='measure against a camera already publishing on TOPIC '
                        '(Image or CompressedImage), in the current ROS domain: no camera and no flood are started, '
                        'latency is from its stamps')
    parser.add_argument('--domain-id', type=int, choices=range(0, 102), metavar='0..101', default=None,
                        help='ROS domain of the bench\'s own nodes (default: a random one); --topic uses the current')
    parser.add_argument('--packages-dir', default=None, help='where ${packages.<name>} resolves')
    parser.add_argument('--seconds', type=float, default=20.0, help='end-to-end run after the warm-up (default: '
                        '%(default)s)')
    parser.add_argument('--warmup', type=float, default=2.0, help='end-to-end warm-up seconds (default: %(default)s)')
    parser.add_argument('--flood-seconds', type=float, default=60.0, help='flood duration; 0: no flood (default: '
                        '%(default)s)')
    parser.add_argument('--threads-max', type=int, default=os.cpu_count() or 1,
                        help='num_threads swept from 1 to this (default: the core count, %(default)s)')
    parser.add_argument('--iterations', type=int, default=200, help='timed calls per in-process measurement '
                        '(default: %(default)s)')
    parser.add_argument('--plot', default='bench_latency.png', help='latency plot (PNG); empty: none '
                        '(default: %(default)s)')
    parser.add_argument('--fastdds-profile', default=None, metavar='XML',
                        help='Fast DDS profile for the bench and its processes, set for this distro\'s Fast DDS; '
                        '"large" for config/fastdds_large_images.xml, "none" for Fast DDS defaults (default: the '
                        'environment\'s)')


# --- small helpers

def dds_env(domain_id=None):
    """Loopback-only discovery in the given domain, else a fresh random one (1..101 keeps DDS ports out of the
    ephemeral range)."""
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ['ROS_DOMAIN_ID'] = str(random.SystemRandom().randint(1, 101) if domain_id is None else domain_id)
    return dict(os.environ)


def bench_frame(width=WIDTH, height=HEIGHT):
    """An RGB frame: gradients with some noise (noise alone would make unrealistically large JPEGs)."""
    y, x = np.mgrid[:height, :width]
    smooth = np.dstack([x * 255 // max(width, 1), y * 255 // max(height, 1), (x + y) * 127 // max(width + height, 1)])
    noise = np.random.default_rng(0).integers(0, 32, (height, width, 3))
    return (smooth + noise).clip(0, 255).astype(np.uint8)


def yuv422(rgb, order):
    """Packed 4:2:2 bytes, HxWx2: 'uyvy' (ROS yuv422) or 'yuyv' (yuv422_yuy2); U and V averaged per pixel pair."""
    import cv2
    yuv = cv2.cvtColor(rgb[:, :rgb.shape[1] // 2 * 2], cv2.COLOR_RGB2YUV).astype(np.uint16)
    y, u, v = yuv[..., 0], yuv[..., 1], yuv[..., 2]
    u2, v2 = (u[:, 0::2] + u[:, 1::2] + 1) // 2, (v[:, 0::2] + v[:, 1::2] + 1) // 2
    chroma = np.empty_like(y)
    chroma[:, 0::2], chroma[:, 1::2] = u2, v2
    pair = (chroma, y) if order == 'uyvy' else (y, chroma)
    return np.dstack(pair).astype(np.uint8)


def frame_msg(rgb, encoding, header):
    """The message a camera sends for `rgb` in `encoding`: an Image, or for jpeg a CompressedImage."""
    import cv2
    from .ros_common import image_msg
    if encoding == 'jpeg':
        from sensor_msgs.msg import CompressedImage
        ok, data = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return CompressedImage(header=header, format='jpeg', data=data.tobytes())
    pixels = {'rgb8': lambda: rgb, 'bgr8': lambda: rgb[..., ::-1],
              'mono8': lambda: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY),
              'yuv422': lambda: yuv422(rgb, 'uyvy'), 'yuv422_yuy2': lambda: yuv422(rgb, 'yuyv')}[encoding]()
    return image_msg(pixels, encoding, header)


def message_type(encoding):
    return COMPRESSED_TYPE if encoding == 'jpeg' else IMAGE_TYPE


def msg_class(type_name):
    from sensor_msgs.msg import CompressedImage, Image
    return {IMAGE_TYPE: Image, COMPRESSED_TYPE: CompressedImage}[type_name]


def time_calls(calls, iterations, warmup=5):
    """Milliseconds of each call, shape (iterations, len(calls)); interleaved, so that load drift hits all alike."""
    for _ in range(warmup):
        for call in calls:
            call()
    times = np.empty((iterations, len(calls)))
    for i in range(iterations):
        for j, call in enumerate(calls):
            start = time.perf_counter()
            call()
            times[i, j] = time.perf_counter() - start
    return times * 1e3


def pct(values, q):
    return float(np.percentile(values, q)) if len(values) else None


def stamp_ns(header):
    return header.stamp.sec * 10**9 + header.stamp.nanosec


def rss_mb(pid):
    """VmRSS of a process in MB, None once it is gone."""
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def litert_version():
    for name in ('ai-edge-litert', 'tflite-runtime'):
        try:
            return f'{name} {metadata.version(name)}'
        except metadata.PackageNotFoundError:
            pass
    return 'unknown'


def device():
    cpu = ''
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            key, _, value = line.partition(':')
            if key.strip() in ('model name', 'Hardware', 'Model') and value.strip():
                cpu = value.strip()
                break
    except OSError:
        pass
    return {'cpu': cpu or 'unknown', 'cores': os.cpu_count(), 'litert': litert_version()}


def rmw():
    """The RMW implementation and the Fast DDS profile file in use, if any (large images depend on it)."""
    from rclpy.utilities import get_rmw_implementation_identifier
    return {'implementation': get_rmw_implementation_identifier(),
            'fastdds_profiles_file': profile_in(os.environ)}


def log(text):
    print(f'bench: {text}', file=sys.stderr, flush=True)


class Process:
    """`python -m <module> ...` with its output in a log file; stop() sends SIGINT, then kills."""

    def __init__(self, args, env, log_dir, name):
        self.name = name
        self.log_path = Path(log_dir) / f'{name}.log'
        with open(self.log_path, 'w') as out:
            self.proc = subprocess.Popen([sys.executable, '-m', *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def log(self):
        return self.log_path.read_text(errors='replace')

    def tail(self, lines=15):
        return '\n'.join(self.log().splitlines()[-lines:])

    def wait_for_log(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if text in self.log():
                return True
            time.sleep(0.05)
        if text in self.log():
            return True
        raise BenchError(f'{self.name}: no "{text}" within {timeout:g} s; its log ends:\n{self.tail()}')

    def stop(self, grace=10.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


# --- 1, 2: bare LiteRT invoke and the classifier's work per frame, in-process; 5: num_threads

def invoke_and_node_times(context, model_path, frame, iterations, num_threads, msg):
    """Milliseconds of the node's own interpreter's invoke() on a prepared tensor and of classifications_for() on
    the camera's message `msg`; a BenchError when the classifier does not take that message."""
    from rclpy.parameter import Parameter
    from .classifier_node import ClassifierNode
    transport = 'raw' if hasattr(msg, 'encoding') else 'compressed'
    node = ClassifierNode('bench_classifier', context=context,
                          parameter_overrides=[Parameter('model_path', value=model_path),
                                               Parameter('num_threads', value=num_threads),
                                               Parameter('image_transport', value=transport)])
    try:
        model = node.service.model
        try:
            node.classifications_for(msg, node.decode_image)
        except ImageError as e:
            raise BenchError(f'the classifier refuses the bench frame: {e}') from None
        tensor = model.preprocessor(frame)
        times = time_calls([lambda: model.invoke(tensor), lambda: node.classifications_for(msg, node.decode_image)],
                           iterations)
    finally:
        node.destroy_node()
    log(f'invoke median {np.median(times[:, 0]):.2f} ms, classifications_for median {np.median(times[:, 1]):.2f} ms')
    return times[:, 0], times[:, 1]


def thread_times(model_path, frame, threads_max, iterations):
    """{num_threads: invoke milliseconds} for 1..threads_max."""
    times = {}
    for threads in range(1, threads_max + 1):
        model = TfliteCpuModel(ModelConfig(model_path, num_threads=threads))
        tensor = model.preprocessor(frame)
        times[threads] = time_calls([lambda: model.invoke(tensor)], iterations)[:, 0]
        log(f'invoke, {threads} thread(s): median {np.median(times[threads]):.2f} ms')
    return times


# --- 3, 4: over DDS

class Recorder:
    """(receive time, header stamp) in ns of the images and results seen; same clock: time.time_ns."""

    def __init__(self, node, topic, type_name, reliability):
        from rclpy.qos import QoSProfile
        from vision_classifier_msgs.msg import Classifications
        self.node = node
        self.images, self.results = [], []
        self.image_sub = node.create_subscription(
            msg_class(type_name), topic, lambda msg: self.images.append((time.time_ns(), stamp_ns(msg.header))),
            QoSProfile(depth=10, reliability=reliability))
        self.result_sub = node.create_subscription(
            Classifications, RESULTS, lambda msg: self.results.append((time.time_ns(), stamp_ns(msg.header))), 10)

    def stop_images(self):
        if self.image_sub is not None:
            self.node.destroy_subscription(self.image_sub)
            self.image_sub = None


def spin(executor, seconds, until=None, every=None):
    """Spin for `seconds` or until `until()`; calls `every()` once a second. Returns whether `until()` held."""
    deadline = time.monotonic() + seconds
    next_tick = time.monotonic()
    while time.monotonic() < deadline:
        if every and time.monotonic() >= next_tick:
            every()
            next_tick += 1.0
        if until and until():
            return True
        executor.spin_once(timeout_sec=0.05)
    return bool(until and until())


def find_camera(node, executor, topic, timeout=10.0):
    """The type, reliability and a first message of the camera publishing on `topic`, from the graph."""
    from rclpy.qos import QoSProfile
    topic = node.resolve_topic_name(topic)
    spin(executor, timeout, until=lambda: node.get_publishers_info_by_topic(topic))
    publishers = node.get_publishers_info_by_topic(topic)
    types = {p.topic_type for p in publishers}
    if not publishers:
        raise BenchError(f'--topic {topic}: no publisher within {timeout:g} s (ROS_DOMAIN_ID='
                         f'{os.environ.get("ROS_DOMAIN_ID", "0")})')
    if len(types) != 1 or not types <= {IMAGE_TYPE, COMPRESSED_TYPE}:
        raise BenchError(f'--topic {topic}: published as {", ".join(sorted(types))}; expected {IMAGE_TYPE} or '
                         f'{COMPRESSED_TYPE}')
    type_name = types.pop()
    reliability = publishers[0].qos_profile.reliability  # a best_effort reader matches either kind
    first = []
    subscription = node.create_subscription(msg_class(type_name), topic, first.append,
                                            QoSProfile(depth=1, reliability=reliability))
    spin(executor, timeout, until=lambda: first)
    node.destroy_subscription(subscription)
    if not first:
        raise BenchError(f'--topic {topic}: {len(publishers)} publisher(s), but no message within {timeout:g} s')
    return {'topic': topic, 'type': type_name, 'reliability': reliability, 'msg': first[0]}


def sample_of(msg):
    """(encoding, (width, height), RGB pixels of that size) of a camera's message."""
    import cv2
    if hasattr(msg, 'format'):
        decoded = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_COLOR)
        if decoded is None:
            raise BenchError(f'the camera sends CompressedImage ({msg.format!r}) that OpenCV cannot decode')
        height, width = decoded.shape[:2]
        return msg.format or 'compressed', (width, height), bench_frame(width, height)
    return msg.encoding, (msg.width, msg.height), bench_frame(msg.width, msg.height)


def wait_for_subscription(node, executor, topic, type_name, name='classifier', timeout=10.0):
    """Raise a BenchError unless the node `name` subscribes `topic` with `type_name` within `timeout`."""
    def subscribed():
        return any(i.node_name == name and i.topic_type == type_name
                   for i in node.get_subscriptions_info_by_topic(topic))
    if not spin(executor, timeout, until=subscribed):
        found = [(t, types) for t, types in node.get_subscriber_names_and_types_by_node(name, '/')]
        raise BenchError(f'the classifier does not subscribe {type_name} on {topic} (its subscriptions: '
                         f'{found}): this input is not supported by this version')


def latency_summary(results, start_ns, end_ns, period_ns=None, previous=None):
    """Latencies of the results stamped in [start_ns, end_ns); late: later than 2 periods; out of order: not
    newer than the result before."""
    chosen = [(t, s) for t, s in results if start_ns <= s < end_ns]
    latency = np.array([(t - s) / 1e6 for t, s in chosen])
    late, out_of_order, last = 0, 0, previous
    for t, s in chosen:
        if last is not None and s <= last:
            out_of_order += 1
        elif period_ns and t - s > 2 * period_ns:
            late += 1
        last = s
    series = [((t - start_ns) / 1e9, (t - s) / 1e6) for t, s in chosen]
    return chosen, latency, late, out_of_order, series


def publisher_args(topic, args, fps, seconds):
    width, height = args.size
    return ['vision_classifier.bench', '--publisher', topic, '--fps', str(fps), '--flood-seconds', str(seconds),
            '--size', f'{width}x{height}', '--encoding', args.encoding]


def end_to_end(args, env, log_dir, executor, recorder, classifier, stack, topic):
    camera = None
    if not args.topic:
        camera = Process(publisher_args(topic, args, args.fps, 0), env, log_dir, 'camera')
        stack.callback(camera.stop)
    # Until the bench sees both the camera's frames and the results (its own image subscription may match later
    # than the classifier's)
    spin(executor, 60.0, until=lambda: (recorder.results and recorder.images) or (
        camera and camera.proc.poll() is not None))
    if not recorder.results:
        camera_log = camera.tail() if camera else f'(the camera on {topic})'
        raise BenchError(f'no results within 60 s; camera log:\n{camera_log}\nclassifier log:\n{classifier.tail()}')
    log(f'end to end: first result; {args.warmup:g} s warm-up, then {args.seconds:g} s')
    spin(executor, args.warmup)
    start = time.time_ns()
    spin(executor, args.seconds)
    end = time.time_ns()
    spin(executor, 0.5)  # results of the last frames
    if camera:
        camera.stop()
    arrivals = [(t, s) for t, s in recorder.images if start <= t < end]
    frames = {s for _, s in arrivals}
    seconds = (end - start) / 1e9
    fps_in = len(frames) / seconds
    if args.topic and len(arrivals) > 1:  # the camera's own rate, from its stamps
        stamps = sorted(frames)
        fps_in = (len(stamps) - 1) / max((stamps[-1] - stamps[0]) / 1e9, 1e-9)
    previous = max((s for t, s in recorder.results if s < start), default=None)
    chosen, latency, late, out_of_order, series = latency_summary(
        [(t, s) for t, s in recorder.results if s in frames], min(frames, default=start), end,
        1e9 / (args.fps if not args.topic else max(fps_in, 1e-3)), previous)
    if not len(latency):
        raise BenchError(f'no results for the {len(frames)} frames received in {args.seconds:g} s')
    return {'frames_in': len(frames), 'results_out': len(chosen), 'dropped': len(frames) - len(chosen),
            'fps_in': fps_in, 'fps_out': len(chosen) / seconds, 'late': late, 'out_of_order': out_of_order,
            'latency': latency, 'series': series}


def flood(args, env, log_dir, executor, recorder, classifier, stack, topic):
    recorder.stop_images()
    rss = [(time.time_ns(), rss_mb(classifier.pid))]
    publisher = Process(publisher_args(topic, args, 0, args.flood_seconds), env, log_dir, 'flood')
    stack.callback(publisher.stop)
    log(f'flood: {args.flood_seconds:g} s')
    spin(executor, args.flood_seconds + 60.0, until=lambda: publisher.proc.poll() is not None,
         every=lambda: rss.append((time.time_ns(), rss_mb(classifier.pid))))
    rss.append((time.time_ns(), rss_mb(classifier.pid)))
    spin(executor, 0.5)
    lines = publisher.log().strip().splitlines()
    if publisher.stop() != 0 or not lines or not lines[-1].startswith('{'):
        raise BenchError(f'flood publisher failed; its log ends:\n{publisher.tail()}')
    report = json.loads(lines[-1])
    start, end = report['start_ns'], report['end_ns']
    chosen, latency, _, out_of_order, series = latency_summary(recorder.results, start, end)
    return {'published': report['published'], 'failed': report['failed'], 'results': len(chosen),
            'out_of_order': out_of_order, 'seconds': (end - start) / 1e9, 'latency': latency, 'series': series,
            'rss': [((t - start) / 1e9, mb) for t, mb in rss if mb is not None]}


def publisher(topic, seconds, fps, size, encoding):
    """A camera: one prebuilt frame in `encoding`, only the stamp updated, at `fps` (0: as fast as possible) for
    `seconds` (0: until Ctrl-C); prints a JSON report."""
    import rclpy
    from rclpy.impl.implementation_singleton import rclpy_implementation
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import Header
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_camera')
    count, failed, start = 0, 0, time.time_ns()
    try:
        pub = node.create_publisher(msg_class(message_type(encoding)), topic,
                                    QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        deadline = time.monotonic() + 30.0
        while pub.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                print(f'no subscriber on {topic} within 30 s', file=sys.stderr)
                return 1
            time.sleep(0.05)
        msg = frame_msg(bench_frame(*size), encoding, Header(frame_id='bench_camera'))
        stamp, period = msg.header.stamp, 1.0 / fps if fps > 0 else 0.0
        start = now = time.time_ns()
        end = start + int(seconds * 1e9) if seconds > 0 else None
        tick = time.monotonic()
        while end is None or now < end:
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
    print(json.dumps({'published': count, 'failed': failed, 'start_ns': start, 'end_ns': time.time_ns()}),
          flush=True)
    return 0


# --- report

NO_FLOOD = {'published': 0, 'failed': 0, 'results': 0, 'out_of_order': 0, 'seconds': 1.0, 'latency': [],
            'series': [], 'rss': []}


def plot(path, setting, e2e, flooded):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), constrained_layout=True)
    top.plot(*zip(*e2e['series']), '.', markersize=3)
    top.set(title=f'End to end over DDS: {setting}', xlabel='time (s)', ylabel='latency (ms)',
            yscale='log')  # log: the bulk and the outliers both readable
    if flooded['series']:
        bottom.plot(*zip(*flooded['series']), '.', markersize=3)
    bottom.set(title=f'Flood: {flooded["published"]} frames published, {flooded["results"]} results',
               xlabel='time (s)', ylabel='latency (ms)', yscale='log')
    for axes in (top, bottom):
        for axis in (axes.yaxis.set_major_formatter, axes.yaxis.set_minor_formatter):
            axis(FuncFormatter(lambda value, _: f'{value:g}'))
    if flooded['rss']:
        memory = bottom.twinx()
        times, mb = zip(*flooded['rss'])
        memory.plot(times, mb, color='tab:red')
        memory.set_ylim(min(mb) - 1, max(max(mb), min(mb) + 10) + 1)  # a 10 MB span at least: noise looks small
        memory.set_ylabel('classifier VmRSS (MB)', color='tab:red')
    fig.savefig(path, dpi=100)
    plt.close(fig)


def rounded(value, digits=3):
    return None if value is None else round(float(value), digits)


def pace(work_ms, invoke_ms, num_threads, fps, threads):
    """In words: does the classifier keep up with the camera, and what other num_threads would change (from the
    sweep: the node's work with the invoke time of that many threads)."""
    period = 1000.0 / fps if fps > 0 else float('inf')
    if work_ms <= period:
        words = (f'inference keeps up with the camera: {work_ms:.1f} ms per frame with num_threads={num_threads}, '
                 f'a frame every {period:.1f} ms ({fps:.1f} fps), busy {100 * work_ms / period:.0f}% of the time.')
    else:
        words = (f'inference is slower than the camera: {work_ms:.1f} ms per frame with num_threads={num_threads}, '
                 f'but a frame every {period:.1f} ms ({fps:.1f} fps): the classifier answers about '
                 f'{1000 / work_ms:.1f} frames/s and skips the others (it always takes the newest frame).')
    options = []
    same = threads.get(str(num_threads))
    for n, invoke_n in threads.items():
        # the sweep's invoke time relative to its own at num_threads (runs minutes apart differ under load)
        estimate = max(work_ms - invoke_ms + (invoke_ms * invoke_n / same if same else invoke_n), 1e-3)
        verdict = 'keeps up' if estimate <= period else 'slower than the camera'
        options.append(f'num_threads={n}: ~{estimate:.1f} ms per frame, ~{1000 / estimate:.0f} fps ({verdict})')
    if len(threads) > 1:
        words += ' ' + '; '.join(options) + '.'
    else:
        words += ' (--threads-max N shows what more threads would change.)'
    return words


def summary(model_path, setting, invoke, node, threads, e2e, flooded, plot_path):
    rss = [mb for _, mb in flooded['rss']]
    # Growth is counted from 2 s into the flood: connecting maps the publisher's shared-memory segment once.
    settled = [mb for t, mb in flooded['rss'] if t >= 2.0] or rss
    threads_ms = {str(n): rounded(np.median(t)) for n, t in threads.items()}
    invoke_ms, node_ms = rounded(np.median(invoke)), rounded(np.median(node))
    return {
        **setting,
        'invoke_ms': invoke_ms, 'invoke_mean_ms': rounded(np.mean(invoke)),
        'node_ms': node_ms, 'node_mean_ms': rounded(np.mean(node)),
        'e2e_p50_ms': rounded(pct(e2e['latency'], 50)), 'e2e_p95_ms': rounded(pct(e2e['latency'], 95)),
        'e2e_p99_ms': rounded(pct(e2e['latency'], 99)),
        'fps_in': rounded(e2e['fps_in'], 2), 'fps_out': rounded(e2e['fps_out'], 2),
        'frames_in': e2e['frames_in'], 'results_out': e2e['results_out'], 'dropped': e2e['dropped'],
        'stale': e2e['late'] + e2e['out_of_order'], 'late': e2e['late'], 'out_of_order': e2e['out_of_order'],
        'keeps_up': node_ms <= 1000.0 / e2e['fps_in'] if e2e['fps_in'] else True,
        'pace': pace(node_ms, invoke_ms, setting['num_threads'], e2e['fps_in'], threads_ms),
        'flood_p50_ms': rounded(pct(flooded['latency'], 50)), 'flood_p99_ms': rounded(pct(flooded['latency'], 99)),
        'flood_published': flooded['published'], 'flood_publish_failed': flooded['failed'],
        'flood_results': flooded['results'], 'flood_out_of_order': flooded['out_of_order'],
        'flood_published_fps': rounded(flooded['published'] / flooded['seconds'], 1),
        'rss_before_flood_mb': rounded(rss[0] if rss else None, 1),
        'rss_start_mb': rounded(settled[0] if settled else None, 1),
        'rss_end_mb': rounded(settled[-1] if settled else None, 1),
        'rss_max_mb': rounded(max(rss) if rss else None, 1),
        'threads': threads_ms,
        'device': device(), 'model': model_path, 'rmw': rmw(), 'plot': plot_path or None,
    }


def describe_setting(s):
    source = f'camera on {s["topic"]}' if s['topic'] else f'{s["fps"]:g} fps'
    return f'{s["size"]} {s["encoding"]}, {source}, num_threads={s["num_threads"]}'


def table(s):
    def ms(value):
        return '-' if value is None else f'{value:8.2f} ms'
    invoke, p50 = s['invoke_ms'], s['e2e_p50_ms']
    flood_p99, rss_growth = s['flood_p99_ms'], (s['rss_end_mb'] or 0) - (s['rss_start_mb'] or 0)
    goal = {True: 'ok', False: 'MISSED'}
    rows = [
        f'vision_classifier bench: {Path(s["model"]).name}, {describe_setting(s)}; {s["device"]["cpu"]}, '
        f'{s["device"]["cores"]} cores, {s["device"]["litert"]}; {s["rmw"]["implementation"]}, Fast DDS profile: '
        f'{s["rmw"]["fastdds_profiles_file"] or "none"}',
        '',
        f'1 LiteRT invoke, {s["num_threads"]} thread(s)     median {ms(invoke)}  mean {ms(s["invoke_mean_ms"])}',
        f'2 classifications_for()          median {ms(s["node_ms"])}  mean {ms(s["node_mean_ms"])}  '
        f'2/1 = {s["node_ms"] / invoke:.2f}  (goal <= 1.25: {goal[s["node_ms"] <= 1.25 * invoke]})',
        f'3 end to end over DDS            p50 {ms(p50)}  p95 {ms(s["e2e_p95_ms"])}  p99 {ms(s["e2e_p99_ms"])}  '
        f'3/1 = {p50 / invoke:.2f}  (goal p50 <= 1 + 3 ms: {goal[p50 <= invoke + 3]})',
        f'                                 frames in {s["frames_in"]} ({s["fps_in"]:.1f}/s), results '
        f'{s["results_out"]} ({s["fps_out"]:.1f}/s), dropped {s["dropped"]}, stale {s["stale"]}  '
        f'(goal none dropped or stale: {goal[not s["dropped"] and not s["stale"]]})',
    ]
    if s['topic'] or not s['flood_published']:
        rows.append('4 flood                          skipped' + (': --topic measures a running camera'
                                                                   if s['topic'] else ''))
    else:
        rows += [
            f'4 flood                          p50 {ms(s["flood_p50_ms"])}  p99 {ms(flood_p99)}  '
            f'(goal p99 <= 3 x p50 of 3: {goal[flood_p99 is not None and flood_p99 <= 3 * p50]})',
            f'                                 published {s["flood_published"]} ({s["flood_published_fps"]:.0f}/s), '
            f'{s["flood_publish_failed"]} publish() calls failed, results {s["flood_results"]}',
            f'                                 classifier RSS {s["rss_before_flood_mb"]} before, '
            f'{s["rss_start_mb"]} at 2 s -> {s["rss_end_mb"]} MB at the end '
            f'(max {s["rss_max_mb"]})  (goal growth < 5 MB: {goal[rss_growth < 5]})',
        ]
    rows += ['5 num_threads                    ' + ',  '.join(
        f'{n}: {t:.2f} ms ({1000 / t:.1f} fps)' for n, t in s['threads'].items()), '', s['pace']]
    if s['plot']:
        rows.append(f'plot: {s["plot"]}')
    return '\n'.join(rows)


def bench(args, env, log_dir, stack):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import Header
    if args.num_threads < 1:
        raise BenchError(f'--num-threads: expected at least 1, got {args.num_threads}')
    if not args.topic and args.fps <= 0:
        raise BenchError(f'--fps: expected a rate above 0, got {args.fps:g}')
    model_path = resolve_path(args.model, args.packages_dir)
    context = rclpy.Context()
    rclpy.init(context=context, signal_handler_options=SignalHandlerOptions.NO)
    stack.callback(rclpy.try_shutdown, context=context)
    bench_node = rclpy.create_node('bench', context=context)
    stack.callback(bench_node.destroy_node)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(bench_node)
    if args.topic:
        camera = find_camera(bench_node, executor, args.topic)
        sample = camera['msg']
        encoding, size, frame = sample_of(sample)
        topic, type_name, reliability = camera['topic'], camera['type'], camera['reliability']
        log(f'camera on {topic}: {type_name}, {encoding}, {size[0]}x{size[1]}, {reliability.name.lower()}')
    else:
        encoding, size = args.encoding, args.size
        frame = bench_frame(*size)
        sample = frame_msg(frame, encoding, Header(frame_id='bench'))
        type_name, reliability = message_type(encoding), ReliabilityPolicy.RELIABLE
        topic = TOPIC if type_name == IMAGE_TYPE else TOPIC + '/compressed'
    setting = {'size': f'{size[0]}x{size[1]}', 'encoding': encoding, 'fps': None if args.topic else args.fps,
               'topic': args.topic, 'num_threads': args.num_threads}
    invoke, node = invoke_and_node_times(context, model_path, frame, args.iterations, args.num_threads, sample)
    threads = thread_times(model_path, frame, max(1, args.threads_max), args.iterations)
    remap = f'image:={topic}' if type_name == IMAGE_TYPE else f'image/compressed:={topic}'
    best_effort = reliability == ReliabilityPolicy.BEST_EFFORT
    classifier = Process(['vision_classifier.classifier_node', '--ros-args', '-r', remap,
                          '-p', f'model_path:={model_path}', '-p', f'num_threads:={args.num_threads}',
                          '-p', f'qos_reliability:={"best_effort" if best_effort else "reliable"}',
                          '-p', f'image_transport:={"raw" if type_name == IMAGE_TYPE else "compressed"}'],
                         env, log_dir, 'classifier')
    stack.callback(classifier.stop)
    recorder = Recorder(bench_node, topic, type_name, reliability)
    classifier.wait_for_log('listening on', 60.0)
    wait_for_subscription(bench_node, executor, topic, type_name)
    e2e = end_to_end(args, env, log_dir, executor, recorder, classifier, stack, topic)
    flooded = NO_FLOOD if args.topic or args.flood_seconds <= 0 else flood(
        args, env, log_dir, executor, recorder, classifier, stack, topic)
    if classifier.proc.poll() is not None:
        raise BenchError(f'the classifier exited during the bench; its log ends:\n{classifier.tail()}')
    if args.plot:
        plot(args.plot, describe_setting(setting), e2e, flooded)
    return summary(model_path, setting, invoke, node, threads, e2e, flooded, args.plot)


def apply_profile(choice):
    """Point this process (and so its children) at the chosen Fast DDS profile (fastdds.profile_env)."""
    if choice is None:
        return
    for variable in PROFILE_VARIABLES:
        os.environ.pop(variable, None)
    if choice != 'none':
        os.environ.update(profile_env(large_images_profile() if choice == 'large' else Path(choice).absolute()))


def run(args):
    apply_profile(args.fastdds_profile)
    env = dict(os.environ) if args.topic else dds_env(args.domain_id)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the children are stopped
    log(f'ROS_DOMAIN_ID={env.get("ROS_DOMAIN_ID", "0")}' + ('' if args.topic else ', discovery on localhost'))
    with tempfile.TemporaryDirectory(prefix='vc_bench_') as log_dir, ExitStack() as stack:
        try:
            result = bench(args, env, log_dir, stack)
        except (BenchError, ModelError, PathError) as e:
            print(f'error: {e}', file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
    print(table(result))
    print(json.dumps(result))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m vision_classifier.bench', description=__doc__)
    add_arguments(parser)
    parser.add_argument('--publisher', metavar='TOPIC', help='be the camera (or with --fps 0 the flood) on TOPIC')
    args = parser.parse_args(argv)
    if args.publisher:
        return publisher(args.publisher, args.flood_seconds, args.fps, args.size, args.encoding)
    return run(args)


if __name__ == '__main__':
    sys.exit(main())
