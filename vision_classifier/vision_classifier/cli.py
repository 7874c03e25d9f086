"""The `vision_classifier` command (see DESCRIPTION)."""
import argparse
import os
from pathlib import Path
import subprocess
import sys
import time

from vision_classifier.core.arguments import positive_int
from vision_classifier.core.assets import DEFAULT_MODEL
from vision_classifier.core.image_encoding import DEFAULT_MAX_IMAGE_BYTES
from vision_classifier.core.image_files import ImageFileError, read_rgb
from vision_classifier.core.output import write_line
from vision_classifier.core.parameters import QOS_CHOICES
from vision_classifier.core.paths import cache_dir, packages_dir, PathError, resolve_path
from vision_classifier.core.tflite_model import ModelConfig, ModelError, TfliteCpuModel
from vision_classifier.core.vision import VisionService

DESCRIPTION = ('`vision_classifier` command: classify image files, ask a running vision service, run a Viam config, '
               'the demo, the benchmark.')


def image_file_error(e):
    """Return the error line of an ImageFileError; one of a size over the limit says how to raise it."""
    return f'error: {e}' + (' (--max-image-bytes raises the limit)' if e.kind == 'too_large' else '')


def classify(args):
    try:
        config = ModelConfig(
            model_path=resolve_path(args.model, args.packages_dir),
            label_path=resolve_path(args.labels, args.packages_dir) if args.labels else '',
            num_threads=args.threads)
        service = VisionService(TfliteCpuModel(config))
    except (ModelError, PathError) as e:
        write_line(f'error: {e}', sys.stderr)
        return 2
    status = 0
    for path in args.images:
        try:
            results = service.classify(read_rgb(path, args.max_image_bytes), args.n)
        except ImageFileError as e:
            write_line(image_file_error(e), sys.stderr)
            status = 1
            continue
        write_line(path)
        for c in results:
            write_line(f'  {c.class_name}: {c.confidence:.3f}')
    return status


def get_classifications(args):
    """Ask a running vision service, through the client library, about an image file or its camera's next frame."""
    import rclpy
    from rclpy.exceptions import InvalidServiceNameException
    from vision_classifier.client import VisionClient, VisionServiceError
    if args.image:
        try:
            image = read_rgb(args.image, args.max_image_bytes)
        except ImageFileError as e:
            write_line(image_file_error(e), sys.stderr)
            return 1
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('vision_classifier_get_classifications', context=context)
    try:
        service = VisionClient(node, args.service)
        if args.image:
            results = service.get_classifications(image, args.n, timeout=args.timeout)
        else:
            results = service.get_classifications_from_camera(args.camera, args.n, timeout=args.timeout)
    except (TimeoutError, VisionServiceError, InvalidServiceNameException) as e:
        write_line(f'error: {e}', sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    write_line(args.image or f'{args.service} from camera {args.camera}')
    for c in results:
        write_line(f'  {c.class_name}: {c.confidence:.3f}')
    return 0


def load_plan(path, packages_dir, save_dir=None, qos_reliability='auto', check_models=True):
    """
    Translate a config and load its models (unless not `check_models`).

    With `save_dir`, every transform camera writes its frames to save_dir/<name>.
    """
    from vision_classifier.core.config import ConfigError, translate_file
    try:
        plan = translate_file(path, packages_dir, qos_reliability, check_models)
    except ConfigError as e:
        for warning in e.warnings:
            write_line(f'warning: {warning}', sys.stderr)
        write_line(f'{path}: {len(e.problems)} problem(s):', sys.stderr)
        for problem in e.problems:
            write_line(f'  {problem}', sys.stderr)
        return None
    for warning in plan.warnings:
        write_line(f'warning: {warning}', sys.stderr)
    if save_dir:
        for spec in plan.nodes:
            if spec.kind == 'overlay':
                spec.parameters['output_dir'] = str(Path(save_dir).absolute() / spec.name)
    return plan


def run_config(args, path, watch=False):
    """Run a config; with `watch`, edits of the file are applied while it runs."""
    from vision_classifier.runner.run import run
    plan = load_plan(path, args.packages_dir, args.save_dir, args.qos_reliability)
    if plan is None:
        return 2
    overlays = [s for s in plan.nodes if s.kind == 'overlay']
    for spec in overlays:
        where = spec.parameters.get('output_dir')
        write_line(f'{spec.name}: annotated images on /{spec.name}/image' + (f', files in {where}' if where else ''))
    started = time.time()
    # On an edit only the models that change are loaded and checked (LiveConfig)
    reload = {'config_path': path, 'load_config': lambda: load_plan(path, args.packages_dir, args.save_dir,
                                                                    args.qos_reliability, check_models=False)}
    extras = []
    if args.web:
        from vision_classifier.web.node import ControlPage
        extras.append(ControlPage(*args.web))
    status = run(plan, frames=args.frames, duration=args.duration, echo_period=0.0 if args.echo else 1.0,
                 extras=extras, **(reload if watch else {}))
    for spec in overlays:
        where = spec.parameters.get('output_dir')
        if where:
            count = sum(1 for f in Path(where).glob('frame_*.png') if f.stat().st_mtime >= started)
            write_line(f'{spec.name}: {count} annotated frames in {where}')
    return status


def run_command(args):
    return run_config(args, args.config, watch=True)


def demo(args):
    if fetch_assets(argparse.Namespace(dir=args.packages_dir), report=False):  # `fetch-assets` says where they are
        return 1
    if args.save_dir is None:
        args.save_dir = str(demo_save_dir())
    if args.frames is None:  # with the web page: until Ctrl-C
        args.frames = 0 if args.web else 8
    return run_config(args, default_config())


def default_config():
    """Return config/default.json of the installed package (or of the source tree)."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return str(Path(get_package_share_directory('vision_classifier')) / 'config' / 'default.json')
    except (ImportError, LookupError):
        return str(Path(__file__).resolve().parents[1] / 'config' / 'default.json')


def demo_save_dir():
    """Return where the demo writes its annotated frames by default, whatever the working directory."""
    return cache_dir() / 'annotated_frames'


def fetch_assets(args, report=True):
    from vision_classifier.core.assets import AssetError, fetch
    try:
        where = fetch(Path(args.dir) if args.dir else packages_dir(None))
    except (AssetError, OSError, subprocess.CalledProcessError) as e:
        write_line(f'error: {e}', sys.stderr)
        return 1
    if report:
        write_line(f'default model and photos in {where}')
    return 0


def bench(args):
    from vision_classifier.bench.run import run
    return run(args)


def bag(args):
    from vision_classifier.tools.bag_classifier import run
    plan = load_plan(args.config, args.packages_dir) if args.config else None
    if args.config and plan is None:
        return 2
    return run(args, plan)


def evaluate(args):
    from vision_classifier.tools.evaluate import run
    return run(args)


def web_address(text):
    from vision_classifier.web.server import parse_address
    try:
        return parse_address(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_max_image_bytes(command):
    command.add_argument('--max-image-bytes', type=positive_int, default=DEFAULT_MAX_IMAGE_BYTES,
                         help='refuse an image file whose header claims more bytes of pixels (width * height * 3), '
                              'before decoding it (default: %(default)s)')


def doctor(args):
    from vision_classifier.tools.doctor import run
    return run(args)


def build_parser():
    parser = argparse.ArgumentParser(prog='vision_classifier', description=DESCRIPTION)
    commands = parser.add_subparsers(dest='command', required=True)
    one = commands.add_parser('classify', help='classify image files, like get_classifications(img)')
    one.add_argument('images', nargs='+', help='image files')
    one.add_argument('--model', default=DEFAULT_MODEL, help='.tflite model (default: %(default)s)')
    one.add_argument('--labels', default='', help='labels file (default: the model metadata, else "1", "2", ...)')
    one.add_argument('--n', type=int, default=5, help='results per image; 0: all (default: %(default)s)')
    one.add_argument('--threads', type=int, default=1, help='CPU threads (default: %(default)s)')
    add_max_image_bytes(one)
    one.add_argument('--packages-dir', default=None,
                     help='where ${packages.<name>} resolves (default: $VISION_CLASSIFIER_PACKAGES_DIR)')
    one.set_defaults(run=classify)

    ask = commands.add_parser('get-classifications',
                              help='ask a running vision service, like get_classifications(_from_camera)')
    ask.add_argument('service', help='vision service name (the classifier node), e.g. my_classifier')
    source = ask.add_mutually_exclusive_group(required=True)
    source.add_argument('--camera', help='classify the next frame of this camera: one the service classifies, another '
                        'camera of the config or an image topic (/...)')
    source.add_argument('--image', help='classify this image file')
    ask.add_argument('--n', type=int, default=5, help='results; 0: all that pass the thresholds (default: %(default)s)')
    ask.add_argument('--timeout', type=float, default=30.0,
                     help='seconds to wait for the service and its answer (default: %(default)s)')
    add_max_image_bytes(ask)
    ask.set_defaults(run=get_classifications)

    def add_run_options(command, save_dir_default=''):
        command.add_argument('--packages-dir', default=None, help='where ${packages.<name>} resolves')
        command.add_argument('--frames', type=int, default=0, help='stop after this many annotated frames')
        command.add_argument('--duration', type=float, default=0.0, help='stop after this many seconds')
        command.add_argument('--save-dir', default=None,
                             help=f'write annotated frames to DIR/<transform camera>{save_dir_default}')
        command.add_argument('--echo', action='store_true',
                             help='print every result (default: at most one line a second per vision service)')
        command.add_argument('--qos-reliability', default='auto', choices=QOS_CHOICES,
                             help='image subscriptions where the config does not say (default: %(default)s: '
                                  'as the publishers on the topic)')
        command.add_argument('--web', type=web_address, default=None, metavar='[HOST:]PORT',
                             help='serve the live control page (HOST default: 127.0.0.1; PORT 0: any free port)')

    config = commands.add_parser('run', help='run all nodes of a Viam config in one process; edits of the '
                                 'file are applied while it runs')
    config.add_argument('config', help='Viam robot config (JSON)')
    add_run_options(config)
    config.set_defaults(run=run_command)

    default = commands.add_parser('demo', help='run the built-in default config: the sample photos classified')
    add_run_options(default, ' (default: ~/.cache/vision_classifier/annotated_frames, or in $XDG_CACHE_HOME)')
    default.set_defaults(run=demo, frames=None, echo=True)

    assets = commands.add_parser('fetch-assets', help='download the default model and photos (hash-checked)')
    assets.add_argument('dir', nargs='?', help='packages folder (default: the packages directory)')
    assets.set_defaults(run=fetch_assets)

    from vision_classifier.bench.run import add_arguments
    timing = commands.add_parser('bench', help='time the model, the node, end to end over DDS and a flood')
    add_arguments(timing)
    timing.set_defaults(run=bench)

    from vision_classifier.tools.bag import add_arguments as add_bag_arguments
    recording = commands.add_parser('bag', help='classify the image topics of a rosbag2 recording offline into a '
                                    'new bag')
    add_bag_arguments(recording)
    recording.set_defaults(run=bag)

    from vision_classifier.tools.doctor import add_arguments as add_doctor_arguments
    checkup = commands.add_parser('doctor', help='what each running node sees, and why nothing comes out where it '
                                  'does not')
    add_doctor_arguments(checkup)
    checkup.set_defaults(run=doctor)

    from vision_classifier.tools.evaluate import add_arguments as add_evaluate_arguments
    measure = commands.add_parser('evaluate', help='measure models on labelled images and suggest thresholds')
    add_evaluate_arguments(measure)
    measure.set_defaults(run=evaluate)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except BrokenPipeError:
        # The reader left (`| head`): stop quietly, as the Python docs recommend. stdout goes to /dev/null, where the
        # flush at exit cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == '__main__':
    sys.exit(main())
