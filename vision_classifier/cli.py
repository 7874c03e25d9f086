"""`vision_classifier` command: classify image files, run a Viam config, the demo, the benchmark."""
import argparse
import sys

from .image_files import ImageFileError, read_rgb
from .paths import PathError, resolve_path
from .tflite_model import ModelConfig, ModelError, TfliteCpuModel
from .vision import VisionService

DEFAULT_MODEL = '${packages.efficientnet_lite0}/efficientnet_lite0.tflite'


def classify(args):
    try:
        config = ModelConfig(
            model_path=resolve_path(args.model, args.packages_dir),
            label_path=resolve_path(args.labels, args.packages_dir) if args.labels else '',
            num_threads=args.threads)
        service = VisionService(TfliteCpuModel(config))
    except (ModelError, PathError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    status = 0
    for path in args.images:
        try:
            results = service.classify(read_rgb(path), args.n)
        except ImageFileError as e:
            print(f'error: {e}', file=sys.stderr)
            status = 1
            continue
        print(path)
        for c in results:
            print(f'  {c.class_name}: {c.confidence:.3f}')
    return status


def build_parser():
    parser = argparse.ArgumentParser(prog='vision_classifier', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True)
    one = commands.add_parser('classify', help='classify image files, like get_classifications(img)')
    one.add_argument('images', nargs='+', help='image files')
    one.add_argument('--model', default=DEFAULT_MODEL, help='.tflite model (default: %(default)s)')
    one.add_argument('--labels', default='', help='labels file (default: the model metadata, else "1", "2", ...)')
    one.add_argument('--n', type=int, default=5, help='results per image; 0: all (default: %(default)s)')
    one.add_argument('--threads', type=int, default=1, help='CPU threads (default: %(default)s)')
    one.add_argument('--packages-dir', default=None,
                     help='where ${packages.<name>} resolves (default: $VISION_CLASSIFIER_PACKAGES_DIR)')
    one.set_defaults(run=classify)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == '__main__':
    sys.exit(main())
