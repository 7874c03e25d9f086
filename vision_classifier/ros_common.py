"""Helpers shared by the ROS nodes: QoS, parameter descriptors, message conversion, main()."""
import sys

import rclpy
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.event_handler import qos_policy_name_from_kind, SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException, ParameterUninitializedException
from rclpy.executors import ExternalShutdownException
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.qos import QoSProfile, qos_profile_sensor_data, ReliabilityPolicy
from sensor_msgs.msg import Image

from .image_encoding import encode_fields

QOS_RELIABILITY = {'best_effort': ReliabilityPolicy.BEST_EFFORT, 'reliable': ReliabilityPolicy.RELIABLE}


class StartupError(RuntimeError):
    """A node that cannot start; main() prints the message and exits with status 1."""


def describe(description, read_only=False, float_range=None, int_range=None, choices=None):
    descriptor = ParameterDescriptor(description=description, read_only=read_only)
    if float_range:
        descriptor.floating_point_range = [FloatingPointRange(from_value=float(float_range[0]),
                                                              to_value=float(float_range[1]))]
    if int_range:
        descriptor.integer_range = [IntegerRange(from_value=int_range[0], to_value=int_range[1])]
    if choices:
        descriptor.additional_constraints = 'one of: ' + ', '.join(choices)
    return descriptor


def declared_value(node, name, default, descriptor):
    """Declare a parameter and return its value; an array declared by type alone and left unset gives []."""
    node.declare_parameter(name, default, descriptor)
    try:
        return node.get_parameter(name).value
    except ParameterUninitializedException:
        return []


def image_qos(reliability, depth=1):
    """Sensor-data QoS (keep last `depth`) with the chosen reliability."""
    if reliability not in QOS_RELIABILITY:
        raise StartupError(f'qos_reliability: expected one of {", ".join(QOS_RELIABILITY)}, got {reliability!r}')
    return QoSProfile(history=qos_profile_sensor_data.history, depth=depth,
                      reliability=QOS_RELIABILITY[reliability], durability=qos_profile_sensor_data.durability)


def warn_on_incompatible_qos(node, topic_hint):
    """Event callbacks that say why a publisher does not connect (e.g. best_effort camera, reliable reader)."""
    def on_incompatible(event):
        policy = qos_policy_name_from_kind(event.last_policy_kind)
        node.get_logger().warning(
            f'a publisher on {topic_hint} has incompatible QoS ({policy}); its images are not received. '
            'For a best_effort camera set qos_reliability:=best_effort (see README, "Large images").')
    return SubscriptionEventCallbacks(incompatible_qos=on_incompatible)


def image_msg(pixels, encoding, header):
    msg = Image(header=header, encoding=encoding, is_bigendian=0)
    msg.height, msg.width, msg.step, msg.data = encode_fields(pixels, encoding)
    return msg


def run_node(node_class, args=None):
    """demo_nodes_py-style main: init, spin, clean exit on Ctrl-C or external shutdown."""
    rclpy.init(args=args)
    node = None
    try:
        node = node_class()
        rclpy.spin(node)
    except (StartupError, ParameterException) as e:
        print(f'[{node_class.NODE_NAME}] cannot start: {e}', file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except _rclpy.RCLError:
        if node is None or node.context.ok():
            raise
        # a publish that raced Ctrl-C's shutdown of the context
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
