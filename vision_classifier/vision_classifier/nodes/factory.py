"""The node of a NodeSpec (a translated config's node), created in this process as `ros2 launch` would start it."""
from rclpy.parameter import Parameter


def node_classes():
    from vision_classifier.nodes.camera_node import CameraNode
    from vision_classifier.nodes.classifier_node import ClassifierNode
    from vision_classifier.nodes.overlay_node import OverlayNode
    return {'camera_node': CameraNode, 'classifier_node': ClassifierNode, 'overlay_node': OverlayNode}


def create_node(spec, context=None):
    """Return the node of a NodeSpec, with its parameters and remappings, as `ros2 launch` would start it."""
    remaps = [arg for source, target in spec.remappings for arg in ('-r', f'{source}:={target}')]
    return node_classes()[spec.executable](
        spec.name, context=context, cli_args=['--ros-args', *remaps],
        parameter_overrides=[Parameter(key, value=value) for key, value in spec.parameters.items()])
