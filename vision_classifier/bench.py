"""`vision_classifier bench`: LiteRT invoke, the classifier's work per frame, end to end over DDS, a flood, threads.

All DDS traffic stays on loopback, in a random ROS domain chosen per run. The last line printed is one JSON object.
`python -m vision_classifier.bench --flood-publisher TOPIC` is the flood's publisher process.
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
from .paths import PathError, resolve_path
from .tflite_model import ModelConfig, ModelError, TfliteCpuModel

TOPIC = '/bench/image_raw'
RESULTS = '/classifier/classifications'
WIDTH, HEIGHT, CAMERA_FPS = 640, 480, 30.0


class BenchError(RuntimeError):
    pass


def add_arguments(parser):
    parser.add_argument('--model', default=DEFAULT_MODEL, help='.tflite model (default: %(default)s)')
    parser.add_argument('--packages-dir', default=None, help='where ${packages.<name>} resolves')
    parser.add_argument('--seconds', type=float, default=20.0, help='end-to-end run after the warm-up (default: '
                        '%(default)s)')
    parser.add_argument('--warmup', type=float, default=2.0, help='end-to-end warm-up seconds (default: %(default)s)')
    parser.add_argument('--flood-seconds', type=float, default=60.0, help='flood duration (default: %(default)s)')
    parser.add_argument('--threads-max', type=int, default=os.cpu_count() or 1,
                        help='num_threads swept from 1 to this (default: the core count, %(default)s)')
    parser.add_argument('--iterations', type=int, default=200, help='timed calls per in-process measurement '
                        '(default: %(default)s)')
    parser.add_argument('--plot', default='bench_latency.png', help='latency plot (PNG); empty: none '
                        '(default: %(default)s)')
    parser.add_argument('--fastdds-profile', default=None, metavar='XML',
                        help='Fast DDS profile for the bench and its processes, set for Fast DDS 2 and 3; "large" for '
                        'config/fastdds_large_images.xml, "none" for Fast DDS defaults (default: the environment\'s)')


# --- small helpers

def dds_env():
    """Loopback-only discovery in a fresh random domain (1..101 keeps DDS ports out of the ephemeral range)."""
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ['ROS_DOMAIN_ID'] = str(random.SystemRandom().randint(1, 101))
    return dict(os.environ)


def bench_frame(width=WIDTH, height=HEIGHT):
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


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

def invoke_and_node_times(context, model_path, frame, iterations):
    """Milliseconds of the node's own interpreter's invoke() on a prepared tensor and of classifications_for()."""
    from rclpy.parameter import Parameter
    from std_msgs.msg import Header
    from .classifier_node import ClassifierNode
    from .ros_common import image_msg
    node = ClassifierNode('bench_classifier', context=context,
                          parameter_overrides=[Parameter('model_path', value=model_path)])
    try:
        model, msg = node.service.model, image_msg(frame, 'rgb8', Header(frame_id='bench'))
        tensor = model.preprocessor(frame)
        times = time_calls([lambda: model.invoke(tensor), lambda: node.classifications_for(msg)], iterations)
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

    def __init__(self, node):
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from vision_classifier_msgs.msg import Classifications
        self.node = node
        self.images, self.results = [], []
        self.image_sub = node.create_subscription(
            Image, TOPIC, lambda msg: self.images.append((time.time_ns(), stamp_ns(msg.header))),
            QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self.result_sub = node.create_subscription(
            Classifications, RESULTS, lambda msg: self.results.append((time.time_ns(), stamp_ns(msg.header))), 10)

    def stop_images(self):
        self.node.destroy_subscription(self.image_sub)


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


def latency_summary(results, start_ns, end_ns, period_ns=None, previous=None):
    """Latencies of the results stamped in [start_ns, end_ns); stale: later than 2 periods or not newer."""
    chosen = [(t, s) for t, s in results if start_ns <= s < end_ns]
    latency = np.array([(t - s) / 1e6 for t, s in chosen])
    stale, last = 0, previous
    for t, s in chosen:
        if (period_ns and t - s > 2 * period_ns) or (last is not None and s <= last):
            stale += 1
        last = s
    series = [((t - start_ns) / 1e9, (t - s) / 1e6) for t, s in chosen]
    return chosen, latency, stale, series


def end_to_end(args, env, log_dir, executor, recorder, classifier, stack):
    camera = Process(['vision_classifier.camera_node', '--ros-args', '-r', f'image_raw:={TOPIC}',
                      '-p', 'source_type:=fake', '-p', f'width:={WIDTH}', '-p', f'height:={HEIGHT}',
                      '-p', f'frame_rate:={CAMERA_FPS}'], env, log_dir, 'camera')
    stack.callback(camera.stop)
    spin(executor, 60.0, until=lambda: recorder.results or camera.proc.poll() is not None)
    if not recorder.results:
        raise BenchError(f'no results within 60 s; camera log:\n{camera.tail()}\nclassifier log:\n{classifier.tail()}')
    log(f'end to end: first result; {args.warmup:g} s warm-up, then {args.seconds:g} s')
    spin(executor, args.warmup)
    start = time.time_ns()
    spin(executor, args.seconds)
    end = time.time_ns()
    spin(executor, 0.5)  # results of the last frames
    camera.stop()
    frames = {s for t, s in recorder.images if start <= t < end}
    previous = max((s for t, s in recorder.results if s < start), default=None)
    chosen, latency, stale, series = latency_summary(
        [(t, s) for t, s in recorder.results if s in frames], start, end, 1e9 / CAMERA_FPS, previous)
    if not len(latency):
        raise BenchError(f'no results for the {len(frames)} frames received in {args.seconds:g} s')
    seconds = (end - start) / 1e9
    return {'frames_in': len(frames), 'results_out': len(chosen), 'dropped': len(frames) - len(chosen),
            'fps_in': len(frames) / seconds, 'fps_out': len(chosen) / seconds, 'stale': stale,
            'latency': latency, 'series': series}


def flood(args, env, log_dir, executor, recorder, classifier, stack):
    recorder.stop_images()
    rss = [(time.time_ns(), rss_mb(classifier.pid))]
    publisher = Process(['vision_classifier.bench', '--flood-publisher', TOPIC, '--flood-seconds',
                         str(args.flood_seconds)], env, log_dir, 'flood')
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
    chosen, latency, _, series = latency_summary(recorder.results, start, end)
    return {'published': report['published'], 'failed': report['failed'], 'results': len(chosen),
            'seconds': (end - start) / 1e9, 'latency': latency, 'series': series,
            'rss': [((t - start) / 1e9, mb) for t, mb in rss if mb is not None]}


def flood_publisher(topic, seconds):
    """Publish one prebuilt frame as fast as possible, only the stamp updated; prints a JSON report."""
    import rclpy
    from rclpy.impl.implementation_singleton import rclpy_implementation
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header
    from .ros_common import image_msg
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_flood')
    try:
        publisher = node.create_publisher(Image, topic, QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        deadline = time.monotonic() + 30.0
        while publisher.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                print(f'no subscriber on {topic} within 30 s', file=sys.stderr)
                return 1
            time.sleep(0.05)
        msg = image_msg(bench_frame(), 'rgb8', Header(frame_id='bench_flood'))
        stamp, count, failed = msg.header.stamp, 0, 0
        start = now = time.time_ns()
        end = start + int(seconds * 1e9)
        while now < end:
            stamp.sec, stamp.nanosec = divmod(now, 10**9)
            try:
                publisher.publish(msg)
                count += 1
            except rclpy_implementation.RCLError:  # the writer's history is blocked: back-pressure, not a fault
                failed += 1
            now = time.time_ns()
        print(json.dumps({'published': count, 'failed': failed, 'start_ns': start, 'end_ns': now}), flush=True)
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


# --- report

def plot(path, e2e, flooded):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), constrained_layout=True)
    top.plot(*zip(*e2e['series']), '.', markersize=3)
    top.set(title=f'End to end over DDS: {WIDTH}x{HEIGHT} rgb8 at {CAMERA_FPS:g} fps', xlabel='time (s)',
            ylabel='latency (ms)', yscale='log')  # log: the bulk and the outliers both readable
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


def summary(model_path, invoke, node, threads, e2e, flooded, plot_path):
    rss = [mb for _, mb in flooded['rss']]
    # Growth is counted from 2 s into the flood: connecting maps the publisher's shared-memory segment once.
    settled = [mb for t, mb in flooded['rss'] if t >= 2.0] or rss
    return {
        'invoke_ms': rounded(np.median(invoke)), 'invoke_mean_ms': rounded(np.mean(invoke)),
        'node_ms': rounded(np.median(node)), 'node_mean_ms': rounded(np.mean(node)),
        'e2e_p50_ms': rounded(pct(e2e['latency'], 50)), 'e2e_p95_ms': rounded(pct(e2e['latency'], 95)),
        'e2e_p99_ms': rounded(pct(e2e['latency'], 99)),
        'fps_in': rounded(e2e['fps_in'], 2), 'fps_out': rounded(e2e['fps_out'], 2),
        'frames_in': e2e['frames_in'], 'results_out': e2e['results_out'], 'dropped': e2e['dropped'],
        'stale': e2e['stale'],
        'flood_p50_ms': rounded(pct(flooded['latency'], 50)), 'flood_p99_ms': rounded(pct(flooded['latency'], 99)),
        'flood_published': flooded['published'], 'flood_publish_failed': flooded['failed'],
        'flood_results': flooded['results'],
        'flood_published_fps': rounded(flooded['published'] / flooded['seconds'], 1),
        'rss_before_flood_mb': rounded(rss[0] if rss else None, 1),
        'rss_start_mb': rounded(settled[0] if settled else None, 1),
        'rss_end_mb': rounded(settled[-1] if settled else None, 1),
        'rss_max_mb': rounded(max(rss) if rss else None, 1),
        'threads': {str(n): rounded(np.median(t)) for n, t in threads.items()},
        'device': device(), 'model': model_path, 'rmw': rmw(), 'plot': plot_path or None,
    }


def table(s):
    def ms(value):
        return '-' if value is None else f'{value:8.2f} ms'
    invoke, p50 = s['invoke_ms'], s['e2e_p50_ms']
    flood_p99, rss_growth = s['flood_p99_ms'], (s['rss_end_mb'] or 0) - (s['rss_start_mb'] or 0)
    goal = {True: 'ok', False: 'MISSED'}
    rows = [
        f'vision_classifier bench: {Path(s["model"]).name}, {WIDTH}x{HEIGHT} rgb8; {s["device"]["cpu"]}, '
        f'{s["device"]["cores"]} cores, {s["device"]["litert"]}; {s["rmw"]["implementation"]}, Fast DDS profile: '
        f'{s["rmw"]["fastdds_profiles_file"] or "none"}',
        '',
        f'1 LiteRT invoke, 1 thread        median {ms(invoke)}  mean {ms(s["invoke_mean_ms"])}',
        f'2 classifications_for()          median {ms(s["node_ms"])}  mean {ms(s["node_mean_ms"])}  '
        f'2/1 = {s["node_ms"] / invoke:.2f}  (goal <= 1.25: {goal[s["node_ms"] <= 1.25 * invoke]})',
        f'3 end to end over DDS            p50 {ms(p50)}  p95 {ms(s["e2e_p95_ms"])}  p99 {ms(s["e2e_p99_ms"])}  '
        f'3/1 = {p50 / invoke:.2f}  (goal p50 <= 1 + 3 ms: {goal[p50 <= invoke + 3]})',
        f'                                 frames in {s["frames_in"]} ({s["fps_in"]:.1f}/s), results '
        f'{s["results_out"]} ({s["fps_out"]:.1f}/s), dropped {s["dropped"]}, stale {s["stale"]}  '
        f'(goal none dropped or stale: {goal[not s["dropped"] and not s["stale"]]})',
        f'4 flood                          p50 {ms(s["flood_p50_ms"])}  p99 {ms(flood_p99)}  '
        f'(goal p99 <= 3 x p50 of 3: {goal[flood_p99 is not None and flood_p99 <= 3 * p50]})',
        f'                                 published {s["flood_published"]} ({s["flood_published_fps"]:.0f}/s), '
        f'{s["flood_publish_failed"]} publish() calls failed, results {s["flood_results"]}',
        f'                                 classifier RSS {s["rss_before_flood_mb"]} before, '
        f'{s["rss_start_mb"]} at 2 s -> {s["rss_end_mb"]} MB at the end '
        f'(max {s["rss_max_mb"]})  (goal growth < 5 MB: {goal[rss_growth < 5]})',
        '5 num_threads                    ' + ',  '.join(
            f'{n}: {t:.2f} ms ({1000 / t:.1f} fps)' for n, t in s['threads'].items()),
    ]
    if s['plot']:
        rows.append(f'plot: {s["plot"]}')
    return '\n'.join(rows)


def bench(args, env, log_dir, stack):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions
    model_path = resolve_path(args.model, args.packages_dir)
    frame = bench_frame()
    context = rclpy.Context()
    rclpy.init(context=context, signal_handler_options=SignalHandlerOptions.NO)
    stack.callback(rclpy.try_shutdown, context=context)
    invoke, node = invoke_and_node_times(context, model_path, frame, args.iterations)
    threads = thread_times(model_path, frame, max(1, args.threads_max), args.iterations)
    classifier = Process(['vision_classifier.classifier_node', '--ros-args', '-r', f'image:={TOPIC}',
                          '-p', f'model_path:={model_path}'], env, log_dir, 'classifier')
    stack.callback(classifier.stop)
    bench_node = rclpy.create_node('bench', context=context)
    stack.callback(bench_node.destroy_node)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(bench_node)
    recorder = Recorder(bench_node)
    classifier.wait_for_log('listening on', 60.0)
    e2e = end_to_end(args, env, log_dir, executor, recorder, classifier, stack)
    flooded = flood(args, env, log_dir, executor, recorder, classifier, stack)
    if classifier.proc.poll() is not None:
        raise BenchError(f'the classifier exited during the bench; its log ends:\n{classifier.tail()}')
    if args.plot:
        plot(args.plot, e2e, flooded)
    return summary(model_path, invoke, node, threads, e2e, flooded, args.plot)


def apply_profile(choice):
    """Point this process (and so its children) at the chosen Fast DDS profile, through both variables."""
    if choice is None:
        return
    for variable in PROFILE_VARIABLES:
        os.environ.pop(variable, None)
    if choice != 'none':
        os.environ.update(profile_env(large_images_profile() if choice == 'large' else Path(choice).absolute()))


def run(args):
    apply_profile(args.fastdds_profile)
    env = dds_env()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the children are stopped
    log(f'ROS_DOMAIN_ID={env["ROS_DOMAIN_ID"]}, discovery on localhost')
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
    parser.add_argument('--flood-publisher', metavar='TOPIC', help='be the flood publisher on TOPIC')
    args = parser.parse_args(argv)
    if args.flood_publisher:
        return flood_publisher(args.flood_publisher, args.flood_seconds)
    return run(args)


if __name__ == '__main__':
    sys.exit(main())
