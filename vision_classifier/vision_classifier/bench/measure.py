"""The bench's measurements: LiteRT invoke and the classifier's work in-process, end to end and a flood over DDS."""
import json
import os
from pathlib import Path
import sys
import time

import numpy as np

from vision_classifier.bench.frames import bench_frame, COMPRESSED_TYPE, IMAGE_TYPE, msg_class
from vision_classifier.core.image_encoding import ImageError
from vision_classifier.core.output import write_line
from vision_classifier.core.processes import Process
from vision_classifier.core.tflite_model import ModelConfig, TfliteCpuModel

RESULTS = '/classifier/classifications'


class BenchError(RuntimeError):
    pass


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


def rss_mb(pid, field='VmRSS'):
    """Return a memory figure of a process in MB (VmRSS; RssShmem: shared memory, as DDS segments), None once gone."""
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith(f'{field}:'):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """Return the user + system CPU seconds of a process so far (None once it is gone)."""
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def log(text):
    write_line(f'bench: {text}', sys.stderr)


def invoke_and_node_times(context, model_path, frame, iterations, num_threads, msg):
    """
    Time the node's own interpreter's invoke() and its classifications_for().

    Return the milliseconds of invoke() on a prepared tensor and of classifications_for() on the camera's message
    `msg`; raise a BenchError when the classifier does not take that message.
    """
    from rclpy.parameter import Parameter
    from vision_classifier.nodes.classifier_node import ClassifierNode
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
    """Return the type, reliability and a first message of the camera publishing on `topic`, from the graph."""
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
    """Return (encoding, (width, height), RGB pixels of that size) of a camera's message."""
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
    """
    Return the latencies of the results stamped in [start_ns, end_ns).

    Late: later than 2 periods; out of order: not newer than the result before.
    """
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


def publisher_process(topic, args, fps, seconds, env, log_dir, name):
    """Return the bench's camera (or with fps 0 its flood) in a process of its own."""
    width, height = args.size
    return Process('vision_classifier.bench.publisher', [topic, '--fps', str(fps), '--seconds', str(seconds),
                                                         '--size', f'{width}x{height}', '--encoding', args.encoding],
                   Path(log_dir) / f'{name}.log', env=env)


def end_to_end(args, env, log_dir, executor, recorder, classifier, stack, topic):
    camera = None
    if not args.topic:
        camera = publisher_process(topic, args, args.fps, 0, env, log_dir, 'camera')
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
    cpu_start, start = cpu_seconds(classifier.pid), time.time_ns()
    spin(executor, args.seconds)
    cpu_end, end = cpu_seconds(classifier.pid), time.time_ns()
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
            'cpu_ms_per_result': (cpu_end - cpu_start) * 1e3 / len(chosen),
            'fps_in': fps_in, 'fps_out': len(chosen) / seconds, 'late': late, 'out_of_order': out_of_order,
            'latency': latency, 'series': series}


def flood(args, env, log_dir, executor, recorder, classifier, stack, topic):
    recorder.stop_images()
    rss = [(time.time_ns(), rss_mb(classifier.pid))]
    publisher = publisher_process(topic, args, 0, args.flood_seconds, env, log_dir, 'flood')
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


NO_FLOOD = {'published': 0, 'failed': 0, 'results': 0, 'out_of_order': 0, 'seconds': 1.0, 'latency': [],
            'series': [], 'rss': []}
