import copy
import shutil

import pytest

from conftest import fixture_model, PACKAGES_DIR, ROOT
from vision_classifier.config import ConfigError, load, translate


@pytest.fixture
def packages(tmp_path):
    """A packages folder holding Viam's placeholder package `<model-name>` with a model and labels."""
    folder = tmp_path / 'packages' / '<model-name>'
    folder.mkdir(parents=True)
    shutil.copy(fixture_model('float_nhwc_logits.tflite'), folder / '<model-name>.tflite')
    (folder / 'labels.txt').write_text('red\ngreen\nblue\ngray\n')
    return str(tmp_path / 'packages')


SEED_MLMODEL = {'name': 'fruit_classifier', 'type': 'mlmodel', 'model': 'tflite_cpu',
                'attributes': {'model_path': '${packages.<model-name>}/<model-name>.tflite',
                               'label_path': '${packages.<model-name>}/labels.txt', 'num_threads': 1}}
SEED_TRANSFORM = {'pipeline': [{'type': 'classifications',
                                'attributes': {'confidence_threshold': 0.5, 'classifier_name': 'my_classifier'}}],
                  'source': 'cam1'}


def seed_config():
    return copy.deepcopy({
        'components': [
            {'name': 'cam1', 'type': 'camera', 'model': 'webcam', 'attributes': {'video_path': '/dev/video0'}},
            {'name': 'overlay_cam', 'type': 'camera', 'model': 'transform', 'attributes': SEED_TRANSFORM},
        ],
        'services': [SEED_MLMODEL, {'name': 'my_classifier', 'type': 'vision', 'model': 'mlmodel',
                                    'attributes': {'mlmodel_name': 'fruit_classifier'}}],
    })


def test_seed_example_translates_to_named_nodes_and_wiring(packages):
    plan = translate(seed_config(), packages)
    assert [(n.name, n.executable) for n in plan.nodes] == [
        ('cam1', 'camera_node'), ('overlay_cam', 'overlay_node'), ('my_classifier', 'classifier_node')]
    classifier = plan.node('my_classifier')
    assert classifier.parameters['model_path'] == f'{packages}/<model-name>/<model-name>.tflite'
    assert classifier.parameters['label_path'] == f'{packages}/<model-name>/labels.txt'
    assert classifier.parameters['num_threads'] == 1
    assert dict(classifier.remappings) == {'image': '/cam1/image_raw'}
    camera = plan.node('cam1')
    assert camera.parameters['source_type'] == 'webcam' and camera.parameters['source_path'] == '/dev/video0'
    assert dict(camera.remappings) == {'image_raw': '/cam1/image_raw'}
    overlay = plan.node('overlay_cam')
    assert overlay.parameters == {'confidence_threshold': 0.5, 'max_classifications': 1}
    assert dict(overlay.remappings) == {'image': '/cam1/image_raw',
                                        'classifications': '/my_classifier/classifications'}
    assert plan.warnings == []


def test_mlmodel_and_vision_service_may_share_a_name(packages):
    vision = {'name': 'fruit_classifier', 'type': 'vision', 'model': 'mlmodel',
              'attributes': {'mlmodel_name': 'fruit_classifier'}}
    config = {'services': [copy.deepcopy(SEED_MLMODEL), vision]}
    plan = translate(config, packages)
    assert [(n.name, n.executable) for n in plan.nodes] == [('fruit_classifier', 'classifier_node')]
    assert dict(plan.node('fruit_classifier').remappings) == {'image': '/fruit_classifier/image'}


def test_vision_attributes_become_classifier_parameters(packages):
    config = seed_config()
    config['services'][1]['attributes'].update({
        'default_minimum_confidence': 0.2, 'label_confidences': {'Red': 0.3}, 'input_image_bgr': True,
        'input_image_mean_value': [0.4, 0.5, 0.6], 'input_image_std_dev': [0.2], 'remap_input_names': {}})
    config['components'][1]['attributes']['pipeline'][0]['attributes'].update(
        {'max_classifications': 7, 'valid_labels': ['red']})
    plan = translate(config, packages)
    p = plan.node('my_classifier').parameters
    assert p['default_minimum_confidence'] == 0.2 and p['label_confidences'] == ['Red:0.3']
    assert p['input_image_bgr'] is True and p['input_image_mean_value'] == [0.4, 0.5, 0.6]
    assert p['input_image_std_dev'] == [0.2]
    assert p['max_classifications'] == 7, 'the classifier sends at least what its overlays draw'
    assert plan.node('overlay_cam').parameters['valid_labels'] == ['red']
    assert plan.warnings == ['services[1].attributes.remap_input_names: unknown attribute for vision, ignored']


@pytest.mark.parametrize('model,attributes,expected', [
    ('image_file', {'color_image_file_path': '/data/a.png'},
     {'source_type': 'image_file', 'source_path': '/data/a.png'}),
    ('image_folder', {'folder_path': '/data', 'frame_rate': 2}, {'source_type': 'image_folder', 'frame_rate': 2.0}),
    ('video_file', {'video_path': '/data/v.mp4'}, {'source_type': 'video_file', 'frame_rate': 30.0}),
    ('fake', {'width': 320, 'height': 240}, {'source_type': 'fake', 'width': 320, 'height': 240}),
    ('webcam', {'width_px': 640, 'height_px': 480, 'frame_rate': 15},
     {'source_path': '', 'width': 640, 'height': 480, 'frame_rate': 15.0}),
    ('rdk:builtin:fake', {}, {'source_type': 'fake', 'frame_id': 'cam'}),
])
def test_camera_models(model, attributes, expected):
    plan = translate({'components': [{'name': 'cam', 'type': 'camera', 'model': model, 'attributes': attributes}]})
    parameters = plan.node('cam').parameters
    assert {key: parameters[key] for key in expected} == expected


def test_api_field_is_accepted_for_the_type():
    plan = translate({'components': [{'name': 'cam', 'api': 'rdk:component:camera', 'model': 'fake'}]})
    assert plan.node('cam').executable == 'camera_node'


def problems_of(config, packages=None):
    with pytest.raises(ConfigError) as error:
        translate(config, packages)
    return error.value.problems


@pytest.mark.parametrize('change,problem', [
    (lambda c: c['services'].append({'name': 'x', 'type': 'navigation', 'model': 'y'}),
     'services[2].type: unknown service type "navigation" (supported: mlmodel, vision)'),
    (lambda c: c['services'][0].update(model='onnx_cpu'),
     'services[0].model: unknown mlmodel model "onnx_cpu" (supported: tflite_cpu)'),
    (lambda c: c['components'][0].update(model='realsense'),
     'components[0].model: unknown camera model "realsense"'),
    (lambda c: c['components'][0].update(type='arm'), 'components[0].type: unknown component type "arm"'),
    (lambda c: c['services'][0]['attributes'].pop('model_path'), 'services[0].attributes.model_path: required'),
    (lambda c: c['services'][0]['attributes'].update(num_threads='2'),
     'services[0].attributes.num_threads: expected an integer of at least 1, got "2"'),
    (lambda c: c['services'][0]['attributes'].update(num_threads=0),
     'services[0].attributes.num_threads: expected an integer of at least 1, got 0'),
    (lambda c: c['services'][1]['attributes'].update(mlmodel_name='x'),
     'services[1].attributes.mlmodel_name: no mlmodel service named "x"'),
    (lambda c: c['components'][1]['attributes'].update(source='nocam'),
     'components[1].attributes.source: no camera named "nocam"'),
    (lambda c: c['components'][1]['attributes']['pipeline'][0]['attributes'].update(classifier_name='nope'),
     'components[1].attributes.pipeline[0].attributes.classifier_name: no vision service named "nope"'),
    (lambda c: c['components'][1]['attributes']['pipeline'][0]['attributes'].update(confidence_threshold=2),
     'components[1].attributes.pipeline[0].attributes.confidence_threshold: expected a number from 0 to 1, got 2'),
    (lambda c: c['components'][1]['attributes']['pipeline'][0].update(type='detections'),
     'components[1].attributes.pipeline[0].type: unsupported step type "detections"'),
    (lambda c: c['services'].append(copy.deepcopy(SEED_MLMODEL)),
     'services[2].name: duplicate mlmodel service name "fruit_classifier" (also services[0])'),
    (lambda c: c['components'].append({'name': 'my_classifier', 'type': 'camera', 'model': 'fake'}),
     'components[2].name: "my_classifier" is also the vision service services[1]'),
    (lambda c: c['components'][0].update(name='front-cam'),
     'components[0].name: "front-cam" is not a valid ROS node name'),
    (lambda c: c['services'][0]['attributes'].update(model_path='${packages.<model-name>}/missing.tflite'),
     'services[0].attributes.model_path: no such file'),
    (lambda c: c['services'][0]['attributes'].update(model_path='${packages.nowhere}/m.tflite'),
     'services[0].attributes.model_path: ${packages.nowhere}: no folder'),
    (lambda c: c['components'][0]['attributes'].update(frame_rate=-5),
     'components[0].attributes.frame_rate: expected a number above 0, got -5'),
    (lambda c: c['services'][1]['attributes'].update(label_confidences={'a': 3}),
     'services[1].attributes.label_confidences: expected an object of label: number from 0 to 1'),
    (lambda c: c['components'].append({'type': 'camera', 'model': 'fake'}), 'components[2].name: required'),
    (lambda c: c['services'][1]['attributes'].update(label_confidences={' ': 0.5}),
     'services[1].attributes.label_confidences: expected an object of label: number from 0 to 1'),
    (lambda c: (c['components'].append({'name': 'cam2', 'type': 'camera', 'model': 'fake'}),
                c['services'][1]['attributes'].update(camera_name='cam2')),
     'components[1].attributes.pipeline[0].attributes.classifier_name: vision service "my_classifier" classifies '
     'camera "cam2" (its camera_name), but this transform camera draws on "cam1"'),
    (lambda c: c['components'].append({'name': 'c2', 'type': 'camera', 'model': 'transform', 'attributes': {
        'source': 'c2', 'pipeline': [{'type': 'classifications', 'attributes': {'classifier_name': 'my_classifier'}}]
    }}), 'components[2].attributes.source: a transform camera cannot be its own source'),
    (lambda c: c['components'].extend([
        {'name': 'cam2', 'type': 'camera', 'model': 'fake'},
        {'name': 'overlay2', 'type': 'camera', 'model': 'transform', 'attributes': {
            'source': 'cam2', 'pipeline': [{'type': 'classifications',
                                            'attributes': {'classifier_name': 'my_classifier'}}]}}]),
     'vision service "my_classifier" would classify cameras cam1, cam2'),
])
def test_each_error_names_its_place(packages, change, problem):
    config = seed_config()
    change(config)
    problems = problems_of(config, packages)
    assert any(problem in p for p in problems), problems


def test_every_problem_is_reported_at_once(packages):
    config = seed_config()
    config['services'][0]['attributes']['num_threads'] = -1
    config['components'][1]['attributes']['source'] = 'nocam'
    config['services'][1]['attributes']['default_minimum_confidence'] = 'high'
    assert len(problems_of(config, packages)) == 3


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / 'robot.json'
    path.write_text('{"services": [\n  {"name": "x",}\n]}')
    with pytest.raises(ConfigError, match=r'robot.json: invalid JSON at line 2, column 16'):
        load(path)


def test_default_config_translates(default_model):
    """What the demo runs: the photos folder at 2 fps, the default model, an overlay drawing the top 3 above 0.1."""
    plan = translate(load(ROOT / 'config' / 'default.json'), str(PACKAGES_DIR))
    assert [(n.name, n.executable) for n in plan.nodes] == [
        ('photos', 'camera_node'), ('overlay_cam', 'overlay_node'), ('my_classifier', 'classifier_node')]
    assert plan.node('photos').parameters == {
        'source_type': 'image_folder', 'source_path': f'{PACKAGES_DIR}/sample_photos', 'width': 0, 'height': 0,
        'frame_rate': 2.0, 'frame_id': 'photos'}
    assert dict(plan.node('photos').remappings) == {'image_raw': '/photos/image_raw'}
    assert plan.node('overlay_cam').parameters == {'confidence_threshold': 0.1, 'max_classifications': 3}
    assert dict(plan.node('overlay_cam').remappings) == {
        'image': '/photos/image_raw', 'classifications': '/my_classifier/classifications'}
    classifier = plan.node('my_classifier').parameters
    assert classifier['model_path'] == f'{PACKAGES_DIR}/efficientnet_lite0/efficientnet_lite0.tflite'
    assert classifier['num_threads'] == 1 and classifier['label_path'] == ''
    assert classifier['max_classifications'] == 5, 'at least the 3 the overlay draws'
    assert classifier.get('default_minimum_confidence', 0.0) == 0.0 and not classifier.get('label_confidences')
    assert dict(plan.node('my_classifier').remappings) == {'image': '/photos/image_raw'}
    assert plan.warnings == []
