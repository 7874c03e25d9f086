"""Building messages, spinning, and calling nodes from tests."""
import os
import time

from builtin_interfaces.msg import Time
import numpy as np
from rcl_interfaces.srv import GetParameters, SetParameters, SetParametersAtomically
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter, parameter_value_to_python
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from support import TIMEOUT
from vision_classifier.nodes import compat


class Ros:
    """An rclpy context with a test node and an executor spun by `spin_until(predicate)`."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f'test_{os.getpid()}', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, predicate, timeout=TIMEOUT):
        """Spin until predicate() is true; whether it became true within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return bool(predicate())

    def wait_for_subscriber(self, publisher, timeout=TIMEOUT):
        return self.spin_until(lambda: publisher.get_subscription_count() > 0, timeout)

    def wait_for_publisher(self, subscription, timeout=TIMEOUT):
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


def seconds_of(msg):
    """Return the header stamp of `msg` in seconds."""
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def send_until(ros, send, done, timeout=TIMEOUT, period=0.5):
    """
    Call send(), then spin for up to `period` s until done(), again and again; whether done() became true.

    Discovery may lose what is sent before both sides have matched, so tests send until the answer comes.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        send()
        if ros.spin_until(done, min(period, max(0.0, deadline - time.monotonic()))):
            return True
    return bool(done())


def call(ros, client, request, timeout=TIMEOUT, resend=5.0):
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


def set_parameters(ros, node_name, **values):
    """Set parameters of node /node_name over DDS, as `ros2 param set` does; the SetParametersResult of each."""
    return _set(ros, SetParameters, f'/{node_name}/set_parameters', values).results


def set_parameters_atomically(ros, node_name, **values):
    """Set parameters of node /node_name together (SetParametersAtomically); the one SetParametersResult."""
    return _set(ros, SetParametersAtomically, f'/{node_name}/set_parameters_atomically', values).result


def _set(ros, service_type, service, values):
    client = ros.node.create_client(service_type, service)
    try:
        msgs = [Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
        return call(ros, client, service_type.Request(parameters=msgs))
    finally:
        ros.node.destroy_client(client)


def get_parameter(ros, node_name, name):
    """Return the value of a parameter of node /node_name over DDS, as `ros2 param get` does."""
    client = ros.node.create_client(GetParameters, f'/{node_name}/get_parameters')
    try:
        return parameter_value_to_python(call(ros, client, GetParameters.Request(names=[name])).values[0])
    finally:
        ros.node.destroy_client(client)
