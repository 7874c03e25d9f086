"""The `vision_classifier` command: classify, the demo, the packages folder."""
import os
from pathlib import Path
import re
import subprocess
import sys

from support import EXPECTED_TOP, fixture_model, FIXTURES, PACKAGES_DIR, PHOTOS, REPO, TIMEOUT


def run(*args):
    return subprocess.run([sys.executable, '-m', 'vision_classifier', *args], capture_output=True, text=True,
                          cwd=REPO, timeout=TIMEOUT)


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
    """Check the filter drops LiteRT's one INFO line and passes on everything else written to the file descriptor."""
    code = ('import os; from vision_classifier.core.tflite_model import LITERT_INFO, without_litert_info\n'
            'with without_litert_info():\n'
            '    os.write(2, b"before\\n" + LITERT_INFO + b"\\nafter")\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, cwd=REPO, timeout=TIMEOUT)
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


def test_packages_dir_option_and_the_viam_packages_fallback(tmp_path):
    """
    Check `--packages-dir` resolves ${packages.<name>}, and ~/.viam/packages does without it.

    Without it and without $VISION_CLASSIFIER_PACKAGES_DIR, ~/.viam/packages does (where viam-server keeps them).
    """
    import os
    import shutil
    packages = tmp_path / 'mine'
    shutil.copytree(PACKAGES_DIR / 'efficientnet_lite0', packages / 'efficientnet_lite0')
    coffee = str(PHOTOS / 'coffee.png')
    result = run('classify', coffee, '--n', '1', '--packages-dir', str(packages))
    assert result.returncode == 0 and result.stdout.splitlines()[1].startswith('  espresso: '), result.stderr
    result = run('classify', coffee, '--packages-dir', str(tmp_path / 'empty'))
    assert result.returncode == 2 and f'no folder {tmp_path}/empty/efficientnet_lite0' in result.stderr

    home = tmp_path / 'home'
    (home / '.viam').mkdir(parents=True)
    packages.rename(home / '.viam' / 'packages')
    env = {k: v for k, v in os.environ.items() if k != 'VISION_CLASSIFIER_PACKAGES_DIR'}
    env['HOME'] = str(home)
    result = subprocess.run([sys.executable, '-m', 'vision_classifier', 'classify', coffee, '--n', '1'],
                            capture_output=True, text=True, cwd=REPO, timeout=TIMEOUT, env=env)
    assert result.returncode == 0 and result.stdout.splitlines()[1].startswith('  espresso: '), result.stderr


RESULT_LINE = re.compile(r'\[my_classifier\] photos @ (\d+\.\d{3}): (.+)')
CLASS = re.compile(r'(\S.*) (\d\.\d\d)')
SAVED_LINE = re.compile(r'overlay_cam: (\d+) annotated frames in (/.+)')


def test_demo_prints_each_result_and_where_the_annotated_frames_are(tmp_path):
    """
    Check the demo prints the lines the README shows.

    `[my_classifier] photos @ <stamp>: espresso 0.78, cup 0.15, ...` and `overlay_cam: 8 annotated frames in
    <folder>`.
    """
    result = subprocess.run([sys.executable, '-m', 'vision_classifier', 'demo', '--packages-dir', str(PACKAGES_DIR)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=5 * TIMEOUT,
                            env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / 'cache')))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    tops = set()
    results = [RESULT_LINE.fullmatch(line) for line in lines if line.startswith('[my_classifier]')]
    assert len(results) >= 2 and all(results), lines
    for match in results:
        found = [CLASS.fullmatch(item) for item in match.group(2).split(', ')]
        assert len(found) == 5 and all(found), match.group(0)  # the classifier's top 5, best first
        confidences = [float(f.group(2)) for f in found]
        assert confidences == sorted(confidences, reverse=True) and 0 < confidences[0] <= 1
        tops.add(found[0].group(1))
    assert len(tops) >= 2 and tops <= set().union(*EXPECTED_TOP.values(), {'moped'}), tops  # the photos' classes
    saved = [SAVED_LINE.fullmatch(line) for line in lines if ' annotated frames in ' in line]
    assert len(saved) == 1 and saved[0], lines
    count, folder = int(saved[0].group(1)), Path(saved[0].group(2))
    assert folder == tmp_path / 'cache' / 'vision_classifier' / 'annotated_frames' / 'overlay_cam'
    assert count >= 8 and count == len(list(folder.glob('frame_*.png')))
