"""
Humble's rclpy, as far as our code can tell, on the newer rclpy of the project's environment.

`python -m humble_surface MODULE ARGS...` (with this folder on PYTHONPATH) changes rclpy, then runs MODULE as
`python -m MODULE ARGS...` would; in a program, `humble_surface.apply()` before anything else. What rclpy's humble
branch (b488272) lacks beside Jazzy's (7.1) and Kilted's (9.1) is gone, and what behaves differently there behaves
as there:
- the modules Humble has not (HUMBLE_LACKS_MODULES: rclpy.event_handler, rclpy.parameter_client, ...) cannot be
  imported; `rclpy.qos_event` has Humble's names, with Humble's SubscriptionEventCallbacks: deadline,
  incompatible_qos, liveliness and message_lost, no incompatible_type nor matched. A callback given for an event
  the middleware lacks fails create_subscription with UnsupportedEventTypeError; the events named in
  $HUMBLE_SURFACE_UNSUPPORTED_EVENTS (comma-separated) are taken as lacking, as another middleware would;
- the methods Humble has not (HUMBLE_LACKS_METHODS) are gone, e.g. Node.add_pre_set_parameters_callback,
  Node.list_parameters (the ListParameters service lists by itself, as Humble's does),
  Subscription.get_publisher_count;
- a Subscription keeps its callback as a plain attribute and the executor passes it the message only;
- Executor.shutdown() waits for every callback begun, a coroutine suspended in an await included (timeout_sec=None:
  for ever).
"""
import os
import runpy
import sys
import types

import rclpy
from rclpy import event_handler
import rclpy.action  # noqa: F401 (rclpy's own modules, loaded before what they import is hidden)
from rclpy.client import Client
from rclpy.executors import Executor
import rclpy.lifecycle  # noqa: F401
from rclpy.node import Node
from rclpy.parameter_service import ParameterService
from rclpy.publisher import Publisher
from rclpy.service import Service
from rclpy.subscription import Subscription
from rclpy.task import Future

HUMBLE_LACKS_MODULES = ('clock_type', 'destroyable', 'event_handler', 'experimental', 'logging_service',
                        'parameter_client', 'parameter_event_handler', 'service_introspection',
                        'subscription_content_filter_options', 'type_description_service', 'type_hash')
HUMBLE_LACKS_METHODS = {
    Node: ('add_post_set_parameters_callback', 'add_pre_set_parameters_callback', 'count_clients', 'count_services',
           'get_fully_qualified_node_names', 'list_parameters', 'remove_post_set_parameters_callback',
           'remove_pre_set_parameters_callback', 'wait_for_node'),
    Subscription: ('callback', 'get_content_filter', 'get_publisher_count', 'is_cft_enabled', 'logger_name',
                   'set_content_filter'),
    Publisher: ('logger_name',),
    Client: ('configure_introspection', 'logger_name', 'service_name'),
    Service: ('configure_introspection', 'logger_name', 'service_name'),
    Future: ('remove_done_callback',),
    Executor: ('create_future',),
}
QOS_EVENT_NAMES = (  # rclpy.qos_event of Humble
    'PublisherEventCallbacks', 'QoSLivelinessChangedInfo', 'QoSLivelinessLostInfo', 'QoSMessageLostInfo',
    'QoSOfferedDeadlineMissedInfo', 'QoSOfferedIncompatibleQoSInfo', 'QoSPublisherEventType',
    'QoSRequestedDeadlineMissedInfo', 'QoSRequestedIncompatibleQoSInfo', 'QoSSubscriptionEventType',
    'UnsupportedEventTypeError', 'qos_policy_name_from_kind')
UNSUPPORTED_EVENTS = [e for e in os.environ.get('HUMBLE_SURFACE_UNSUPPORTED_EVENTS', '').split(',') if e]


class SubscriptionEventCallbacks(event_handler.SubscriptionEventCallbacks):
    """Humble's: four events; a callback for one the middleware lacks raises UnsupportedEventTypeError."""

    def __init__(self, *, deadline=None, incompatible_qos=None, liveliness=None, message_lost=None,
                 use_default_callbacks=True):
        super().__init__(deadline=deadline, incompatible_qos=incompatible_qos, liveliness=liveliness,
                         message_lost=message_lost, use_default_callbacks=use_default_callbacks)

    def create_event_handlers(self, callback_group, subscription, topic_name):
        lacking = [event for event in UNSUPPORTED_EVENTS if getattr(self, event, None)]
        if lacking:
            raise event_handler.UnsupportedEventTypeError(f'event type {lacking[0]} unsupported (humble_surface)')
        return super().create_event_handlers(callback_group, subscription, topic_name)


def _list_parameters_callback(service, request, response, list_parameters=Node.list_parameters):
    response.result = list_parameters(service._get_node(), request.prefixes, request.depth)
    return response


def _shutdown(executor, timeout_sec=None, shutdown=Executor.shutdown):
    with executor._shutdown_lock:
        if not executor._is_shutdown:
            executor._is_shutdown = True
            executor._guard.trigger()
    if not executor._work_tracker.wait(timeout_sec):
        return False
    return shutdown(executor, timeout_sec)


def apply():
    """Make rclpy look and behave as Humble's."""
    qos_event = types.ModuleType('rclpy.qos_event', "Humble's rclpy.event_handler")
    qos_event.__dict__.update({name: getattr(event_handler, name) for name in QOS_EVENT_NAMES},
                              QoSEventHandler=event_handler.EventHandler,
                              SubscriptionEventCallbacks=SubscriptionEventCallbacks)
    sys.modules['rclpy.qos_event'] = rclpy.qos_event = qos_event
    for module in HUMBLE_LACKS_MODULES:
        sys.modules[f'rclpy.{module}'] = None  # import fails
        rclpy.__dict__.pop(module, None)
    for cls, names in HUMBLE_LACKS_METHODS.items():
        for name in names:
            if name in vars(cls):
                delattr(cls, name)
    Subscription._callback_type = Subscription.CallbackType.MessageOnly  # read by the executor
    ParameterService._list_parameters_callback = _list_parameters_callback
    Executor.shutdown = _shutdown


if __name__ == '__main__':
    apply()
    module = sys.argv[1]
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    runpy.run_module(module, run_name='__main__', alter_sys=True)
