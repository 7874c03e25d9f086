import subprocess
import sys

from conftest import EXPECTED_TOP, FIXTURES, fixture_model, PHOTOS, ROOT


def run(*args):
    return subprocess.run([sys.executable, '-m', 'vision_classifier', *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_classify_prints_the_top_classes_of_each_photo(default_model):
    names = sorted(EXPECTED_TOP)
    result = run('classify', *(str(PHOTOS / n) for n in names), '--n', '2')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in names:
        at = next(i for i, line in enumerate(lines) if line.endswith(name))
        first = lines[at + 1].strip().rpartition(':')[0]
        assert first in EXPECTED_TOP[name]
        assert not lines[at + 3:at + 4] or not lines[at + 3].startswith('  ')
    # quiet: no LiteRT "INFO: Created TensorFlow Lite XNNPACK delegate" (libpng of some OpenCV builds warns about the
    # photos' colour profile: that is the image file's, not ours)
    assert [line for line in result.stderr.splitlines() if not line.startswith('libpng warning')] == [], result.stderr


def test_litert_lines_other_than_its_info_line_still_reach_stderr():
    """The filter drops LiteRT's one INFO line and passes on everything else written to the file descriptor."""
    code = ('import os; from vision_classifier.tflite_model import LITERT_INFO, without_litert_info\n'
            'with without_litert_info():\n'
            '    os.write(2, b"before\\n" + LITERT_INFO + b"\\nafter")\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0 and result.stderr == b'before\nafter', result.stderr


def test_classify_with_model_and_labels_options(tmp_path):
    import cv2
    import numpy as np
    red = tmp_path / 'red.png'
    cv2.imwrite(str(red), np.full((10, 10, 3), (0, 0, 255), np.uint8))
    result = run('classify', str(red), '--model', fixture_model('float_nhwc_logits.tflite'),
                 '--labels', str(FIXTURES / 'labels4.txt'), '--n', '1')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith('  alpha: ')


def test_classify_reports_a_missing_image_and_a_bad_model(tmp_path):
    result = run('classify', str(tmp_path / 'none.png'), '--model', fixture_model('float_nhwc_logits.tflite'))
    assert result.returncode == 1 and 'none.png: no such file' in result.stderr
    result = run('classify', 'x.png', '--model', str(tmp_path / 'none.tflite'))
    assert result.returncode == 2 and 'none.tflite: no such file' in result.stderr
    assert 'Traceback' not in result.stderr
