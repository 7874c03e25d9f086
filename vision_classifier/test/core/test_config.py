import copy
import json
import shutil

import pytest
from support import fixture_model, PACKAGE, PACKAGES_DIR
from vision_classifier.core.config import ConfigError, load, load_models, translate, translate_file


@pytest.fixture
def packages(tmp_path):
    """Return a packages folder holding Viam's placeholder package `<model-name>` with a model and labels."""
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
    assert classifier.parameters['cameras'] == ['cam1=/cam1/image_raw'] and classifier.remappings == ()
    assert classifier.parameters['other_cameras'] == ['overlay_cam=/overlay_cam/image']
    assert classifier.parameters['qos_reliability'] == 'auto'
    camera = plan.node('cam1')
    assert camera.parameters['source_type'] == 'webcam' and camera.parameters['source_path'] == '/dev/video0'
    assert dict(camera.remappings) == {'image_raw': '/cam1/image_raw'}
    overlay = plan.node('overlay_cam')
    assert overlay.parameters == {'confidence_threshold': 0.5, 'max_classifications': 1, 'qos_reliability': 'auto'}
    assert dict(overlay.remappings) == {'image': '/cam1/image_raw', 'image/compressed': '/overlay_cam/image/compressed',
                                        'classifications': '/my_classifier/cam1/classifications'}
    assert plan.warnings == []


def two_cameras_config():
    """Issue 15's config: two transform cameras with different sources share one vision service."""
    step = [{'type': 'classifications',
             'attributes': {'classifier_name': 'my_classifier', 'confidence_threshold': 0.1}}]
    return {'components': [
        {'name': 'cam1', 'type': 'camera', 'model': 'fake', 'attributes': {}},
        {'name': 'cam2', 'type': 'camera', 'model': 'fake', 'attributes': {}},
        {'name': 't1', 'type': 'camera', 'model': 'transform', 'attributes': {'source': 'cam1', 'pipeline': step}},
        {'name': 't2', 'type': 'camera', 'model': 'transform', 'attributes': {'source': 'cam2', 'pipeline': step}}],
        'services': [SEED_MLMODEL, {'name': 'my_classifier', 'type': 'vision', 'model': 'mlmodel',
                                    'attributes': {'mlmodel_name': 'fruit_classifier'}}]}


def test_one_vision_service_classifies_the_sources_of_all_its_transform_cameras(packages):
    plan = translate(two_cameras_config(), packages)
    classifiers = [n for n in plan.nodes if n.executable == 'classifier_node']
    assert [n.name for n in classifiers] == ['my_classifier'], 'one node, one model, for both cameras'
    parameters = classifiers[0].parameters
    assert parameters['cameras'] == ['cam1=/cam1/image_raw', 'cam2=/cam2/image_raw']
    assert parameters['other_cameras'] == ['t1=/t1/image', 't2=/t2/image'] and parameters['camera_name'] == 'cam1'
    assert dict(plan.node('t1').remappings)['classifications'] == '/my_classifier/cam1/classifications'
    assert dict(plan.node('t2').remappings)['classifications'] == '/my_classifier/cam2/classifications'
    assert dict(plan.node('t2').remappings)['image'] == '/cam2/image_raw'


def test_camera_name_is_the_first_camera_and_transform_cameras_add_theirs(packages):
    config = two_cameras_config()
    config['services'][1]['attributes']['camera_name'] = 'cam2'
    del config['components'][3]
    parameters = translate(config, packages).node('my_classifier').parameters
    assert parameters['cameras'] == ['cam2=/cam2/image_raw', 'cam1=/cam1/image_raw']
    assert parameters['camera_name'] == 'cam2'


def test_the_classifier_knows_its_camera_by_name(packages):
    assert translate(seed_config(), packages).node('my_classifier').parameters['camera_name'] == 'cam1'
    config = seed_config()
    config['components'].pop()
    config['services'][1]['attributes']['camera_name'] = 'cam1'
    assert translate(config, packages).node('my_classifier').parameters['camera_name'] == 'cam1'
    config['services'][1]['attributes'].pop('camera_name')
    assert 'camera_name' not in translate(config, packages).node('my_classifier').parameters


def test_mlmodel_and_vision_service_may_share_a_name(packages):
    vision = {'name': 'fruit_classifier', 'type': 'vision', 'model': 'mlmodel',
              'attributes': {'mlmodel_name': 'fruit_classifier'}}
    config = {'services': [copy.deepcopy(SEED_MLMODEL), vision]}
    plan = translate(config, packages)
    assert [(n.name, n.executable) for n in plan.nodes] == [('fruit_classifier', 'classifier_node')]
    assert dict(plan.node('fruit_classifier').remappings) == {
        'image': '/fruit_classifier/image', 'image/compressed': '/fruit_classifier/image/compressed'}


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
    (lambda c: c['services'][0].update(model='onnx_cpu'),
     'services[1].attributes.mlmodel_name: "fruit_classifier" is services[0] (mlmodel, model "onnx_cpu"), '
     'which is not run'),
    (lambda c: c['components'][0].update(model='realsense'),
     'components[1].attributes.source: "cam1" is components[0] (camera, model "realsense"), which is not run'),
    (lambda c: c['components'][0].update(type='arm'),
     'components[1].attributes.source: "cam1" is components[0] (arm, model "webcam"), which is not run'),
    (lambda c: c['services'][1].update(model='detector'),
     'components[1].attributes.pipeline[0].attributes.classifier_name: "my_classifier" is services[1] (vision, '),
    (lambda c: c['services'][1]['attributes'].update(mlmodel_name=None, mlmodel_nmae='fruit_classifier'),
     'services[1].attributes.mlmodel_name: required ("mlmodel_nmae" is not a known attribute: a misspelling?)'),
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
    (lambda c: c['components'].append({'name': 'c2', 'type': 'camera', 'model': 'transform', 'attributes': {
        'source': 'c2', 'pipeline': [{'type': 'classifications', 'attributes': {'classifier_name': 'my_classifier'}}]
    }}), 'components[2].attributes.source: a transform camera cannot be its own source'),
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
    with pytest.raises(ConfigError, match=r'robot.json: invalid JSON at line 2, column 1[56]'):
        load(path)


def test_default_config_translates(default_model):
    """What the demo runs: the photos folder at 2 fps, the default model, an overlay drawing the top 3 above 0.1."""
    plan = translate(load(PACKAGE / 'config' / 'default.json'), str(PACKAGES_DIR))
    assert [(n.name, n.executable) for n in plan.nodes] == [
        ('photos', 'camera_node'), ('overlay_cam', 'overlay_node'), ('my_classifier', 'classifier_node')]
    assert plan.node('photos').parameters == {
        'source_type': 'image_folder', 'source_path': f'{PACKAGES_DIR}/sample_photos', 'width': 0, 'height': 0,
        'frame_rate': 2.0, 'frame_id': 'photos'}
    assert dict(plan.node('photos').remappings) == {'image_raw': '/photos/image_raw'}
    assert plan.node('overlay_cam').parameters == {'confidence_threshold': 0.1, 'max_classifications': 3,
                                                   'qos_reliability': 'auto'}
    assert dict(plan.node('overlay_cam').remappings) == {
        'image': '/photos/image_raw', 'image/compressed': '/overlay_cam/image/compressed',
        'classifications': '/my_classifier/photos/classifications'}
    classifier = plan.node('my_classifier').parameters
    assert classifier['model_path'] == f'{PACKAGES_DIR}/efficientnet_lite0/efficientnet_lite0.tflite'
    assert classifier['num_threads'] == 1 and classifier['label_path'] == ''
    assert classifier['max_classifications'] == 5, 'at least the 3 the overlay draws'
    assert classifier.get('default_minimum_confidence', 0.0) == 0.0 and not classifier.get('label_confidences')
    assert classifier['camera_name'] == 'photos' and classifier['qos_reliability'] == 'auto'
    assert classifier['cameras'] == ['photos=/photos/image_raw'] and plan.node('my_classifier').remappings == ()
    assert classifier['other_cameras'] == ['overlay_cam=/overlay_cam/image']
    assert plan.warnings == []


def ros_topic_config(camera_attributes, **vision_attributes):
    """Return a config: a vision service classifying an existing ROS topic, drawn on by a transform camera."""
    config = seed_config()
    config['components'][0] = {'name': 'cam1', 'type': 'camera', 'model': 'ros_topic',
                               'attributes': camera_attributes}
    config['services'][1]['attributes'].update(vision_attributes)
    return config


@pytest.mark.parametrize('attributes,expected_input,reliability,camera', [
    ({'topic': '/usb_cam/image_raw'}, ('image', '/usb_cam/image_raw'), 'auto', 'cam1=/usb_cam/image_raw'),
    ({'topic': 'usb_cam/image_raw', 'qos_reliability': 'best_effort'}, ('image', '/usb_cam/image_raw'),
     'best_effort', 'cam1=/usb_cam/image_raw qos_reliability=best_effort'),
    ({'topic': '/usb_cam/image_raw/compressed'}, ('image/compressed', '/usb_cam/image_raw/compressed'), 'auto',
     'cam1=/usb_cam/image_raw/compressed'),
    ({'topic': '/gst/jpeg', 'format': 'compressed', 'qos_reliability': 'reliable'},
     ('image/compressed', '/gst/jpeg'), 'reliable', 'cam1=/gst/jpeg qos_reliability=reliable transport=compressed'),
    ({'topic': '/odd/compressed', 'format': 'raw'}, ('image', '/odd/compressed'), 'auto',
     'cam1=/odd/compressed transport=raw'),
])
def test_ros_topic_camera_starts_no_node_and_wires_its_topic(packages, attributes, expected_input, reliability,
                                                             camera):
    plan = translate(ros_topic_config(attributes), packages)
    assert [n.name for n in plan.nodes] == ['overlay_cam', 'my_classifier'], 'no camera node for a ROS topic'
    overlay = plan.node('overlay_cam')
    quiet = {'image': '/overlay_cam/image', 'image/compressed': '/overlay_cam/image/compressed'}
    assert {k: v for k, v in overlay.remappings if k.startswith('image')} == dict(quiet, **dict([expected_input]))
    assert overlay.parameters['qos_reliability'] == reliability
    classifier = plan.node('my_classifier')
    assert classifier.parameters['cameras'] == [camera] and classifier.parameters['qos_reliability'] == 'auto'
    assert plan.warnings == []


def test_ros_topic_camera_as_camera_name_and_the_default_reliability(packages):
    config = ros_topic_config({'topic': '/front/image_raw'}, camera_name='cam1')
    del config['components'][1]
    plan = translate(config, packages, qos_reliability='best_effort')
    assert plan.node('my_classifier').parameters['cameras'] == ['cam1=/front/image_raw']
    assert plan.node('my_classifier').parameters['qos_reliability'] == 'best_effort'


@pytest.mark.parametrize('attributes,problem', [
    ({}, 'components[0].attributes.topic: required'),
    ({'topic': '/a b'}, 'components[0].attributes.topic: expected a ROS topic name'),
    ({'topic': '/a', 'qos_reliability': 'sometimes'},
     'components[0].attributes.qos_reliability: expected one of auto, reliable, best_effort, got "sometimes"'),
    ({'topic': '/a', 'format': 'jpeg'}, 'components[0].attributes.format: expected one of raw, compressed'),
])
def test_ros_topic_camera_errors(packages, attributes, problem):
    assert problem in '\n'.join(problems_of(ros_topic_config(attributes), packages))


def test_a_whole_machine_config_runs_what_it_can_and_warns_once_per_other_resource(packages):
    config = seed_config()
    config['components'] += [
        {'name': 'board1', 'type': 'board', 'model': 'pi', 'attributes': {'pins': [1, 2]}},
        {'name': 'left', 'api': 'rdk:component:motor', 'model': 'gpio', 'attributes': {}},
        {'name': 'arm1', 'type': 'arm', 'model': 'ur5e'},
        {'name': 'depth', 'type': 'camera', 'model': 'realsense', 'attributes': {'sensors': ['depth']}},
    ]
    config['services'] += [{'name': 'nav', 'type': 'navigation', 'model': 'builtin'},
                           {'name': 'onnx', 'type': 'mlmodel', 'model': 'onnx_cpu'}]
    config['modules'] = [{'name': 'realsense', 'executable_path': '/opt/rs'}]
    plan = translate(config, packages)
    assert [n.name for n in plan.nodes] == ['cam1', 'overlay_cam', 'my_classifier']
    assert plan.warnings == [
        'services[2]: navigation "nav" (model "builtin") ignored: vision_classifier runs mlmodel and vision services',
        'services[3]: mlmodel "onnx" (model "onnx_cpu") ignored: vision_classifier runs mlmodel services of model '
        'tflite_cpu',
        'components[2]: board "board1" (model "pi") ignored: vision_classifier runs cameras',
        'components[3]: motor "left" (model "gpio") ignored: vision_classifier runs cameras',
        'components[4]: arm "arm1" (model "ur5e") ignored: vision_classifier runs cameras',
        'components[5]: camera "depth" (model "realsense") ignored: vision_classifier runs cameras of models '
        'webcam, video_file, image_file, image_folder, fake, transform, ros_topic',
    ]


@pytest.mark.parametrize('change,warning', [
    (lambda c: c.update(component=c.pop('components')), 'component: unknown key, ignored; did you mean "components"?'),
    (lambda c: c['services'][1].update(attribute={}),
     'services[1].attribute: unknown key, ignored; did you mean "attributes"?'),
    (lambda c: c['services'][1]['attributes'].update(mlmodel_nmae='x'),
     'services[1].attributes.mlmodel_nmae: unknown attribute for vision, ignored; did you mean "mlmodel_name"?'),
    (lambda c: c['components'][1]['attributes']['pipeline'][0]['attributes'].update(confidence=0.2),
     'components[1].attributes.pipeline[0].attributes.confidence: unknown attribute for classifications, ignored; '
     'did you mean "confidence_threshold"?'),
    (lambda c: c['services'][1]['attributes'].update(zzz=1), 'services[1].attributes.zzz: unknown attribute for '
     'vision, ignored'),
])
def test_unknown_keys_get_the_closest_known_key(packages, change, warning):
    config = seed_config()
    change(config)
    try:
        warnings = translate(config, packages).warnings
    except ConfigError as e:  # `component` leaves nothing to run
        warnings = e.warnings
    assert warning in warnings, warnings
    assert warning.endswith('?') or 'did you mean' not in warning


@pytest.mark.parametrize('config', [
    {}, {'component': []}, {'services': [copy.deepcopy(SEED_MLMODEL)]},
    {'components': [{'name': 'front', 'type': 'camera', 'model': 'ros_topic', 'attributes': {'topic': '/x'}},
                    {'name': 'b', 'type': 'board', 'model': 'pi'}]},
])
def test_a_config_with_nothing_to_run_is_an_error(packages, config):
    problems = problems_of(config, packages)
    assert len(problems) == 1 and problems[0].startswith('config: nothing to run: no vision service'), problems


def test_relative_paths_resolve_against_the_config_folder_and_variables_expand(tmp_path, monkeypatch):
    folder = tmp_path / 'robot'
    (folder / 'models').mkdir(parents=True)
    shutil.copy(fixture_model('float_nhwc_logits.tflite'), folder / 'models' / 'm.tflite')
    (folder / 'models' / 'labels.txt').write_text('red\ngreen\nblue\ngray\n')
    monkeypatch.setenv('ROBOT_DIR', str(folder))
    config = seed_config()
    config['services'][0]['attributes'].update(model_path='models/m.tflite',
                                               label_path='${ROBOT_DIR}/models/labels.txt')
    config['components'][1]['attributes']['output_dir'] = '$ROBOT_DIR/frames'
    path = folder / 'robot.json'
    path.write_text(json.dumps(config))
    monkeypatch.chdir(tmp_path)
    plan = translate_file(str(path.relative_to(tmp_path)))
    p = plan.node('my_classifier').parameters
    assert (p['model_path'], p['label_path']) == (f'{folder}/models/m.tflite', f'{folder}/models/labels.txt')
    assert plan.node('overlay_cam').parameters['output_dir'] == f'{folder}/frames'
    config['services'][0]['attributes']['label_path'] = '${NO_SUCH_VARIABLE_HERE}/labels.txt'
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError) as error:
        translate_file(str(path))
    assert error.value.problems == [
        'services[0].attributes.label_path: $NO_SUCH_VARIABLE_HERE: environment variable not set']


def test_models_and_labels_are_checked_before_anything_starts(packages, tmp_path):
    config = seed_config()
    (tmp_path / 'two.txt').write_text('red\ngreen\n')
    config['services'][0]['attributes']['label_path'] = str(tmp_path / 'two.txt')
    config['services'].append({'name': 'second', 'type': 'vision', 'model': 'mlmodel',
                               'attributes': {'mlmodel_name': 'fruit_classifier'}})
    plan = translate(config, packages)  # the translation alone does not open the model
    with pytest.raises(ConfigError) as error:
        load_models(plan)
    cause = f'label_path {tmp_path}/two.txt: 2 labels, but the model outputs 4 values'
    assert error.value.problems == [
        f'services[1] vision service "my_classifier" (mlmodel "fruit_classifier", services[0]): {cause}',
        f'services[2] vision service "second" (mlmodel "fruit_classifier", services[0]): {cause}']
    assert load_models(translate(seed_config(), packages)).nodes, 'a good model passes'


def test_an_mlmodel_shared_by_vision_services_is_loaded_once(packages, monkeypatch):
    from vision_classifier.core import tflite_model
    loaded = []
    real_init = tflite_model.TfliteCpuModel.__init__

    def counting_init(self, config):
        loaded.append(config.model_path)
        real_init(self, config)
    monkeypatch.setattr(tflite_model.TfliteCpuModel, '__init__', counting_init)
    config = seed_config()
    config['services'].append({'name': 'second', 'type': 'vision', 'model': 'mlmodel',
                               'attributes': {'mlmodel_name': 'fruit_classifier'}})
    load_models(translate(config, packages))
    assert len(loaded) == 1


def test_a_transform_camera_may_give_its_overlay_more_time_for_results(packages):
    config = seed_config()
    config['components'][1]['attributes']['pipeline'][0]['attributes'].update(result_timeout=30,
                                                                              publish_unmatched=True)
    overlay = translate(config, packages).node('overlay_cam').parameters
    assert overlay['result_timeout'] == 30.0 and overlay['publish_unmatched'] is True
    config['components'][1]['attributes']['pipeline'][0]['attributes'].update(result_timeout=0)
    assert problems_of(config, packages) == [
        'components[1].attributes.pipeline[0].attributes.result_timeout: expected a number above 0, got 0']
