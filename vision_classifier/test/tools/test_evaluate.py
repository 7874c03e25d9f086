"""
`vision_classifier evaluate` on class folders and a CSV made from the sample photos.

The table, both plots, models side by side, and suggested thresholds that reach the requested precision on that data,
checked by classifying the images again with those thresholds as the vision service applies them
(core.vision.select).
"""
import json
import math
import re

from bag_frames import run_cli
import cv2
import numpy as np
import pytest
from support import fixture_model, PHOTOS
from vision_classifier.core.image_files import list_images
from vision_classifier.core.tflite_model import load_model, ModelConfig
from vision_classifier.core.vision import select, Thresholds
from vision_classifier.tools.evaluate import decode_file

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
# folder: (photo, the label it means); two names differ from the label and are mapped in labels_map.json
PHOTO_CLASSES = {'Espresso': ('coffee.png', 'espresso'), 'cat': ('chelsea.png', 'tabby'),
                 'missile': ('rocket.jpg', 'missile'), 'motor_bike': ('motorcycle_left.png', 'moped')}
COLORS = ('red', 'green', 'blue', 'gray')


def variants(bgr):
    """Return views of a photo as a dataset would have them: flipped, cropped, darker, a half, small, turned."""
    h, w = bgr.shape[:2]
    return {'flip': bgr[:, ::-1], 'crop': bgr[h // 6:-h // 6, w // 6:-w // 6], 'dark': (bgr * 0.5).astype(np.uint8),
            'left': bgr[:, :w // 2], 'small': cv2.resize(bgr, (w // 4, h // 4)),
            'turned': cv2.rotate(bgr, cv2.ROTATE_90_CLOCKWISE)}


def photo_dataset(root):
    for folder, (photo, _) in PHOTO_CLASSES.items():
        bgr = cv2.imread(str(PHOTOS / photo))
        (root / folder).mkdir(parents=True)
        cv2.imwrite(str(root / folder / 'original.png'), bgr)
        cv2.imwrite(str(root / folder / 'original.bmp'), bgr)  # not JPEG or PNG: decoded, as a raw Image
        for name, image in variants(bgr).items():
            cv2.imwrite(str(root / folder / f'{name}.jpg'), image)
    (root / 'labels_map.json').write_text(json.dumps({'cat': 'tabby', 'motor_bike': 'moped'}))
    return root


def color_dataset(root):
    """Write photos tinted red, green or blue, or made gray: the classes of the small test models."""
    tints = {'red': (0.3, 0.3, 1.0), 'green': (0.3, 1.0, 0.3), 'blue': (1.0, 0.3, 0.3)}  # BGR
    for color in COLORS:
        (root / color).mkdir(parents=True)
        for photo in list_images(PHOTOS):
            bgr = cv2.imread(str(photo)).astype(np.float32)
            image = cv2.cvtColor(cv2.cvtColor(bgr.astype(np.uint8), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) \
                if color == 'gray' else (bgr * np.array(tints[color], np.float32)).astype(np.uint8)
            cv2.imwrite(str(root / color / f'{photo.stem}.jpg'), image)
    return root


def check_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and 5_000 < len(data) < 1_000_000, (path, len(data))
    height, width = cv2.imread(str(path)).shape[:2]
    assert 200 <= height <= 2000 and 300 <= width <= 2000, (path, width, height)


def snippets(stdout):
    """Return the JSON objects printed (the suggested attributes), in order."""
    return [json.loads(block) for block in re.findall(r'^\{$.*?^\}$', stdout, re.MULTILINE | re.DOTALL)]


def first_reported(model, images, thresholds):
    """Return (reported label or None, true label) per image, as the vision service would report it first."""
    found = []
    for path, truth in images:
        image = decode_file(path, model)
        results = select(model.scores(image.pixels, image.order), model.labels, 1, thresholds)
        found.append((results[0].class_name if results else None, truth))
    return found


def precision(pairs, label=None):
    made = [(got, truth) for got, truth in pairs if got is not None and (label is None or got == label)]
    return sum(got == truth for got, truth in made) / len(made) if made else math.nan


@pytest.mark.parametrize('wanted', [0.75, 0.95])
def test_class_folders_give_the_table_both_plots_and_thresholds_that_reach_the_precision(
        tmp_path, default_model, wanted):
    dataset = photo_dataset(tmp_path / 'photos')
    out = tmp_path / 'plots'
    result = run_cli('evaluate', dataset, '--model', default_model, '--precision', wanted, '--out', out)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f'{dataset}: 32 images of 4 classes'
    assert lines[1].split() == ['efficientnet_lite0']
    model = load_model(ModelConfig(default_model))
    images = [(path, PHOTO_CLASSES[path.parent.name][1]) for path in sorted(dataset.glob('*/*.*'))]
    top = first_reported(model, images, Thresholds())
    top1 = sum(got == truth for got, truth in top) / len(top)
    assert re.search(rf'^top-1 accuracy +{100 * top1:.1f}%$', result.stdout, re.MULTILINE), result.stdout
    assert re.search(r'^top-5 accuracy +\d+\.\d%$', result.stdout, re.MULTILINE)
    assert re.search(r'^images/s +\d+\.\d$', result.stdout, re.MULTILINE)
    for folder in PHOTO_CLASSES:
        assert re.search(rf'^  {folder} \(8\) +(-|\d\.\d\d) / \d\.\d\d$', result.stdout, re.MULTILINE), folder
    assert 'efficientnet_lite0: most wrong' in result.stdout
    check_png(out / 'confusion_efficientnet_lite0.png')
    check_png(out / 'precision_recall.png')

    attributes, = snippets(result.stdout)
    if 'default_minimum_confidence' in attributes:
        pairs = first_reported(model, images, Thresholds.create(attributes['default_minimum_confidence']))
        assert precision(pairs) >= wanted, pairs
    per_label = attributes['label_confidences']
    assert per_label, result.stdout
    pairs = first_reported(model, images, Thresholds.create(0.0, per_label))
    for label in per_label:
        assert precision(pairs, label) >= wanted or math.isnan(precision(pairs, label)), (label, pairs)
    assert {got for got, _ in pairs} <= set(per_label) | {None}


def test_models_side_by_side_from_folders_or_a_csv(tmp_path):
    dataset = color_dataset(tmp_path / 'colors')
    labels = tmp_path / 'colors.txt'
    labels.write_text('\n'.join(COLORS))
    models = ('--model', fixture_model('with_metadata.tflite'), '--model', fixture_model('uint8_quant.tflite'),
              '--labels', '', '--labels', labels)
    result = run_cli('evaluate', dataset, *models, '--out', tmp_path / 'plots')
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[1].split() == ['with_metadata', 'uint8_quant']
    for color in COLORS:
        assert re.search(rf'^  {color} \(4\)( +(-|\d\.\d\d) / \d\.\d\d){{2}}$', result.stdout, re.MULTILINE), color
    for name in ('confusion_with_metadata.png', 'confusion_uint8_quant.png', 'precision_recall.png'):
        check_png(tmp_path / 'plots' / name)

    table = tmp_path / 'colors.csv'
    table.write_text('path,label\n' + ''.join(f'colors/{p.parent.name}/{p.name},{p.parent.name}\n'
                                              for p in sorted(dataset.glob('*/*.jpg'))))
    from_csv = run_cli('evaluate', table, *models, '--out', tmp_path / 'plots2')
    assert from_csv.returncode == 0, from_csv.stderr

    def without_speed(text):
        return [line for line in text.splitlines()[1:] if not line.startswith(('images/s', 'wrote '))]
    assert without_speed(from_csv.stdout) == without_speed(result.stdout)


def test_classes_that_are_no_labels_and_wrong_options_give_clear_errors(tmp_path, default_model):
    dataset = photo_dataset(tmp_path / 'photos')
    (dataset / 'labels_map.json').unlink()
    result = run_cli('evaluate', dataset, '--model', default_model, '--out', tmp_path / 'plots')
    assert result.returncode == 2
    assert f'error: {dataset}: 2 problem(s):' in result.stderr
    assert ('class "motor_bike": no such label in efficientnet_lite0; closest: \'' in result.stderr
            and 'map it in labels_map.json' in result.stderr), result.stderr
    result = run_cli('evaluate', dataset, '--model', default_model, '--model', default_model, '--labels', 'x.txt')
    assert result.returncode == 2 and '1 --labels for 2 --model' in result.stderr
    result = run_cli('evaluate', tmp_path / 'none', '--model', default_model)
    assert result.returncode == 2 and 'no such folder or CSV file' in result.stderr
    assert 'Traceback' not in result.stderr
