"""
`vision_classifier evaluate`: measure models side by side on labelled images, and suggest thresholds.

Each image goes through the classifier node's path: a JPEG or PNG file as a sensor_msgs/CompressedImage of its bytes
(a JPEG decoded no larger than the model needs), any other image file as a decoded sensor_msgs/Image; then the
model's preprocessing, invoke and confidences (TfliteCpuModel.scores, as VisionService.classify).
"""
import argparse
import csv
from dataclasses import dataclass
import difflib
import json
import math
from pathlib import Path
import sys
import time

from vision_classifier.core import evaluation
from vision_classifier.core.compressed import decode_compressed, JPEG_MAGIC, PNG_MAGIC
from vision_classifier.core.image_encoding import DecodedImage, DEFAULT_MAX_IMAGE_BYTES, ImageError
from vision_classifier.core.image_files import ImageFileError, list_images, read_rgb
from vision_classifier.core.output import write_line
from vision_classifier.core.paths import PathError, resolve_path
from vision_classifier.core.tflite_model import load_model, ModelConfig, ModelError
from vision_classifier.tools.frames import min_size

LABELS_MAP = 'labels_map.json'
MAX_CONFUSION_CLASSES = 20  # the confusion matrix shows the most confused classes beyond this many
SHOWN_PROBLEMS = 10


class DatasetError(ValueError):
    """A dataset that cannot be evaluated; `problems` has one line per problem."""

    def __init__(self, problems):
        super().__init__('\n'.join(problems))
        self.problems = list(problems)


def add_arguments(parser):
    parser.add_argument('dataset', help='a folder of class folders (espresso/*.jpg, ...; names matched to labels '
                        f'case-insensitively, or through {LABELS_MAP} in it), or a CSV file of path,label rows')
    parser.add_argument('--model', action='append', required=True, help='.tflite model; repeat to compare models')
    parser.add_argument('--labels', action='append', default=[],
                        help="labels file of each --model, in their order ('': the model's metadata)")
    parser.add_argument('--precision', type=unit, help='suggest the thresholds that reach this precision (0 to 1) '
                        "at the highest recall, as a vision service's attributes")
    parser.add_argument('--out', default='evaluation', help='folder for the plots (default: %(default)s)')
    parser.add_argument('--worst', type=int, default=5, help='wrong images listed per model (default: %(default)s)')
    parser.add_argument('--packages-dir', default=None, help='where ${packages.<name>} resolves')


def unit(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f'expected a number from 0 to 1, got {text!r}')
    return value


@dataclass(frozen=True)
class Dataset:
    """Labelled images: (path, class name) pairs, the class names in order, and labels_map.json's names."""

    source: Path
    images: tuple
    classes: tuple
    labels_map: dict


def load_dataset(path):
    """Return the Dataset of a folder of class folders or a CSV of path,label rows; raise DatasetError."""
    path = Path(path)
    if path.is_dir():
        images = tuple((image, folder.name) for folder in sorted(p for p in path.iterdir() if p.is_dir())
                       for image in list_images(folder))
        if not images:
            raise DatasetError([f'{path}: no class folders with images (e.g. {path}/espresso/1.jpg)'])
        base = path
    elif path.is_file():
        images, base = _read_csv(path), path.parent
    else:
        raise DatasetError([f'{path}: no such folder or CSV file'])
    mapping = {}
    if (base / LABELS_MAP).is_file():
        try:
            mapping = json.loads((base / LABELS_MAP).read_text(encoding='utf-8'))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DatasetError([f'{base / LABELS_MAP}: cannot read: {e}']) from None
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise DatasetError([f'{base / LABELS_MAP}: expected an object of "class name": "label"'])
    return Dataset(path, images, tuple(sorted({name for _, name in images})), mapping)


def _read_csv(path):
    try:
        with open(path, newline='', encoding='utf-8-sig') as f:
            rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError([f'{path}: cannot read: {e}']) from None
    if rows and [cell.strip().lower() for cell in rows[0]] == ['path', 'label']:
        rows = rows[1:]
    problems, images = [], []
    for number, row in enumerate(rows, 1):
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            problems.append(f'{path}: row {number}: expected path,label, got {",".join(row)!r}')
            continue
        image = path.parent / row[0].strip()
        if not image.is_file():
            problems.append(f'{path}: row {number}: no such file {image}')
        images.append((image, row[1].strip()))
    if problems or not images:
        raise DatasetError(_shown(problems) or [f'{path}: no rows of path,label'])
    return tuple(images)


def _shown(problems):
    return problems[:SHOWN_PROBLEMS] + ([f'... and {len(problems) - SHOWN_PROBLEMS} more']
                                        if len(problems) > SHOWN_PROBLEMS else [])


def match_classes(dataset, labels, model_name):
    """Return each class's label index in `labels` (case-insensitive, through labels_map.json)."""
    index = {}
    for i, label in enumerate(labels):
        index.setdefault(label.lower(), i)
    found, problems = {}, []
    for name in dataset.classes:
        wanted = dataset.labels_map.get(name, name)
        if wanted.lower() in index:
            found[name] = index[wanted.lower()]
            continue
        close = difflib.get_close_matches(wanted.lower(), list(index), n=3, cutoff=0.6)
        hint = f'; closest: {", ".join(repr(labels[index[c]]) for c in close)}' if close else ''
        via = f' ({LABELS_MAP} maps it to "{wanted}")' if name in dataset.labels_map else ''
        problems.append(f'class "{name}"{via}: no such label in {model_name}{hint}; map it in {LABELS_MAP}')
    shared = {}
    for name, i in found.items():
        shared.setdefault(i, []).append(name)
    problems += [f'classes {", ".join(names)}: all are label "{labels[i]}" of {model_name}'
                 for i, names in shared.items() if len(names) > 1]
    if problems:
        raise DatasetError(problems)
    return found


def decode_file(path, model):
    """Return the DecodedImage of an image file as the node would get it (see the module's doc)."""
    data = Path(path).read_bytes()
    if data.startswith((JPEG_MAGIC, PNG_MAGIC)):
        return decode_compressed('', data, DEFAULT_MAX_IMAGE_BYTES, min_size(model))
    return DecodedImage(read_rgb(path), 'rgb')


@dataclass(frozen=True)
class Evaluated:
    name: str
    outcomes: evaluation.Outcomes
    classes: tuple        # the dataset's class name of each class position in outcomes
    paths: tuple          # of the images in outcomes, in order
    images_per_second: float
    failures: tuple       # (path, cause) of images that could not be read


def evaluate(name, model, dataset):
    """Classify every image of `dataset` with `model`; raise DatasetError when its classes are not labels."""
    classes = match_classes(dataset, model.labels, name)
    order = sorted(classes.values())
    position = {name: order.index(i) for name, i in classes.items()}
    names = tuple(sorted(classes, key=position.get))
    paths, rows, failures = [], [], []
    started = time.monotonic()
    for path, class_name in dataset.images:
        try:
            image = decode_file(path, model)
        except (ImageError, ImageFileError, OSError) as e:
            failures.append((path, str(e)))
            continue
        rows.append((position[class_name], model.scores(image.pixels, image.order)))
        paths.append(path)
    seconds = time.monotonic() - started
    outcomes = evaluation.Outcomes.collect(model.labels, order, rows)
    return Evaluated(name, outcomes, names, tuple(paths), len(rows) / seconds if seconds > 0 else math.inf,
                     tuple(failures))


def model_names(paths):
    """Return the column names: each model file's stem, numbered where two are the same."""
    stems = [Path(p).stem for p in paths]
    return [f'{s}#{stems[:i].count(s) + 1}' if stems.count(s) > 1 else s for i, s in enumerate(stems)]


def _percent(value):
    return '-' if math.isnan(value) else f'{100 * value:.1f}%'


def _ratio(value):
    return '-' if math.isnan(value) else f'{value:.2f}'


def table(results, dataset):
    """Return the lines of the side-by-side table: accuracy, images/s and per-class precision / recall."""
    width = max(16, *(len(r.name) + 2 for r in results))
    first = max(24, *(len(c) + 4 for c in dataset.classes))

    def row(title, cells):
        return title.ljust(first) + ''.join(c.rjust(width) for c in cells)
    lines = [row('', [r.name for r in results]),
             row('top-1 accuracy', [_percent(evaluation.top_k_accuracy(r.outcomes, 1)) for r in results]),
             row(f'top-{evaluation.TOP_K} accuracy',
                 [_percent(evaluation.top_k_accuracy(r.outcomes, evaluation.TOP_K)) for r in results]),
             row('images/s', [f'{r.images_per_second:.1f}' for r in results]),
             row('precision / recall', [])]
    scores = [evaluation.per_class(r.outcomes.truth, evaluation.predicted_classes(r.outcomes), len(dataset.classes))
              for r in results]
    for name in dataset.classes:
        cells = [s[r.classes.index(name)] for r, s in zip(results, scores)]
        lines.append(row(f'  {name} ({cells[0].support})',
                         [f'{_ratio(c.precision)} / {_ratio(c.recall)}' for c in cells]))
    return lines


def worst(result, count):
    """Return lines naming the images `result` got most wrong: the most confident mistakes."""
    outcomes, lines = result.outcomes, []
    for i in evaluation.most_wrong(outcomes, count):
        truth = outcomes.truth[i]
        lines.append(f'  {result.paths[i]}: {result.classes[truth]}, got "{outcomes.labels[outcomes.top[i, 0]]}" '
                     f'{outcomes.top_scores[i, 0]:.2f} ({result.classes[truth]} {outcomes.class_scores[i, truth]:.2f})')
    return lines


def suggestion_lines(result, s):
    """Return lines explaining Suggestion `s`, then its JSON: the vision service's attributes."""
    precision = s.precision
    lines = [f'{result.name}: thresholds reaching precision {precision:g} on these {result.outcomes.count} images']
    attributes = {}
    if s.default_minimum_confidence is None:
        lines.append(f'  default_minimum_confidence: none reaches precision {precision:g}')
    else:
        attributes['default_minimum_confidence'] = s.default_minimum_confidence
        lines.append(f'  default_minimum_confidence {s.default_minimum_confidence:g}: precision '
                     f'{_ratio(s.default_scores[0])}, recall {_ratio(s.default_scores[1])}')
    names = result.outcomes.class_names
    parts = [f'{names[c]} {s.label_confidences[names[c]]:g} (precision {_ratio(score.precision)}, recall '
             f'{_ratio(score.recall)})' for c, score in enumerate(s.class_scores) if names[c] in s.label_confidences]
    left_out = [result.classes[c] for c in range(len(names)) if names[c] not in s.label_confidences]
    lines.append('  label_confidences: ' + ('; '.join(parts) or 'none'))
    if left_out:
        lines.append(f'  left out of label_confidences (never reported): {", ".join(left_out)}: no minimum reaches '
                     f'precision {precision:g}')
    if s.label_confidences:
        attributes['label_confidences'] = s.label_confidences
        lines.append('  (as in Viam, default_minimum_confidence is ignored while label_confidences is set, and '
                     'labels not in it are dropped: keep the one you want)')
    lines += json.dumps(attributes, indent=2).splitlines()
    return lines


def run(args):
    """Run the `evaluate` command; return the exit status."""
    if args.labels and len(args.labels) != len(args.model):
        write_line(f'error: {len(args.labels)} --labels for {len(args.model)} --model: give one per model, in the '
                   "same order ('' for a model's own labels)", sys.stderr)
        return 2
    try:
        dataset = load_dataset(args.dataset)
        names = model_names(args.model)
        results = []
        for name, path, labels in zip(names, args.model, args.labels or [''] * len(args.model)):
            config = ModelConfig(resolve_path(path, args.packages_dir),
                                 resolve_path(labels, args.packages_dir) if labels else '')
            results.append(evaluate(name, load_model(config), dataset))
    except DatasetError as e:
        write_line(f'error: {args.dataset}: {len(e.problems)} problem(s):', sys.stderr)
        for problem in e.problems:
            write_line(f'  {problem}', sys.stderr)
        return 2
    except (ModelError, PathError) as e:
        write_line(f'error: {e}', sys.stderr)
        return 2
    for result in results:
        if result.failures:
            write_line(f'warning: {result.name}: {len(result.failures)} image(s) not read', sys.stderr)
            for line in _shown([f'{path}: {cause}' for path, cause in result.failures]):
                write_line(f'  {line}', sys.stderr)
    write_line(f'{args.dataset}: {len(dataset.images)} images of {len(dataset.classes)} classes')
    for line in table(results, dataset):
        write_line(line)
    for result in results:
        write_line(f'{result.name}: most wrong')
        for line in worst(result, args.worst) or ['  none']:
            write_line(line)
    from vision_classifier.tools.plots import confusion_plot, precision_recall_plot
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suggestions = {}
    if args.precision is not None:
        for result in results:
            suggestions[result.name] = evaluation.suggest(result.outcomes, args.precision)
            for line in suggestion_lines(result, suggestions[result.name]):
                write_line(line)
    written = [confusion_plot(r, out / f'confusion_{r.name}.png', MAX_CONFUSION_CLASSES)
               for r in results]
    written.append(precision_recall_plot(results, out / 'precision_recall.png', args.precision, suggestions))
    for path in written:
        write_line(f'wrote {path}')
    return 0
