"""
`vision_classifier bench`: LiteRT invoke, the classifier's work per frame, end to end over DDS, a flood, threads.

All DDS traffic stays on loopback, in a random ROS domain chosen per run (or --domain-id), except with --topic (a
camera already running, in the current domain). The last line printed is one JSON object.
The camera and the flood run in processes of their own (vision_classifier.bench.publisher).
"""
import argparse
from contextlib import ExitStack
import json
import os
from pathlib import Path
import random
import signal
import sys
import tempfile

from vision_classifier.bench.cameras import invoke_cpu_ms, run_cameras
from vision_classifier.bench.cameras import table as cameras_table
from vision_classifier.bench.frames import bench_frame, CAMERA_FPS, ENCODINGS, frame_msg, HEIGHT, IMAGE_TYPE
from vision_classifier.bench.frames import message_type, WIDTH
from vision_classifier.bench.measure import (BenchError, end_to_end, find_camera, flood, invoke_and_node_times, log,
                                             NO_FLOOD, Recorder, sample_of, thread_times, wait_for_subscription)
from vision_classifier.bench.report import describe_setting, device, header, plot, rmw, summary, table
from vision_classifier.core.assets import DEFAULT_MODEL
from vision_classifier.core.fastdds import large_images_profile, profile_env, PROFILE_VARIABLES
from vision_classifier.core.output import write_line
from vision_classifier.core.paths import PathError, resolve_path
from vision_classifier.core.processes import Process
from vision_classifier.core.tflite_model import ModelError

TOPIC = '/bench/image_raw'
MAX_DOMAIN_ID = 232


RESULTS = '/classifier/classifications'


def frame_size(text):
    width, sep, height = text.lower().partition('x')
    try:
        size = (int(width), int(height))
    except ValueError:
        size = None
    if not sep or not size or min(size) < 1:
        raise argparse.ArgumentTypeError(f'expected WIDTHxHEIGHT, e.g. 640x480, got {text!r}')
    return size


def domain_id(text):
    """
    Parse a ROS_DOMAIN_ID: 0 to 232.

    232 is the highest whose DDS ports fit; 102 and up may meet Linux's ephemeral ports.
    """
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_DOMAIN_ID:
        raise argparse.ArgumentTypeError(f'expected a ROS domain ID from 0 to {MAX_DOMAIN_ID}, got {text!r}')
    return value


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
    parser.add_argument('--cameras', type=int, default=0, metavar='N',
                        help='N cameras at --fps each: one classifier node for all of them against N nodes of one '
                        'camera each (results/s, fairness, latency, CPU per frame, memory); 0: the one-camera bench '
                        '(default: %(default)s)')
    parser.add_argument('--domain-id', type=domain_id, metavar='0..232', default=None,
                        help="ROS domain of the bench's own nodes (default: a random one); --topic uses the current")
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
                        help="Fast DDS profile for the bench and its processes, set for this distro's Fast DDS; "
                        '"large" for config/fastdds_large_images.xml, "none" for Fast DDS defaults (default: the '
                        "environment's)")


def dds_env(domain_id=None):
    """
    Set loopback-only discovery in the given domain, else a fresh random one; return the environment.

    A random domain is from 1 to 101, which keeps DDS ports out of the ephemeral range.
    """
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ['ROS_DOMAIN_ID'] = str(random.SystemRandom().randint(1, 101) if domain_id is None else domain_id)
    return dict(os.environ)


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
    if args.cameras:
        if args.topic:
            raise BenchError('--cameras starts its own cameras: leave out --topic')
        invoke_ms, invoke_cpu = invoke_cpu_ms(model_path, bench_frame(*args.size), args.iterations, args.num_threads)
        result = run_cameras(args, bench_node, executor, env, log_dir, stack, model_path, invoke_ms, invoke_cpu)
        result.update(device=device(), rmw=rmw(), model=model_path, num_threads=args.num_threads,
                      size=f'{args.size[0]}x{args.size[1]}', encoding=args.encoding, topic=None)
        return result
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
    classifier = Process('vision_classifier.nodes.classifier_node', [
        '--ros-args', '-r', remap, '-p', f'model_path:={model_path}', '-p', f'num_threads:={args.num_threads}',
        '-p', f'qos_reliability:={"best_effort" if best_effort else "reliable"}',
        '-p', f'image_transport:={"raw" if type_name == IMAGE_TYPE else "compressed"}'],
        Path(log_dir) / 'classifier.log', env=env)
    stack.callback(classifier.stop)
    recorder = Recorder(bench_node, topic, type_name, reliability)
    if not classifier.wait_for_log('listening on', 120.0):
        raise BenchError(f'the classifier did not start; its log ends:\n{classifier.tail()}')
    wait_for_subscription(bench_node, executor, topic, type_name)
    e2e = end_to_end(args, env, log_dir, executor, recorder, classifier, stack, topic)
    flooded = NO_FLOOD if args.topic or args.flood_seconds <= 0 else flood(
        args, env, log_dir, executor, recorder, classifier, stack, topic)
    if classifier.proc.poll() is not None:
        raise BenchError(f'the classifier exited during the bench; its log ends:\n{classifier.tail()}')
    if args.plot:
        plot(args.plot, describe_setting(setting), e2e, flooded)
    _, invoke_cpu = invoke_cpu_ms(model_path, frame, args.iterations, args.num_threads)
    return summary(model_path, setting, invoke, node, threads, e2e, flooded, args.plot, invoke_cpu)


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
            write_line(f'error: {e}', sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
    write_line(cameras_table(result, header(result)) if args.cameras else table(result))
    write_line(json.dumps(result))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m vision_classifier.bench.run', description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
