"""Building messages and calling nodes from tests."""
import os
import time

from builtin_interfaces.msg import Time
import numpy as np
from rcl_interfaces.srv import DescribeParameters, GetParameters, GetParameterTypes, ListParameters
from rcl_interfaces.srv import SetParameters, SetParametersAtomically
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_classifier.nodes import compat


class Ros:
    """An rclpy context with a test node and an executor spun by `spin_until(predicate)`: conftest's `ros`."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f'test_{os.getpid()}', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, predicate, timeout=30.0):
        """Spin until `predicate()` holds (True) or `timeout` seconds pass (then what it says)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return predicate()

    def wait_for_subscriber(self, publisher, timeout=30.0):
        return self.spin_until(lambda: publisher.get_subscription_count() > 0, timeout)

    def wait_for_publisher(self, subscription, timeout=30.0):
        return self.spin_until(lambda: compat.publisher_count(self.node, subscription) > 0, timeout)

    def close(self):
        compat.shutdown_executor(self.executor)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def image_msg(pixels, encoding='rgb8', stamp=(0, 0), frame_id='camera', pad=0):
    """Return an Image message of HxWxC uint8 `pixels`, with `pad` junk bytes after each row."""
    rows = pixels.reshape(pixels.shape[0], -1)
    if pad:
        rows = np.hstack([rows, np.full((rows.shape[0], pad), 0xEE, np.uint8)])
    msg = Image(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id=frame_id),
                encoding=encoding, height=pixels.shape[0], width=pixels.shape[1], step=rows.shape[1])
    msg.data = rows.tobytes()
    return msg


def stamp_of(msg):
    return (msg.header.stamp.sec, msg.header.stamp.nanosec)


def call(ros, client, request, timeout=30.0, resend=5.0):
    """
    Return the response to `request`, sent again every `resend` s while unanswered.

    The first response to a new client is lost when the service's response writer has not matched the client's
    reader yet (ros2/ros2#1253; seen here under load).
    """
    assert client.wait_for_service(timeout_sec=timeout), f'{client.srv_name} not available'
    deadline = time.monotonic() + timeout
    sent = []
    while not any(f.done() for f in sent) and time.monotonic() < deadline:
        sent.append(client.call_async(request))
        ros.spin_until(lambda: any(f.done() for f in sent), min(resend, deadline - time.monotonic()))
    answered = [f for f in sent if f.done()]
    for future in sent:
        if not future.done():
            client.remove_pending_request(future)
    assert answered, f'{client.srv_name}: no answer'
    return answered[0].result()


class ServiceParameterClient:
    """
    The parameters of node `remote_node_name` through its parameter services: for Humble's rclpy.

    What the tests use of rclpy.parameter_client.AsyncParameterClient (Jazzy on), which Humble has not: each call
    returns the service call's Future, whose result is the service's response.
    """

    SERVICES = {'describe_parameters': DescribeParameters, 'get_parameter_types': GetParameterTypes,
                'get_parameters': GetParameters, 'list_parameters': ListParameters,
                'set_parameters': SetParameters, 'set_parameters_atomically': SetParametersAtomically}

    def __init__(self, node, remote_node_name):
        self.remote_node_name = remote_node_name
        self._clients = {name: node.create_client(srv_type, f'{remote_node_name}/{name}')
                         for name, srv_type in self.SERVICES.items()}

    def wait_for_services(self, timeout_sec=None):
        """Return whether every parameter service of the node is there within `timeout_sec` (None: for ever)."""
        deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
        return all(client.wait_for_service(None if deadline is None else max(0.0, deadline - time.monotonic()))
                   for client in self._clients.values())

    def _call(self, name, **fields):
        return self._clients[name].call_async(self.SERVICES[name].Request(**fields))

    def list_parameters(self, prefixes=None, depth=0):
        return self._call('list_parameters', prefixes=list(prefixes or []), depth=depth)

    def get_parameters(self, names):
        return self._call('get_parameters', names=list(names))

    def get_parameter_types(self, names):
        return self._call('get_parameter_types', names=list(names))

    def describe_parameters(self, names):
        return self._call('describe_parameters', names=list(names))

    def set_parameters(self, parameters):
        return self._call('set_parameters', parameters=[p.to_parameter_msg() for p in parameters])

    def set_parameters_atomically(self, parameters):
        return self._call('set_parameters_atomically', parameters=[p.to_parameter_msg() for p in parameters])


try:
    from rclpy.parameter_client import AsyncParameterClient
except ImportError:  # Humble
    AsyncParameterClient = ServiceParameterClient
