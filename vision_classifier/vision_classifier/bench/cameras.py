"""
`bench --cameras N`: N cameras, one classifier node for all of them against N nodes of one camera each.

Both designs run in one bench: the same N camera processes at --fps each, first classified by one node with one model
(its `cameras` parameter), then by N nodes. Each reports total results/s against 1/invoke, each camera's share of
the results and its latency, the classifier processes' CPU time per classified frame and their resident memory.
"""
from pathlib import Path
import time

import numpy as np

from vision_classifier.bench.measure import BenchError, cpu_seconds, log, pct, rss_mb, spin, stamp_ns
from vision_classifier.bench.report import KEEPS_UP
from vision_classifier.core.processes import Process

CAMERA_TOPIC = '/bench/cam{}/image_raw'
FAIR_SHARE = 0.2      # goal: each camera's share of the results within 20 % of an equal share
TOTAL_OF_MODEL = 0.95  # goal: total results/s at least this much of 1/invoke when the cameras ask for more


def classifier_processes(design, n, model_path, num_threads, env, log_dir):
    """Return [(Process, {camera: its results topic})] of a design: 'one' node for all N cameras, or 'each' its own."""
    cameras = [f'cam{i}' for i in range(n)]
    common = ['-p', f'model_path:={model_path}', '-p', f'num_threads:={num_threads}', '-p', 'qos_reliability:=reliable']

    def start(name, of):
        entries = ','.join(f"'{c}={CAMERA_TOPIC.format(c[3:])}'" for c in of)
        process = Process('vision_classifier.nodes.classifier_node',
                          ['--ros-args', '-r', f'__node:={name}', *common, '-p', f'cameras:=[{entries}]'],
                          Path(log_dir) / f'{name}.log', env=env)
        return process, {c: f'/{name}/{c}/classifications' for c in of}
    if design == 'one':
        return [start('bench_classifier', cameras)]
    return [start(f'bench_classifier_{c}', [c]) for c in cameras]


def published_between(camera, start, end):
    """Return the frames a bench camera published between two times (ns), interpolated from the counts it prints."""
    counts = sorted(tuple(map(int, line.split()[1:])) for line in camera.log().splitlines()
                    if line.startswith('count '))
    return count_at(counts, end) - count_at(counts, start)


def count_at(counts, when):
    """Frames published by `when`, linear between the (time, count) points around it; the nearest end outside."""
    if not counts:
        return 0
    for (t0, c0), (t1, c1) in zip(counts, counts[1:]):
        if t0 <= when <= t1:
            return c0 + (c1 - c0) * (when - t0) / max(t1 - t0, 1)
    return counts[0][1] if when < counts[0][0] else counts[-1][1]


def measure_design(design, args, node, executor, env, log_dir, stack, model_path, cameras):
    """Run one design against the cameras already publishing; returns its numbers."""
    from vision_classifier_msgs.msg import Classifications
    processes = classifier_processes(design, args.cameras, model_path, args.num_threads, env, log_dir)
    received, subscriptions = {}, []
    for process, topics in processes:
        stack.callback(process.stop)
        for camera, topic in topics.items():
            received[camera] = []
            subscriptions.append(node.create_subscription(
                Classifications, topic,
                lambda msg, got=received[camera]: got.append((time.time_ns(), stamp_ns(msg.header))), 10))
    if not spin(executor, 120.0, until=lambda: all(received.values())):
        missing = [c for c, got in received.items() if not got]
        raise BenchError(f'{design}: no results of {", ".join(missing)} within 120 s; a classifier log ends:\n'
                         f'{processes[0][0].tail()}')
    spin(executor, args.warmup)
    pids = [process.pid for process, _ in processes]
    cpu_start, start = [cpu_seconds(pid) for pid in pids], time.time_ns()
    spin(executor, args.seconds)
    cpu_end, end = [cpu_seconds(pid) for pid in pids], time.time_ns()
    rss, shm = [rss_mb(pid) for pid in pids], [rss_mb(pid, 'RssShmem') for pid in pids]
    spin(executor, 1.5)  # each camera prints a count after the window
    for subscription in subscriptions:
        node.destroy_subscription(subscription)
    for process, _ in processes:
        if process.stop() != 0:
            raise BenchError(f'{design}: a classifier did not stop cleanly; its log ends:\n{process.tail()}')
    seconds = (end - start) / 1e9
    per_camera = {}
    for camera, got in received.items():
        window = [(t, s) for t, s in got if start <= t < end]
        latency = [(t - s) / 1e6 for t, s in window]
        sent = published_between(cameras[int(camera[3:])], start, end)
        per_camera[camera] = {'results': len(window), 'results_per_s': len(window) / seconds,
                              'frames_per_s': sent / seconds, 'p50_ms': pct(latency, 50), 'p95_ms': pct(latency, 95)}
    total = sum(c['results'] for c in per_camera.values())
    return {'design': design, 'seconds': seconds, 'results': total, 'results_per_s': total / seconds,
            'cameras': per_camera,
            'cpu_ms_per_result': (sum(cpu_end) - sum(cpu_start)) * 1e3 / max(total, 1),
            'rss_mb': sum(r for r in rss if r is not None), 'shm_mb': sum(r for r in shm if r is not None),
            'processes': len(processes)}


def run_cameras(args, node, executor, env, log_dir, stack, model_path, invoke_ms, invoke_cpu_ms):
    """Start the cameras, then measure both designs against them."""
    width, height = args.size
    cameras = []
    for i in range(args.cameras):
        camera = Process('vision_classifier.bench.publisher',
                         [CAMERA_TOPIC.format(i), '--fps', str(args.fps), '--size', f'{width}x{height}',
                          '--encoding', args.encoding, '--frame-id', f'cam{i}'],
                         Path(log_dir) / f'camera{i}.log', env=env)
        stack.callback(camera.stop)
        cameras.append(camera)
    designs = []
    for design in ('one', 'each'):
        log(f'{args.cameras} camera(s) at {args.fps:g} fps, {"one node" if design == "one" else "a node each"}')
        designs.append(measure_design(design, args, node, executor, env, log_dir, stack, model_path, cameras))
    offered = args.cameras * args.fps
    return {'cameras': args.cameras, 'fps': args.fps, 'offered_per_s': offered, 'invoke_ms': invoke_ms,
            'invoke_cpu_ms': invoke_cpu_ms, 'model_per_s': 1000.0 / invoke_ms, 'designs': designs}


def verdicts(result):
    """Return, per design, whether each camera keeps up (results against frames) and whether the goals are met."""
    lines = []
    for d in result['designs']:
        shares = [c['results'] / max(d['results'], 1) for c in d['cameras'].values()]
        equal = 1.0 / len(shares)
        fair = all(abs(s - equal) <= FAIR_SHARE * equal for s in shares)
        overloaded = result['offered_per_s'] > 0.95 * result['model_per_s']
        for camera, c in d['cameras'].items():
            sent = c['frames_per_s']  # what the camera managed to publish (CPU-starved cameras publish less)
            keeps_up = c['results_per_s'] >= KEEPS_UP * sent
            words = (f'keeps up ({c["results_per_s"]:.1f} of {sent:.1f} frames/s classified)' if keeps_up else
                     f'skips frames: {c["results_per_s"]:.1f} of {sent:.1f} frames/s classified (the newest '
                     'frame is always taken)')
            lines.append((d['design'], camera, words))
        d['fair'] = fair
        d['total_of_model'] = d['results_per_s'] / result['model_per_s']
        d['cpu_of_invoke'] = d['cpu_ms_per_result'] / result['invoke_cpu_ms']
        d['goals'] = {'fair': fair, 'total >= 0.95 / invoke': d['total_of_model'] >= TOTAL_OF_MODEL if overloaded
                      else None, 'cpu <= 1.15 x invoke': d['cpu_of_invoke'] <= 1.15}
    return lines


def table(result, header):
    """Return the multi-camera report as text."""
    goal = {True: 'ok', False: 'MISSED', None: 'n/a: the cameras ask less than the model can do'}
    lines = verdicts(result)
    rows = [header, '',
            f'{result["cameras"]} camera(s) at {result["fps"]:g} fps = {result["offered_per_s"]:g} frames/s offered; '
            f'1 invoke {result["invoke_ms"]:.2f} ms ({result["invoke_cpu_ms"]:.2f} ms CPU) = '
            f'{result["model_per_s"]:.1f} frames/s for the model']
    for d in result['designs']:
        name = 'one node for all cameras' if d['design'] == 'one' else (
            f'{d["processes"]} nodes, one camera each' if d['processes'] > 1 else 'one node per camera')
        rows += ['', f'{name}:',
                 f'  total {d["results_per_s"]:.1f} results/s = {d["total_of_model"]:.2f} x 1/invoke '
                 f'(goal >= {TOTAL_OF_MODEL} when the cameras ask more: {goal[d["goals"]["total >= 0.95 / invoke"]]})',
                 f'  CPU per classified frame {d["cpu_ms_per_result"]:.2f} ms = {d["cpu_of_invoke"]:.2f} x the '
                 f'invoke\'s (goal <= 1.15: {goal[d["goals"]["cpu <= 1.15 x invoke"]]}); resident memory '
                 f'{d["rss_mb"]:.0f} MB ({d["shm_mb"]:.0f} MB of it shared memory: DDS segments)',
                 f'  shares within {FAIR_SHARE:.0%} of equal: {goal[d["fair"]]}']
        for camera, c in d['cameras'].items():
            share = c['results'] / max(d['results'], 1)
            words = next(w for design, cam, w in lines if design == d['design'] and cam == camera)
            rows.append(f'  {camera}: {c["results_per_s"]:.1f}/s, share {share:.0%}, latency p50 '
                        f'{c["p50_ms"] or 0:.1f} / p95 {c["p95_ms"] or 0:.1f} ms: {words}')
    return '\n'.join(rows)


def invoke_cpu_ms(model_path, frame, iterations, num_threads):
    """Return the median wall time and the mean CPU time of one invoke, in ms."""
    from vision_classifier.core.tflite_model import ModelConfig, TfliteCpuModel
    model = TfliteCpuModel(ModelConfig(model_path, num_threads=num_threads))
    tensor = model.preprocessor(frame)
    for _ in range(5):
        model.invoke(tensor)
    walls = []
    cpu = time.process_time()
    for _ in range(iterations):
        start = time.perf_counter()
        model.invoke(tensor)
        walls.append((time.perf_counter() - start) * 1e3)
    return float(np.median(walls)), (time.process_time() - cpu) * 1e3 / iterations
