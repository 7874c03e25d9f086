"""
What differs between the rclpy of Humble, Jazzy and Kilted, in one place.

Read in rclpy's humble branch: Humble has `rclpy.qos_event` instead of `rclpy.event_handler`, event callbacks for
deadline, incompatible_qos, liveliness and message_lost only, and lets UnsupportedEventTypeError out of
create_subscription when the middleware lacks a user's event (Jazzy swallows it for incompatible_qos and
incompatible_type only). Its executor passes a subscription callback the message only; it has no
Subscription.get_publisher_count, no Node.add_pre_set_parameters_callback; its Executor.shutdown() waits for
every callback begun, a coroutine suspended in an await included (Jazzy's and Kilted's do not wait).
"""
import functools
import inspect
from types import MappingProxyType

from rclpy.parameter import Parameter
from rclpy.qos import qos_policy_name_from_kind

try:
    from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
except ImportError:  # Humble
    from rclpy.qos_event import SubscriptionEventCallbacks, UnsupportedEventTypeError

__all__ = ['coerce_on_set', 'create_subscription', 'NO_MESSAGE_INFO', 'publisher_count', 'qos_policy_name_from_kind',
           'set_descriptor', 'shutdown_executor', 'SubscriptionEventCallbacks', 'with_message_info']

# The message info a callback of with_message_info gets on Humble: 0 is "unknown".
NO_MESSAGE_INFO = MappingProxyType({'source_timestamp': 0, 'received_timestamp': 0})
# How long shutdown_executor waits for callbacks still running in other threads.
SHUTDOWN_SECONDS = 1.0


def set_descriptor(node, name, descriptor, value):
    """Give a declared parameter its final descriptor (its type fixed) and typed value."""
    node.set_descriptor(name, descriptor, value.get_parameter_value())


def coerce_on_set(node, coerced):
    """
    Convert values set at run time (`ros2 param set`) with `coerced(param, expected type)` before rclpy checks them.

    Jazzy on: a pre-set parameters callback. Humble has none: its set_parameters and set_parameters_atomically
    (which both parameter services call) are wrapped on this node to convert first.
    """
    def converted(params):
        result = []
        for param in params:
            if isinstance(param, Parameter) and node.has_parameter(param.name):
                param = coerced(param, Parameter.Type(node.describe_parameter(param.name).type)) or param
            result.append(param)
        return result

    def converting(method):
        @functools.wraps(method)
        def set_converted(params):
            return method(converted(params))
        return set_converted

    if hasattr(node, 'add_pre_set_parameters_callback'):
        node.add_pre_set_parameters_callback(converted)
        return
    node.set_parameters = converting(node.set_parameters)
    node.set_parameters_atomically = converting(node.set_parameters_atomically)


def create_subscription(node, msg_type, topic, callback, qos_profile, *, callback_group=None, event_callbacks=None):
    """
    Create a subscription as Node.create_subscription does; without `event_callbacks` (logged) where unsupported.

    rclpy raises UnsupportedEventTypeError when the middleware lacks an event given a callback: Humble for any of
    them, Jazzy and Kilted for deadline, liveliness, message_lost and matched.
    """
    try:
        return node.create_subscription(msg_type, topic, callback, qos_profile, callback_group=callback_group,
                                        event_callbacks=event_callbacks)
    except UnsupportedEventTypeError as e:
        if event_callbacks is None:
            raise
        node.get_logger().warning(f'{node.resolve_topic_name(topic)}: the middleware does not report subscription '
                                  f'events ({e}); a publisher with incompatible QoS there goes unreported')
    return node.create_subscription(msg_type, topic, callback, qos_profile, callback_group=callback_group)


def with_message_info(callback):
    """
    Return a subscription callback that calls `callback(msg, info)`: info is rclpy's message info dict.

    Jazzy on, the executor passes (msg, info) to a callback whose signature takes two arguments. Humble's passes the
    message only: then info is NO_MESSAGE_INFO (timestamps 0, unknown). For a plain function, not a coroutine.
    """
    def call(msg, info=None):
        return callback(msg, NO_MESSAGE_INFO if info is None else info)
    call.__signature__ = inspect.signature(lambda msg, info: None)  # two arguments, as Jazzy on decides
    return call


def publisher_count(node, subscription):
    """
    Return the number of publishers matched with `subscription`.

    Humble has no Subscription.get_publisher_count: there it is the number of publishers of its topic in the ROS
    graph, whatever their QoS.
    """
    count = getattr(subscription, 'get_publisher_count', None)
    return count() if count is not None else node.count_publishers(subscription.topic_name)


def shutdown_executor(executor, timeout_sec=SHUTDOWN_SECONDS):
    """
    Shut `executor` down, waiting at most `timeout_sec` for callbacks still running; return whether they all ended.

    Humble's shutdown() without a timeout waits forever for a coroutine callback suspended in an await (e.g. a
    service call waiting for a frame) once nothing spins the executor any more.
    """
    return executor.shutdown(timeout_sec=timeout_sec)
