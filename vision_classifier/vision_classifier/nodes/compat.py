"""What differs between the rclpy of Humble, Jazzy and Kilted, in one place."""
try:
    from rclpy.event_handler import qos_policy_name_from_kind, SubscriptionEventCallbacks
except ImportError:  # Humble: rclpy.qos_event
    from rclpy.qos_event import qos_policy_name_from_kind, SubscriptionEventCallbacks

__all__ = ['coerce_on_set', 'qos_policy_name_from_kind', 'set_descriptor', 'SubscriptionEventCallbacks',
           'with_message_info']


def with_message_info(callback):
    """Return `callback(msg, info)` as a subscription callback; Humble's executor passes no info (then empty)."""
    from rclpy.subscription import Subscription
    if hasattr(Subscription, 'CallbackType'):
        return callback
    return lambda msg: callback(msg, {})


def set_descriptor(node, name, descriptor, value):
    """Give a declared parameter its final descriptor (its type fixed) and typed value."""
    node.set_descriptor(name, descriptor, value.get_parameter_value())


def coerce_on_set(node, coerced):
    """Convert values set at run time (`ros2 param set`) with `coerced(param, expected type)` before rclpy checks
    their type."""
    from rclpy.parameter import Parameter

    def pre_set(params):
        result = []
        for param in params:
            expected = Parameter.Type(node.describe_parameter(param.name).type) \
                if node.has_parameter(param.name) else param.type_
            result.append(coerced(param, expected) or param)
        return result
    node.add_pre_set_parameters_callback(pre_set)
