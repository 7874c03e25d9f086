"""Helpers shared by the ROS nodes: QoS, parameter descriptors, message conversion, main()."""
import copy
import sys
import time

import rclpy
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.event_handler import qos_policy_name_from_kind, SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.clock import Clock, ClockType
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, qos_profile_sensor_data, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from .compressed import decode_compressed_msg
from .image_encoding import decode_msg, encode_fields

# image_transport parameter: (message type, decoder)
TRANSPORTS = {'raw': (Image, decode_msg), 'compressed': (CompressedImage, decode_compressed_msg)}
QOS_RELIABILITY = {'best_effort': ReliabilityPolicy.BEST_EFFORT, 'reliable': ReliabilityPolicy.RELIABLE}
QOS_CHOICES = ('auto', 'reliable', 'best_effort')
AUTO_QOS_WAIT_SECONDS = 5.0  # `auto` waits this long for a publisher, then takes AUTO_QOS_DEFAULT
AUTO_QOS_DEFAULT = 'reliable'
QOS_RELIABILITY_DESCRIPTION = (
    'Reliability of the image subscription: auto (as the publishers on the topic: best_effort if any publisher '
    f'is best_effort, else reliable; {AUTO_QOS_DEFAULT} when none appears within {AUTO_QOS_WAIT_SECONDS:g} s, '
    'best_effort once a best_effort one appears), '
    'reliable or best_effort. best_effort receives no large images between processes with Fast DDS defaults '
    '(README, "Large images and QoS").')


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


ARRAY_TYPES = (Parameter.Type.BYTE_ARRAY, Parameter.Type.BOOL_ARRAY, Parameter.Type.INTEGER_ARRAY,
               Parameter.Type.DOUBLE_ARRAY, Parameter.Type.STRING_ARRAY)
TYPE_NAMES = {Parameter.Type.BOOL: 'a boolean', Parameter.Type.INTEGER: 'an integer', Parameter.Type.DOUBLE: 'a number',
              Parameter.Type.STRING: 'a string', Parameter.Type.DOUBLE_ARRAY: 'a list of numbers',
              Parameter.Type.STRING_ARRAY: 'a list of strings'}


def coerced(param, expected):
    """`param` as type `expected` where its value fits (an integer for a float, integers for floats, an empty list of
    any type for an empty list); else None. rclpy converts none of these by itself."""
    if param.type_ == expected:
        return param
    if expected == Parameter.Type.DOUBLE and param.type_ == Parameter.Type.INTEGER:
        return Parameter(param.name, expected, float(param.value))
    if expected == Parameter.Type.DOUBLE_ARRAY and param.type_ == Parameter.Type.INTEGER_ARRAY:
        return Parameter(param.name, expected, [float(v) for v in param.value])
    if expected in ARRAY_TYPES and param.type_ in ARRAY_TYPES and len(param.value) == 0:
        return Parameter(param.name, expected, [])
    return None


def declare_typed(node, specs):
    """Declare each (name, default, descriptor) with a typed value, so `ros2 param get/dump` show every parameter:
    `default` is a value, or a Parameter.Type for an empty list of that type. Values given at start are converted as
    `coerced` does; returns {name: value}. Add `coerce_on_set(node)` for values set later."""
    values = {}
    for name, default, descriptor in specs:
        typed = isinstance(default, Parameter.Type)
        expected = default if typed else Parameter.Type.from_parameter_value(default)
        accepting = copy.deepcopy(descriptor)  # any type, for now: rclpy would refuse an integer for a float
        accepting.dynamic_typing, accepting.read_only = True, False
        given = node.declare_parameter(name, [] if typed else default, accepting)
        if given.type_ == Parameter.Type.NOT_SET:  # e.g. `name: []` in a params file (rcl keeps no type for it)
            given = Parameter(name, value=[] if typed else default)
        value = coerced(given, expected)
        if value is None:
            raise StartupError(f'parameter {name}: expected {TYPE_NAMES.get(expected, expected.name)}, '
                               f'got {given.value!r}')
        descriptor.type = expected.value
        node.set_descriptor(name, descriptor, value.get_parameter_value())
        values[name] = node.get_parameter(name).value
    return values


def coerce_on_set(node):
    """Convert values set at run time (`ros2 param set`) as `coerced` does, before rclpy checks their type."""
    def pre_set(params):
        result = []
        for param in params:
            expected = Parameter.Type(node.describe_parameter(param.name).type) \
                if node.has_parameter(param.name) else param.type_
            result.append(coerced(param, expected) or param)
        return result
    node.add_pre_set_parameters_callback(pre_set)


def image_qos(reliability, depth=1):
    """Sensor-data QoS (keep last `depth`) with `reliable` or `best_effort` reliability."""
    return QoSProfile(history=qos_profile_sensor_data.history, depth=depth,
                      reliability=QOS_RELIABILITY[reliability], durability=qos_profile_sensor_data.durability)


def reliability_of_publishers(infos, type_name):
    """(`reliable` or `best_effort`, why) for the publishers of `type_name` among `infos`
    (node.get_publishers_info_by_topic), as `ros2 topic echo` and rosbag2 choose; None when there are none."""
    matching = [i for i in infos if i.topic_type == type_name]
    if not matching:
        return None
    best_effort = [i for i in matching if i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT]
    names = sorted({_publisher_name(i) for i in (best_effort or matching)} - {None})
    names = f': {", ".join(names)}' if names else ''
    if best_effort:
        return 'best_effort', f'{len(best_effort)} of {len(matching)} publisher(s) best_effort{names}'
    return 'reliable', f'{len(matching)} publisher(s), all reliable{names}'


def _publisher_name(info):
    """The publisher's node, None while discovery has not told its name."""
    if not info.node_name or info.node_name.startswith('_NODE_'):
        return None
    return info.node_namespace.rstrip('/') + '/' + info.node_name


class ImageSubscription:
    """A subscription with `qos_reliability` `reliable`, `best_effort` or `auto`. With `auto` it is created once
    a publisher of the topic appears (best_effort if any publisher is best_effort, else reliable), or after
    AUTO_QOS_WAIT_SECONDS without one with AUTO_QOS_DEFAULT; while reliable it keeps watching the graph (once a
    second) and becomes best_effort when a best_effort publisher appears. Each choice is logged in one line."""

    def __init__(self, node, msg_type, topic, callback, reliability, depth, wait=AUTO_QOS_WAIT_SECONDS,
                 callback_group=None):
        if reliability not in QOS_CHOICES:
            raise StartupError(f'qos_reliability: expected one of {", ".join(QOS_CHOICES)}, got {reliability!r}')
        self.node, self.msg_type, self.callback, self.depth = node, msg_type, callback, depth
        self.callback_group = callback_group
        self.auto = reliability == 'auto'
        self.topic_name = node.resolve_topic_name(topic)
        self.type_name = f'{msg_type.__module__.split(".")[0]}/msg/{msg_type.__name__}'
        self.subscription, self.reliability, self._timer = None, None, None
        if not self.auto:
            self._create(reliability)
            return
        self._deadline = time.monotonic() + wait
        self._warned_type = False
        self._watch(0.1)

    def _watch(self, period):
        if self._timer is not None:
            self._timer.cancel()
            self.node.destroy_timer(self._timer)
        self._timer = None if period is None else self.node.create_timer(
            period, self._poll, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def _poll(self):
        infos = self.node.get_publishers_info_by_topic(self.topic_name)
        found = reliability_of_publishers(infos, self.type_name)
        if found is None and infos and not self._warned_type:
            self._warned_type = True
            types = ', '.join(sorted({i.topic_type for i in infos}))
            self.node.get_logger().warning(
                f'{self.topic_name} carries {types}, not {self.type_name}: nothing is received there (for a '
                'ros_topic camera set "format": "raw" or "compressed" to match)')
        if self.subscription is None:
            if found is None and time.monotonic() < self._deadline:
                return
            if found is None:
                found = AUTO_QOS_DEFAULT, (f'no {self.type_name} publisher within {AUTO_QOS_WAIT_SECONDS:g} s: '
                                           'the default; watching for best_effort publishers')
        elif found is None or found[0] == self.reliability:
            return
        self._create(found[0])
        self.node.get_logger().info(f'{self.topic_name}: {found[0]} (qos_reliability auto: {found[1]})')
        self._watch(1.0 if found[0] == 'reliable' else None)

    def _create(self, reliability):
        if self.subscription is not None:
            self.node.destroy_subscription(self.subscription)
        self.reliability = reliability
        self.subscription = self.node.create_subscription(
            self.msg_type, self.topic_name, self.callback, image_qos(reliability, self.depth),
            callback_group=self.callback_group,
            event_callbacks=warn_on_incompatible_qos(self.node, self.topic_name, self.auto))

    def destroy(self):
        self._watch(None)
        if self.subscription is not None:
            self.node.destroy_subscription(self.subscription)


def warn_on_incompatible_qos(node, topic_hint, auto=False):
    """Event callbacks that say why a publisher does not connect (e.g. best_effort camera, reliable reader);
    with `auto`, a reliability mismatch is not reported: ImageSubscription switches to best_effort."""
    def on_incompatible(event):
        policy = qos_policy_name_from_kind(event.last_policy_kind)
        if auto and policy == 'RELIABILITY':
            return
        node.get_logger().warning(
            f'a publisher on {topic_hint} has incompatible QoS ({policy}); its images are not received. '
            'For a best_effort camera set qos_reliability:=best_effort or auto (see README, "Large images and QoS").')
    return SubscriptionEventCallbacks(incompatible_qos=on_incompatible)


def image_topic(node, transport):
    """`image` after remapping; for `compressed`, `image/compressed` if remapped itself, else the image topic +
    `/compressed` (image_transport's name, so `-r image:=/cam/image_raw` also finds /cam/image_raw/compressed)."""
    raw = node.resolve_topic_name('image')
    if transport == 'raw':
        return raw
    compressed = node.resolve_topic_name('image/compressed')
    return compressed if compressed != node.resolve_topic_name('image/compressed', only_expand=True) else \
        raw.rstrip('/') + '/compressed'


def image_subscription(node, transport, callback, reliability, depth, callback_group=None):
    """(ImageSubscription, decoder of its messages) for the `image_transport` parameter's value."""
    if transport not in TRANSPORTS:
        raise StartupError(f'image_transport: expected one of {", ".join(TRANSPORTS)}, got {transport!r}')
    msg_type, decode = TRANSPORTS[transport]
    return ImageSubscription(node, msg_type, image_topic(node, transport), callback, reliability, depth,
                             callback_group=callback_group), decode


def image_msg(pixels, encoding, header):
    msg = Image(header=header, encoding=encoding, is_bigendian=0)
    msg.height, msg.width, msg.step, msg.data = encode_fields(pixels)
    return msg


def run_node(node_class, args=None):
    """demo_nodes_py-style main: init, spin, clean exit on Ctrl-C or external shutdown."""
    try:
        rclpy.init(args=args)
    except _rclpy.RCLError as e:  # unparsable --ros-args; rcl has logged the details
        print(f'[{node_class.NODE_NAME}] cannot start: {e}', file=sys.stderr)
        return 1
    node = None
    try:
        node = node_class.__new__(node_class)  # then __init__: a failed start still has its name (`__node:=`)
        node.__init__()
        rclpy.spin(node)
    except (StartupError, ParameterException) as e:
        print(f'[{node_name(node, node_class.NODE_NAME)}] cannot start: {e}', file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except _rclpy.RCLError:
        if node is None or node.context.ok():
            raise
        # a publish that raced Ctrl-C's shutdown of the context
    finally:
        if node is not None and getattr(node, 'handle', None) is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def node_name(node, default):
    """The name a node runs under (after remapping), or `default` when it got no handle."""
    try:
        return node.get_name()
    except Exception:  # Node.__init__ itself failed
        return default
