"""Issue 15's config under `vision_classifier run`: one vision service, two transform cameras of two sources."""
import json
import re

import pytest

from support import CAT_CLASSES, DEFAULT_MODEL, PHOTOS
from test_live_config import RunLog, save
from vision_classifier.client import VisionClient, VisionServiceError

LINE = re.compile(r'^\[my_classifier\] (cam\d) @ [\d.]+: (\S[^,]*?) \d\.\d\d')


def transform(name, source):
    return {'name': name, 'type': 'camera', 'model': 'transform', 'attributes': {
        'source': source, 'pipeline': [{'type': 'classifications', 'attributes': {
            'classifier_name': 'my_classifier', 'confidence_threshold': 0.1,
            'result_timeout': 3600}}]}}  # the config, but a slow machine's results are awaited


def config(*transforms):
    return {'components': [
        {'name': 'cam1', 'type': 'camera', 'model': 'image_file',
         'attributes': {'color_image_file_path': str(PHOTOS / 'coffee.png'), 'frame_rate': 5}},
        {'name': 'cam2', 'type': 'camera', 'model': 'image_file',
         'attributes': {'color_image_file_path': str(PHOTOS / 'chelsea.png'), 'frame_rate': 5}},
        *transforms],
        'services': [
            {'name': 'm', 'type': 'mlmodel', 'model': 'tflite_cpu', 'attributes': {'model_path': str(DEFAULT_MODEL)}},
            {'name': 'my_classifier', 'type': 'vision', 'model': 'mlmodel', 'attributes': {'mlmodel_name': 'm'}}]}


def top_classes(lines, start=0):
    """Return {camera: set of top classes} of the result lines from `start` on."""
    found = {}
    for line in lines[start:]:
        match = LINE.match(line)
        if match:
            found.setdefault(match[1], set()).add(match[2])
    return found


def test_one_classifier_serves_both_cameras_and_edits_add_and_remove_a_camera(tmp_path, start_node, ros):
    path = tmp_path / 'robot.json'
    save(path, config(transform('t1', 'cam1'), transform('t2', 'cam2')))
    run = start_node('vision_classifier', args=['run', str(path), '--echo', '--save-dir', str(tmp_path / 'frames')],
                     name='run')
    log = RunLog(run)
    both = log.wait(lambda lines: (lambda f: f if {'cam1', 'cam2'} <= set(f) else None)(top_classes(lines)),
                    'results of both cameras', timeout=120)
    assert both['cam1'] == {'espresso'} and both['cam2'] <= CAT_CLASSES, both
    assert run.log().count('efficientnet_lite0.tflite: 1000 classes') == 1, 'one classifier, one model'
    assert '[my_classifier]' in run.log() and 'running 5 node(s): cam1, cam2, t1, t2, my_classifier' in run.log()
    log.wait(lambda lines: all(list((tmp_path / 'frames' / t).glob('frame_*.png')) for t in ('t1', 't2')),
             'annotated frames of both transform cameras', timeout=120)

    import rclpy
    node = rclpy.create_node('my_program', context=ros.context)  # spun by the client's calls, as in a script
    vision = VisionClient(node, 'my_classifier')
    assert vision.get_classifications_from_camera('cam2', n=1, timeout=60)[0].class_name in CAT_CLASSES
    assert vision.get_classifications_from_camera('cam1', n=1, timeout=60)[0].class_name == 'espresso'
    assert vision.get_classifications_from_camera('t1', n=1, timeout=60), 'a transform camera, on demand'
    with pytest.raises(VisionServiceError, match='unknown camera "nope": this vision service classifies cameras '
                                                 '"cam1" \\(topic /cam1/image_raw\\), "cam2"'):
        vision.get_classifications_from_camera('nope', timeout=60)

    mark = len(log.lines())
    save(path, config(transform('t1', 'cam1')))
    removed = log.wait_line('my_classifier: cameras', mark)
    assert "['cam1=/cam1/image_raw', 'cam2=/cam2/image_raw'] -> ['cam1=/cam1/image_raw']" in log.lines()[removed]
    log.wait_line('removed t2', mark)
    mark = len(log.lines())
    save(path, config(transform('t1', 'cam1'), transform('t2', 'cam2')))
    log.wait_line('added t2', mark)
    log.wait(lambda lines: 'cam2' in top_classes(lines, mark), 'cam2 classified again', timeout=120)
    assert 'replaced my_classifier' not in run.log() and 'model:' not in run.log(), 'no model reload'
    assert json.loads(path.read_text())  # the config the run ends with
    assert run.stop() == 0
