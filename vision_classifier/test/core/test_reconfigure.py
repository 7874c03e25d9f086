"""
The plan diff of live reconfiguration (pure) and the model check.

Also the table of run-time parameters against the nodes' own declarations.
"""
import copy
from pathlib import Path
import shutil

import pytest
from support import fixture_model, FIXTURES, PHOTOS
from vision_classifier.core.config import translate
from vision_classifier.core.reconfigure import check_models, diff

LABELS4 = str(FIXTURES / 'labels4.txt')


@pytest.fixture
def base(tmp_path):
    """Return a config: a fake camera, a transform camera, a classifier with a 4-class fixture model."""
    model = tmp_path / 'colors.tflite'
    shutil.copy(fixture_model('float_nhwc_logits.tflite'), model)
    return {
        'components': [
            {'name': 'cam1', 'type': 'camera', 'model': 'fake', 'attributes': {'width': 64, 'height': 48}},
            {'name': 'overlay_cam', 'type': 'camera', 'model': 'transform', 'attributes': {
                'source': 'cam1', 'pipeline': [{'type': 'classifications', 'attributes': {
                    'classifier_name': 'my_classifier', 'confidence_threshold': 0.5}}]}},
        ],
        'services': [
            {'name': 'colors', 'type': 'mlmodel', 'model': 'tflite_cpu', 'attributes': {'model_path': str(model)}},
            {'name': 'my_classifier', 'type': 'vision', 'model': 'mlmodel',
             'attributes': {'mlmodel_name': 'colors', 'label_confidences': {'red': 0.2}}},
        ],
    }


def edited(config, edit):
    new = copy.deepcopy(config)
    edit(new)
    return new


def changes_between(config, edit):
    old = translate(config)
    new = translate(edited(config, edit))
    return diff(old, new), new


def attrs(config, name):
    entries = config['components'] + config['services']
    return next(e['attributes'] for e in entries if e['name'] == name)


def test_an_equal_config_changes_nothing(base):
    changes, _ = changes_between(base, lambda c: None)
    assert not changes and changes.lines == []


def test_thresholds_become_parameter_changes_of_their_nodes_only(base):
    def edit(c):
        attrs(c, 'my_classifier')['default_minimum_confidence'] = 0.3
        attrs(c, 'overlay_cam')['pipeline'][0]['attributes'].update(confidence_threshold=0.7, max_classifications=3)
    changes, _ = changes_between(base, edit)
    assert changes.parameters == {'my_classifier': {'default_minimum_confidence': 0.3},
                                  'overlay_cam': {'confidence_threshold': 0.7, 'max_classifications': 3}}
    assert changes.add == changes.remove == changes.replace == []
    assert changes.lines_of('my_classifier') == ['my_classifier: default_minimum_confidence 0.0 -> 0.3']
    assert changes.lines_of('cam1') == []


def test_a_dropped_parameter_returns_to_the_node_default(base):
    changes, _ = changes_between(base, lambda c: attrs(c, 'my_classifier').pop('label_confidences'))
    assert changes.parameters == {'my_classifier': {'label_confidences': []}}
    assert changes.lines_of('my_classifier') == ["my_classifier: label_confidences ['red:0.2'] -> [] (default)"]


def test_a_model_change_is_a_parameter_change_and_its_model_is_checked(base, tmp_path):
    def use(model, labels=None):
        def edit(c):
            attrs(c, 'colors')['model_path'] = str(model)
            if labels:
                attrs(c, 'colors')['label_path'] = str(labels)
        return edit

    changes, new = changes_between(base, use(fixture_model('uint8_quant.tflite'), LABELS4))
    assert changes.parameters == {'my_classifier': {'model_path': fixture_model('uint8_quant.tflite'),
                                                    'label_path': LABELS4}}
    assert check_models(changes, new) == []

    corrupt = tmp_path / 'corrupt.tflite'
    corrupt.write_bytes(b'\0\0\0\0TFL3' + bytes(range(256)))
    changes, new = changes_between(base, use(corrupt))
    assert check_models(changes, new) == [
        f'my_classifier: model_path {corrupt}: cannot load: The model is not a valid Flatbuffer buffer']

    changes, new = changes_between(base, use(fixture_model('two_outputs.tflite')))
    assert check_models(changes, new)[0].endswith('2 outputs and none named "probability": '
                                                  'expected one classification output')
    five = tmp_path / 'five.txt'
    five.write_text('a\nb\nc\nd\ne\n')
    changes, new = changes_between(base, lambda c: attrs(c, 'colors').update(label_path=str(five)))
    assert check_models(changes, new) == [f'my_classifier: label_path {five}: 5 labels, but the model outputs 4 values']


def test_threshold_changes_load_no_model(base):
    changes, new = changes_between(base, lambda c: attrs(c, 'my_classifier').update(default_minimum_confidence=0.1))
    Path(new.node('my_classifier').parameters['model_path']).write_bytes(b'')  # would fail if loaded
    assert check_models(changes, new) == []


def test_read_only_parameters_or_wiring_replace_the_node(base):
    changes, _ = changes_between(base, lambda c: attrs(c, 'cam1').update(width=32, frame_rate=5))
    assert [s.name for s in changes.replace] == ['cam1'] and not changes.parameters
    assert changes.lines_of('cam1') == ['replaced cam1 (frame_rate, width changed)']

    def to_image_file(c):
        c['components'][0].update(model='image_file', attributes={'color_image_file_path': str(PHOTOS / 'coffee.png')})
    changes, _ = changes_between(base, to_image_file)
    assert [s.name for s in changes.replace] == ['cam1']
    assert changes.lines_of('cam1') == ['replaced cam1 (height, source_path, source_type, width changed)']
    # the overlay and classifier read the same topic as before: untouched
    assert changes.lines_of('overlay_cam') == changes.lines_of('my_classifier') == []

    def second_camera(c):
        c['components'].append({'name': 'cam2', 'type': 'camera', 'model': 'fake'})
        attrs(c, 'overlay_cam')['source'] = 'cam2'
    changes, _ = changes_between(base, second_camera)
    assert [s.name for s in changes.add] == ['cam2']
    assert [s.name for s in changes.replace] == ['overlay_cam'], 'the classifier keeps its model'
    assert changes.parameters['my_classifier'] == {
        'camera_name': 'cam2', 'cameras': ['cam2=/cam2/image_raw'],
        'other_cameras': ['cam1=/cam1/image_raw', 'overlay_cam=/overlay_cam/image']}


def test_nodes_added_removed_and_a_name_that_changes_kind(base):
    def add_vision(c):
        c['services'].append({'name': 'second', 'type': 'vision', 'model': 'mlmodel',
                              'attributes': {'mlmodel_name': 'colors', 'camera_name': 'cam1'}})
    changes, new = changes_between(base, add_vision)
    assert [s.name for s in changes.add] == ['second'] and changes.add[0] == new.node('second')
    assert not (changes.remove or changes.replace or changes.parameters)
    assert changes.lines == [('second', 'added second (classifier_node)')]
    assert check_models(changes, new) == []

    changes, _ = changes_between(base, lambda c: c['components'].pop(1))
    assert changes.remove == ['overlay_cam'] and changes.lines_of('overlay_cam') == ['removed overlay_cam']

    def camera_becomes_vision_service(c):
        c['components'].pop(1)
        c['components'][0]['name'] = 'cam0'
        c['services'][1].update(name='cam1')
        attrs(c, 'cam1')['camera_name'] = 'cam0'
    changes, _ = changes_between(base, camera_becomes_vision_service)
    assert changes.lines_of('cam1') == ['replaced cam1 (camera_node -> classifier_node)']
    assert sorted(changes.remove) == ['my_classifier', 'overlay_cam'] and [s.name for s in changes.add] == ['cam0']
