"""Building messages and calling nodes from tests."""
import time

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image
from std_msgs.msg import Header


def image_msg(pixels, encoding='rgb8', stamp=(0, 0), frame_id='camera', pad=0):
    """An Image message of HxWxC uint8 `pixels`, with `pad` junk bytes after each row."""
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
    """The response to `request`, sent again every `resend` s while unanswered: the first response to a new client
    is lost when the service's response writer has not matched the client's reader yet (ros2/ros2#1253; seen here
    under load)."""
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
