"""The launch file against the real launch / launch_ros API; skipped where they are not installed."""
import importlib.util
import json
import logging
import os
import shutil

import pytest

from support import fixture_model, PACKAGE, REPO
from vision_classifier.core.fastdds import profile_in, PROFILE_VARIABLES

launch = pytest.importorskip('launch')
launch_ros = pytest.importorskip('launch_ros')
yaml = pytest.importorskip('yaml')


def load_launch_module():
    spec = importlib.util.spec_from_file_location('classifier_launch', PACKAGE / 'launch' / 'classifier.launch.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ParamsLoader(yaml.SafeLoader):
    """launch_ros writes a list parameter as `!!python/tuple`, a tag rcl's parser ignores: read it as a list."""


ParamsLoader.add_constructor('tag:yaml.org,2002:python/tuple', lambda loader, node: loader.construct_sequence(node))


def launched_parameters(node):
    """Return the parameters launch hands a node: its parameter files, each in order, merged."""
    merged = {}
    for params_file, is_file in node._Node__expanded_parameter_arguments:
        assert is_file
        with open(params_file) as f:
            merged.update(yaml.load(f, ParamsLoader)['/**']['ros__parameters'])
    return merged


def test_default_config_becomes_the_expected_nodes():
    from vision_classifier.core.config import load, translate
    module = load_launch_module()
    description = module.generate_launch_description()
    context = launch.LaunchContext()
    for action in description.entities:
        if isinstance(action, launch.actions.DeclareLaunchArgument):
            action.execute(context)
    config = PACKAGE / 'config' / 'default.json'
    context.launch_configurations['config'] = str(config)
    nodes = [a for a in module.nodes_from_config(context) if isinstance(a, launch_ros.actions.Node)]
    assert sorted(n.node_executable for n in nodes) == ['camera_node', 'classifier_node', 'overlay_node']
    assert {n.node_package for n in nodes} == {'vision_classifier'}
    for node in nodes:
        node._perform_substitutions(context)  # what launch does before it starts the process
    launched = {n.node_name.rpartition('/')[2]: n for n in nodes}
    for spec in translate(load(config)).nodes:
        node = launched[spec.name]
        assert (node.expanded_remapping_rules or []) == list(spec.remappings)
        assert launched_parameters(node) == {**spec.parameters, 'autostart': True}
    profile = context.launch_configurations['fastdds_profile']
    assert profile.endswith('fastdds_large_images.xml') or profile == profile_in(os.environ)


def test_wrong_config_fails_before_any_node(tmp_path):
    module = load_launch_module()
    config = tmp_path / 'robot.json'
    config.write_text('{"services": [{"name": "v", "type": "vision", "model": "mlmodel", "attributes": {}}]}')
    context = launch.LaunchContext()
    context.launch_configurations.update(config=str(config), packages_dir='', fastdds_profile='',
                                         qos_reliability='auto')
    with pytest.raises(RuntimeError, match=r'services\[0\].attributes.mlmodel_name: required'):
        module.nodes_from_config(context)


def launch_context(**arguments):
    module = load_launch_module()
    context = launch.LaunchContext()
    for action in module.generate_launch_description().entities:
        if isinstance(action, launch.actions.DeclareLaunchArgument):
            action.execute(context)
    context.launch_configurations.update(arguments)
    return module, context


def whole_machine_config(tmp_path, labels):
    (tmp_path / 'labels.txt').write_text(labels)
    shutil.copy(fixture_model('float_nhwc_logits.tflite'), tmp_path / 'm.tflite')
    config = tmp_path / 'robot.json'
    config.write_text(json.dumps({
        'components': [
            {'name': 'board1', 'type': 'board', 'model': 'pi'},
            {'name': 'front', 'type': 'camera', 'model': 'ros_topic',
             'attributes': {'topic': '/usb_cam/image_raw/compressed', 'qos_reliability': 'best_effort'}},
            {'name': 'overlay_cam', 'type': 'camera', 'model': 'transform', 'attributes': {
                'source': 'front', 'pipeline': [{'type': 'classifications',
                                                 'attributes': {'classifier_name': 'my_classifier'}}]}}],
        'services': [
            {'name': 'model', 'type': 'mlmodel', 'model': 'tflite_cpu',
             'attributes': {'model_path': 'm.tflite', 'label_path': 'labels.txt'}},
            {'name': 'my_classifier', 'type': 'vision', 'model': 'mlmodel', 'attributes': {'mlmodel_name': 'model'}}],
    }))
    return config


def test_whole_machine_config_warns_at_warn_and_wires_the_ros_topic(tmp_path, caplog, monkeypatch):
    monkeypatch.chdir(REPO)  # relative paths resolve against the config's folder, not here
    module, context = launch_context(config=str(whole_machine_config(tmp_path, 'red\ngreen\nblue\ngray\n')),
                                     fastdds_profile='none', qos_reliability='reliable')
    with caplog.at_level(logging.INFO):
        nodes = module.nodes_from_config(context)
    warnings = [r for r in caplog.records if 'board "board1"' in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert sorted(n.node_executable for n in nodes) == ['classifier_node', 'overlay_node'], 'no camera node'
    for node in nodes:
        node._perform_substitutions(context)
        label = launch.utilities.perform_substitutions(context, node.name)
        assert label == node.node_name.rpartition('/')[2], 'processes are labelled with the config names'
        parameters = launched_parameters(node)
        if node.node_executable == 'overlay_node':
            assert ('image/compressed', '/usb_cam/image_raw/compressed') in node.expanded_remapping_rules
            assert parameters['qos_reliability'] == 'best_effort'
        else:  # the camera's own reliability, beside the node's from the launch argument
            assert parameters['cameras'] == ['front=/usb_cam/image_raw/compressed qos_reliability=best_effort']
            assert parameters['qos_reliability'] == 'reliable'
        assert not set(PROFILE_VARIABLES) & set(dict(node.additional_env or {}))


def test_a_label_file_that_does_not_fit_the_model_stops_the_launch_before_any_node(tmp_path):
    module, context = launch_context(config=str(whole_machine_config(tmp_path, 'red\ngreen\n')))
    with pytest.raises(RuntimeError) as error:
        module.nodes_from_config(context)
    assert str(error.value).splitlines()[1] == (
        f'services[1] vision service "my_classifier" (mlmodel "model", services[0]): label_path {tmp_path}/labels.txt: '
        '2 labels, but the model outputs 4 values')


def test_web_argument_adds_the_web_node_with_the_config_topics():
    from vision_classifier.core.config import load, translate
    from vision_classifier.web.node import web_parameters
    config = PACKAGE / 'config' / 'default.json'
    module, context = launch_context(config=str(config))
    assert not [a for a in module.nodes_from_config(context) if getattr(a, 'node_executable', '') == 'web_node']
    context.launch_configurations['web'] = '8090'
    web, = [a for a in module.nodes_from_config(context) if getattr(a, 'node_executable', '') == 'web_node']
    web._perform_substitutions(context)
    parameters = launched_parameters(web)
    assert parameters == {**web_parameters(translate(load(config)), '127.0.0.1', 8090), 'autostart': True}
    assert parameters['image_topics'] == ['/photos/image_raw', '/overlay_cam/image']


@pytest.mark.parametrize('arguments, autostart', [
    ({}, True), ({'managed': 'true'}, False), ({'managed': 'true', 'autostart': 'true'}, True),
    ({'autostart': 'false'}, False)])
def test_managed_and_autostart_decide_whether_the_nodes_come_up_by_themselves(arguments, autostart):
    module, context = launch_context(config=str(PACKAGE / 'config' / 'default.json'), web='8090', **arguments)
    nodes = module.nodes_from_config(context)
    assert len(nodes) == 4
    for node in nodes:
        node._perform_substitutions(context)
        assert launched_parameters(node)['autostart'] is autostart
