"""
Parameters as `ros2 param get/dump/set` see them.

Each node's every parameter has a typed value over DDS (rcl_interfaces GetParameters, what the tools call), a dumped
YAML starts the same node again with the same values, and float parameters take integers at start and at run time.
"""
import array

import pytest
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import GetParameters, ListParameters, SetParameters
import rclpy
from rclpy.parameter import Parameter
from ros_helpers import call
from support import DEFAULT_MODEL, fixture_model, TIMEOUT
from vision_classifier.core.reconfigure import DYNAMIC
from vision_classifier.nodes.camera_node import CameraNode
from vision_classifier.nodes.classifier_node import ClassifierNode
from vision_classifier.nodes.overlay_node import OverlayNode
import yaml

NODES = {  # name: (module, node class, arguments: integers for float parameters)
    'param_classifier': ('vision_classifier.nodes.classifier_node', ClassifierNode,
                         [f'model_path:={DEFAULT_MODEL}', 'default_minimum_confidence:=1',
                          "label_confidences:=['cup:0.5']"]),
    'param_overlay': ('vision_classifier.nodes.overlay_node', OverlayNode,
                      ['confidence_threshold:=0', 'result_timeout:=2']),
    'param_camera': ('vision_classifier.nodes.camera_node', CameraNode, ['source_type:=fake', 'frame_rate:=5']),
}
EXPECTED = {'param_classifier': {'default_minimum_confidence': 1.0, 'label_confidences': ['cup:0.5'],
                                 'input_image_mean_value': [], 'label_path': ''},
            'param_overlay': {'confidence_threshold': 0.0, 'result_timeout': 2.0, 'valid_labels': []},
            'param_camera': {'frame_rate': 5.0, 'width': 0}}


def python_value(value):
    """Return the value as `ros2 param dump` writes it: arrays as lists."""
    value = Parameter.from_parameter_msg(ParameterMsg(value=value)).value
    return list(value) if not isinstance(value, (str, bytes)) and hasattr(value, '__len__') else value


def remote_parameters(ros, name):
    """Return {parameter: ParameterValue} of node /name over DDS."""
    names = call(ros, ros.node.create_client(ListParameters, f'/{name}/list_parameters'),
                 ListParameters.Request()).result.names
    values = call(ros, ros.node.create_client(GetParameters, f'/{name}/get_parameters'),
                  GetParameters.Request(names=names)).values
    return dict(zip(names, values))


def test_every_parameter_is_typed_over_dds_and_a_dump_starts_the_same_node(ros, start_node, tmp_path):
    processes = {name: start_node(module, '-r', f'__node:={name}', *[a for p in params for a in ('-p', p)], name=name)
                 for name, (module, _, params) in NODES.items()}
    for name, (_, node_class, _) in NODES.items():
        remote = remote_parameters(ros, name)
        untyped = [p for p, v in remote.items() if v.type == ParameterType.PARAMETER_NOT_SET]
        assert not untyped, (name, untyped, processes[name].log())
        dumped = {p: python_value(v) for p, v in remote.items()}
        assert {p: dumped[p] for p in EXPECTED[name]} == EXPECTED[name]
        assert all(type(dumped[p]) is float for p, v in EXPECTED[name].items() if isinstance(v, float))

        path = tmp_path / f'{name}.yaml'
        path.write_text(yaml.dump({f'/{name}': {'ros__parameters': dumped}}, default_flow_style=False))
        context = rclpy.Context()
        rclpy.init(context=context)
        try:
            node = node_class(name, context=context, cli_args=['--ros-args', '--params-file', str(path)])
            again = {p.name: python_value(p.get_parameter_value()) for p in node.get_parameters(list(dumped))}
            node.destroy_node()
        finally:
            rclpy.try_shutdown(context=context)
        assert again == dumped, name


def test_float_parameters_take_integers_at_run_time(ros, start_node):
    start_node('vision_classifier.nodes.overlay_node', '-r', '__node:=int_overlay', name='overlay')
    client = ros.node.create_client(SetParameters, '/int_overlay/set_parameters')
    as_sent = [ParameterMsg(name='confidence_threshold', value=ParameterValue(type=ParameterType.PARAMETER_INTEGER,
                                                                              integer_value=1)),
               ParameterMsg(name='valid_labels', value=ParameterValue(type=ParameterType.PARAMETER_BOOL_ARRAY))]
    results = call(ros, client, SetParameters.Request(parameters=as_sent)).results
    assert all(r.successful for r in results), results
    remote = remote_parameters(ros, 'int_overlay')
    assert remote['confidence_threshold'].type == ParameterType.PARAMETER_DOUBLE
    assert remote['confidence_threshold'].double_value == 1.0
    assert remote['valid_labels'].type == ParameterType.PARAMETER_STRING_ARRAY
    # still refused: a text for a number, and a float for an integer
    wrong = [ParameterMsg(name='confidence_threshold', value=ParameterValue(type=ParameterType.PARAMETER_STRING,
                                                                            string_value='high')),
             ParameterMsg(name='max_classifications', value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE,
                                                                           double_value=2.0))]
    results = call(ros, client, SetParameters.Request(parameters=wrong)).results
    assert not any(r.successful for r in results), results


def test_a_wrong_type_at_start_names_the_node_and_the_parameter(start_node):
    process = start_node('vision_classifier.nodes.camera_node', '-r', '__node:=front_camera', '-p', 'frame_rate:=fast',
                         name='camera')
    assert process.proc.wait(TIMEOUT) == 1
    assert "[front_camera] cannot start: parameter frame_rate: expected a number, got 'fast'" in process.log()


def current_value(node, name):
    from rclpy.exceptions import ParameterUninitializedException
    try:
        value = node.get_parameter(name).value
    except ParameterUninitializedException:  # an array declared by type, unset
        return []
    return list(value) if isinstance(value, (list, tuple, array.array)) else value


@pytest.mark.parametrize('executable,parameters', [
    ('classifier_node', {'model_path': fixture_model('float_nhwc_logits.tflite')}),
    ('overlay_node', {}),
    ('camera_node', {'source_type': 'fake'}),
])
def test_run_time_parameters_match_the_nodes_and_their_defaults_can_be_set_back(ros, executable, parameters):
    """
    Check DYNAMIC names exactly the parameters a node does not declare read-only, with the node's defaults.

    Each default can be set on the running node with the declared type (as LiveConfig does).
    """
    from vision_classifier.core.config import NodeSpec
    from vision_classifier.nodes.factory import create_node
    from vision_classifier.nodes.parameters import typed_parameter
    node = create_node(NodeSpec(f'n_{executable}', executable, parameters), ros.context)
    try:
        names = node.get_parameters_by_prefix('')
        writable = {n for n in names if n != 'use_sim_time' and not node.describe_parameter(n).read_only}
        assert writable == set(DYNAMIC[executable])
        for name, default in DYNAMIC[executable].items():
            if name in parameters:
                continue
            assert current_value(node, name) == default, name
            result = node.set_parameters_atomically([typed_parameter(node, name, default)])
            assert result.successful, (name, result.reason)
    finally:
        node.destroy_node()
