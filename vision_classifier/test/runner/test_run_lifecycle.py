"""
`vision_classifier run` stops cleanly: exit 0 and no error output on Ctrl-C, SIGTERM and --duration.

For each config shape, 20 stops in all (each in its own process, stopped at a varying point while it runs).
"""
import json
import random
import signal
import subprocess
import sys
import time

import pytest
from support import fixture_model, PACKAGE, REPO, TIMEOUT


MODEL = {'name': 'model', 'type': 'mlmodel', 'model': 'tflite_cpu',
         'attributes': {'model_path': fixture_model('float_nhwc_logits.tflite')}}
CLASSIFIER = {'name': 'my_classifier', 'type': 'vision', 'model': 'mlmodel', 'attributes': {'mlmodel_name': 'model'}}
CAMERA = {'name': 'cam', 'type': 'camera', 'model': 'fake', 'attributes': {'width': 64, 'height': 48,
                                                                           'frame_rate': 30}}
OVERLAY = {'name': 'overlay_cam', 'type': 'camera', 'model': 'transform', 'attributes': {
    'source': 'cam', 'pipeline': [{'type': 'classifications', 'attributes': {'classifier_name': 'my_classifier'}}]}}
SHAPES = {
    'classifier_only': {'services': [MODEL, CLASSIFIER]},
    'camera_only': {'components': [CAMERA]},
    'seed_like': {'components': [CAMERA, OVERLAY], 'services': [MODEL, CLASSIFIER]},
    'default': None,  # config/default.json
}
BAD_OUTPUT = ('terminate called', 'Traceback', 'never retrieved', 'Destroyable', 'Error', 'exception')
STARTED = 'running'  # the runner's line once all nodes spin
rng = random.Random(20)


def start(tmp_path, shape, *options):
    config = PACKAGE / 'config' / 'default.json'
    if SHAPES[shape] is not None:
        config = tmp_path / f'{shape}.json'
        config.write_text(json.dumps(SHAPES[shape]))
    log = open(tmp_path / 'run.log', 'w+')
    process = subprocess.Popen([sys.executable, '-m', 'vision_classifier', 'run', str(config), *options],
                               stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    return process, log


def output(log):
    log.flush()
    log.seek(0)
    return log.read()


def wait_for(process, log, text, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if text in output(log):
            return True
        time.sleep(0.05)
    return text in output(log)


def check_clean(process, log, shape):
    try:
        status = process.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f'{shape} did not stop within {TIMEOUT:g} s:\n{output(log)}')
    text = output(log)
    assert status == 0, f'{shape} exited with {status}:\n{text}'
    assert not [line for line in text.splitlines() if any(bad in line for bad in BAD_OUTPUT)], f'{shape}:\n{text}'


@pytest.mark.parametrize('stop', ['ctrl_c', 'sigterm', 'duration', 'ctrl_c_again', 'sigterm_again'])
def test_run_stops_cleanly_for_every_config_shape(tmp_path, stop):
    """Check the four shapes run side by side, each stopped its own way; 5 rounds x 4 shapes = 20 stops."""
    options = ('--duration', '0.5') if stop == 'duration' else ()
    runs = {}
    for shape in SHAPES:
        (tmp_path / shape).mkdir()
        runs[shape] = start(tmp_path / shape, shape, *options)
    for shape, (process, log) in runs.items():
        assert wait_for(process, log, STARTED), f'{shape}:\n{output(log)}'
        if stop != 'duration':
            time.sleep(rng.uniform(0.0, 0.3))  # a different point of the run each time, not a timing assertion
            process.send_signal(signal.SIGINT if stop.startswith('ctrl_c') else signal.SIGTERM)
    for shape, (process, log) in runs.items():
        check_clean(process, log, shape)


def test_a_start_error_names_the_node_as_the_config_names_it(tmp_path):
    (tmp_path / 'not_a_folder').write_text('')
    overlay = json.loads(json.dumps(OVERLAY))
    overlay['attributes']['output_dir'] = str(tmp_path / 'not_a_folder')
    SHAPES['bad_output_dir'] = {'components': [CAMERA, overlay], 'services': [MODEL, CLASSIFIER]}
    try:
        process, log = start(tmp_path, 'bad_output_dir')
        assert process.wait(TIMEOUT) == 1
    finally:
        del SHAPES['bad_output_dir']
    text = output(log)
    assert f'[overlay_cam] cannot start: output_dir {tmp_path}/not_a_folder' in text, text
    assert 'Traceback' not in text
