"""The launch file against the real launch / launch_ros API; skipped where they are not installed."""
import importlib.util
import os

import pytest

from conftest import ROOT

launch = pytest.importorskip('launch')
launch_ros = pytest.importorskip('launch_ros')


def load_launch_module():
    spec = importlib.util.spec_from_file_location('classifier_launch', ROOT / 'launch' / 'classifier.launch.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_config_becomes_the_expected_nodes():
    import yaml
    from vision_classifier.config import load, translate
    module = load_launch_module()
    description = module.generate_launch_description()
    context = launch.LaunchContext()
    for action in description.entities:
        if isinstance(action, launch.actions.DeclareLaunchArgument):
            action.execute(context)
    config = ROOT / 'config' / 'default.json'
    context.launch_configurations['config'] = str(config)
    nodes = [a for a in module.nodes_from_config(context) if isinstance(a, launch_ros.actions.Node)]
    assert sorted(n.node_executable for n in nodes) == ['camera_node', 'classifier_node', 'overlay_node']
    assert {n.node_package for n in nodes} == {'vision_classifier'}
    for node in nodes:
        node._perform_substitutions(context)  # what launch does before it starts the process
    launched = {n.node_name.rpartition('/')[2]: n for n in nodes}
    for spec in translate(load(config)).nodes:
        node = launched[spec.name]
        assert node.expanded_remapping_rules == list(spec.remappings)
        (params_file, is_file), = node._Node__expanded_parameter_arguments
        assert is_file
        assert yaml.safe_load(open(params_file))['/**']['ros__parameters'] == spec.parameters
    profile = context.launch_configurations['fastdds_profile']
    assert profile.endswith('fastdds_large_images.xml') or profile == os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE')


def test_wrong_config_fails_before_any_node(tmp_path):
    module = load_launch_module()
    config = tmp_path / 'robot.json'
    config.write_text('{"services": [{"name": "v", "type": "vision", "model": "mlmodel", "attributes": {}}]}')
    context = launch.LaunchContext()
    context.launch_configurations.update(config=str(config), packages_dir='', fastdds_profile='')
    with pytest.raises(RuntimeError, match=r'services\[0\].attributes.mlmodel_name: required'):
        module.nodes_from_config(context)


def test_web_argument_adds_the_web_node_with_the_config_topics():
    import yaml
    from vision_classifier.config import load, translate
    from vision_classifier.web_node import web_parameters
    module = load_launch_module()
    context = launch.LaunchContext()
    for action in module.generate_launch_description().entities:
        if isinstance(action, launch.actions.DeclareLaunchArgument):
            action.execute(context)
    config = ROOT / 'config' / 'default.json'
    context.launch_configurations['config'] = str(config)
    assert not [a for a in module.nodes_from_config(context) if getattr(a, 'node_executable', '') == 'web_node']
    context.launch_configurations['web'] = '8090'
    web, = [a for a in module.nodes_from_config(context) if getattr(a, 'node_executable', '') == 'web_node']
    web._perform_substitutions(context)
    (params_file, _), = web._Node__expanded_parameter_arguments
    parameters = yaml.safe_load(open(params_file))['/**']['ros__parameters']
    assert parameters == web_parameters(translate(load(config)), '127.0.0.1', 8090)
    assert parameters['image_topics'] == ['/photos/image_raw', '/overlay_cam/image']
