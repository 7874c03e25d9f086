"""`vision_classifier run` prints at most one result line a second per vision service, every result with --echo."""
import json
import re
import subprocess
import sys


from support import REPO, TEST_DIR


CONFIG = {
    'components': [{'name': 'cam', 'type': 'camera', 'model': 'fake',
                    'attributes': {'width': 64, 'height': 48, 'frame_rate': 20}}],
    'services': [
        {'name': 'model', 'type': 'mlmodel', 'model': 'tflite_cpu',
         'attributes': {'model_path': str(TEST_DIR / 'fixtures' / 'models' / 'with_metadata.tflite')}},
        {'name': 'vision', 'type': 'vision', 'model': 'mlmodel',
         'attributes': {'mlmodel_name': 'model', 'camera_name': 'cam'}}],
}
RESULT_LINE = re.compile(r'^\[vision\] cam @ \d+\.\d{3}: \w+ \d\.\d\d', re.M)


def result_lines(tmp_path, *options, seconds=4):
    config = tmp_path / 'robot.json'
    config.write_text(json.dumps(CONFIG))
    result = subprocess.run([sys.executable, '-m', 'vision_classifier', 'run', str(config), '--duration', str(seconds),
                             *options], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    return RESULT_LINE.findall(result.stdout), result.stdout


def test_results_are_printed_at_most_once_a_second_unless_echo(tmp_path):
    quiet, out = result_lines(tmp_path)
    assert 1 <= len(quiet) <= 5, out
    every, out = result_lines(tmp_path, '--echo')
    assert len(every) > 2 * len(quiet), out
