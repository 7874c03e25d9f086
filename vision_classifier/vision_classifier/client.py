"""
Cameras and vision services from your own rclpy program, like Viam's Python SDK.

    cam1 = Camera(node, 'cam1')
    my_classifier = VisionClient(node, 'my_classifier')
    img = cam1.get_image()
    classifications = my_classifier.get_classifications(img, n=3)

Blocking calls spin the node themselves (on a private executor) when no executor has it; when it belongs to an
executor (spun in another thread), they wait for that executor to run their callbacks instead. Inside that
executor's callbacks use the `*_async` forms: `await my_classifier.get_classifications_async(img)`.
"""
import os
import threading
import time
from typing import List, Optional, Union

import cv2
import numpy as np
import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_classifier.core.vision import Classification
from vision_classifier.nodes import compat
from vision_classifier.nodes.messages import image_msg
from vision_classifier_msgs.srv import GetClassifications, GetClassificationsFromCamera

IMAGE_TYPES = {'sensor_msgs/msg/Image': Image, 'sensor_msgs/msg/CompressedImage': CompressedImage}
POLL_SECONDS = 0.05
GRACE_SECONDS = 2.0  # a blocking call gives the node's own timeout this long before it gives up itself
IDLE_EXECUTOR_SECONDS = 2.0  # an executor that runs no poll within this time is taken as not spinning
# A service call unanswered this long is sent again, then after twice as long, ...: the first response to a new
# client is lost when the service's response writer has not matched its reader yet (ros2/ros2#1253).
RESEND_SECONDS = 1.0


class VisionServiceError(RuntimeError):
    """The vision service answered with success=false; the message is its error text."""


def _domain_hint(what):
    domain = os.environ.get('ROS_DOMAIN_ID', '0 (unset)')
    return f'is {what} running, with the same ROS_DOMAIN_ID (here {domain})?'


class _Operation:
    """
    One call in progress.

    `poll` runs now and then every 50 ms, on the executor that spins the node, until the future is finished
    (once) by a poll, a callback or the deadline.
    """

    def __init__(self, endpoint, timeout, poll):
        self.future = Future()
        self.lock = threading.RLock()
        self.deadline = time.monotonic() + timeout
        self.node = endpoint.node
        self.poll = poll
        self.cleanups = []
        self.polled_by_executor = threading.Event()
        self.timer = self.node.create_timer(POLL_SECONDS, self._on_timer, callback_group=endpoint.group,
                                            clock=endpoint.clock)

    def finish(self, result=None, error=None):
        with self.lock:
            if self.future.done():
                return
            if error is None:
                self.future.set_result(result)
            else:
                self.future.set_exception(error)

    def expired(self):
        return time.monotonic() >= self.deadline

    def _on_timer(self):
        self.polled_by_executor.set()
        self.tick()

    def tick(self):
        with self.lock:
            if self.future.done():
                return
            try:
                self.poll(self)
            except Exception as e:  # for the caller, not the executor
                self.finish(error=e)

    def close(self):
        self.node.destroy_timer(self.timer)
        for cleanup in self.cleanups:
            cleanup()


class _Endpoint:
    def __init__(self, node):
        self.node = node
        self.group = ReentrantCallbackGroup()  # not blocked by a user's callback that awaits a result
        self.clock = Clock(clock_type=ClockType.STEADY_TIME)

    def _spun_elsewhere(self):
        executor = self.node.executor
        return executor is not None and self.node in executor.get_nodes()

    def _wait(self, operation, timeout):
        """Return the operation's result; spin the node on a private executor unless another executor has it."""
        if self._spun_elsewhere():
            finished = threading.Event()
            operation.future.add_done_callback(lambda _: finished.set())
            if not operation.polled_by_executor.wait(IDLE_EXECUTOR_SECONDS) and not finished.is_set():
                raise RuntimeError(
                    f'node {self.node.get_fully_qualified_name()} belongs to an executor that ran none of its '
                    f'callbacks within {IDLE_EXECUTOR_SECONDS:g} s: spin it in another thread (or remove it from '
                    'the executor); inside its callbacks, await the *_async form')
            if not finished.wait(timeout + GRACE_SECONDS):
                raise TimeoutError(f'no result within {timeout:g} s')
        else:
            executor = SingleThreadedExecutor(context=self.node.context)
            try:
                rclpy.spin_until_future_complete(self.node, operation.future, executor, timeout + GRACE_SECONDS)
            finally:
                compat.shutdown_executor(executor)
            if not operation.future.done():
                raise RuntimeError('rclpy was shut down' if not self.node.context.ok() else
                                   f'no result within {timeout:g} s')
        return operation.future.result()

    def _run(self, poll_for, timeout):
        operation = _Operation(self, timeout, poll_for(timeout))
        operation.tick()
        try:
            return self._wait(operation, timeout)
        finally:
            operation.close()

    async def _run_async(self, poll_for, timeout):
        operation = _Operation(self, timeout, poll_for(timeout))
        operation.tick()
        try:
            return await operation.future
        finally:
            operation.close()


class Camera(_Endpoint):
    """
    A camera of the config, or any image topic.

    `cam1` is /cam1/image_raw, or /cam1/image for a transform camera; a name with a slash is a sensor_msgs Image
    or CompressedImage topic (`/usb_cam/image_raw`). `qos`: the subscription's, else chosen from the publishers'.
    """

    def __init__(self, node: Node, name: str, qos: Optional[QoSProfile] = None) -> None:
        super().__init__(node)
        self.name = name
        self.topics = ['/' + name.lstrip('/')] if '/' in name else [f'/{name}/image_raw', f'/{name}/image']
        self.qos = qos
        self.topic = None
        # One subscription for the camera's life: readers created again and again on a topic of large frames
        # made Fast DDS (3.2) spin forever inside take() here.
        self._subscription = None
        self._waiting = {}  # operation: wall-clock ns of the call; frames received earlier are not "next"
        self._lock = threading.Lock()

    def get_image(self, timeout: float = 30.0) -> Image:
        """
        Return the next frame received after the call, as a sensor_msgs/Image (a CompressedImage decoded to rgb8).

        On Humble, whose rclpy gives no receive time, it may be a frame that waited in the subscription when the
        call began.
        """
        return self._run(self._poll_for, timeout)

    async def get_image_async(self, timeout: float = 30.0) -> Image:
        """Return what get_image does; for a callback of the executor that spins the node."""
        return await self._run_async(self._poll_for, timeout)

    def close(self) -> None:
        """Unsubscribe (the subscription is made by the first get_image and kept)."""
        if self._subscription is not None:
            self.node.destroy_subscription(self._subscription)
            self._subscription = None

    def _on_frame(self, msg, info):
        received = info['received_timestamp']  # 0: unknown (Humble)
        with self._lock:
            waiting = [op for op, called in self._waiting.items() if received >= called or not received]
        if not waiting:
            return
        try:
            image = msg if isinstance(msg, Image) else decode_compressed(msg, self.topic)
        except ValueError as e:
            image, error = None, e
        else:
            error = None
        for operation in waiting:
            operation.finish(result=image, error=error)

    def _poll_for(self, timeout):
        """Return the poll of a get_image call: find the topic and subscribe (once), then wait for a frame."""
        called = time.time_ns()

        def forget(operation):
            with self._lock:
                self._waiting.pop(operation, None)

        def poll(operation):
            if self._subscription is None:
                found = self._find_topic()
                if found:
                    self.topic, msg_type, qos = found
                    self._subscription = self.node.create_subscription(
                        msg_type, self.topic, compat.with_message_info(self._on_frame), qos, callback_group=self.group)
            if operation not in self._waiting:
                with self._lock:
                    self._waiting[operation] = called
                operation.cleanups.append(lambda: forget(operation))
            if operation.expired():
                if self._subscription is None:
                    raise TimeoutError(f'camera "{self.name}": no publisher on {" or ".join(self.topics)} within '
                                       f'{timeout:g} s; ' + _domain_hint('the camera node'))
                raise TimeoutError(f'camera "{self.name}": no frame on {self.topic} within {timeout:g} s '
                                   '(a publisher is there: is it publishing, with compatible QoS?)')
        return poll

    def _find_topic(self):
        """Return (topic, message type, QoS) of the first topic with a publisher, or None."""
        for topic in self.topics:
            publishers = self.node.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            type_name = publishers[0].topic_type
            if type_name not in IMAGE_TYPES:
                raise TypeError(f'camera "{self.name}": {topic} carries {type_name}, not an image')
            return topic, IMAGE_TYPES[type_name], self.qos or subscription_qos(publishers)
        return None


def subscription_qos(publishers: list) -> QoSProfile:
    """
    Return the QoS for a subscription to `publishers` (TopicEndpointInfo).

    Keep-last 1, reliable when every publisher is (large frames arrive over UDP only that way), else best_effort,
    which matches every publisher.
    """
    reliable = all(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in publishers)
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, durability=DurabilityPolicy.VOLATILE,
                      reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT)


def decode_compressed(msg: CompressedImage, topic: str) -> Image:
    """Return an rgb8 Image of a CompressedImage (JPEG, PNG, ...)."""
    pixels = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_COLOR)
    if pixels is None:
        raise ValueError(f'{topic}: a frame that is not a decodable image (format "{msg.format}")')
    return image_msg(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB), 'rgb8', msg.header)


class VisionClient(_Endpoint):
    """A vision service of the config: the classifier node `/<name>`."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node)
        self.name = name.rstrip('/')
        prefix = self.name if self.name.startswith('/') else f'/{self.name}'
        self._classify = node.create_client(GetClassifications, f'{prefix}/get_classifications',
                                            callback_group=self.group)
        self._from_camera = node.create_client(GetClassificationsFromCamera,
                                               f'{prefix}/get_classifications_from_camera',
                                               callback_group=self.group)

    def get_classifications(self, image: Union[Image, np.ndarray], n: int = 5,
                            timeout: float = 30.0) -> List[Classification]:
        """Return the classifications of an Image message or an HxWx3 uint8 RGB array, best first (n <= 0: all)."""
        return self._run(self._call_poll(self._classify, self._image_request(image, n)), timeout)

    async def get_classifications_async(self, image: Union[Image, np.ndarray], n: int = 5,
                                        timeout: float = 30.0) -> List[Classification]:
        """Return what get_classifications does; for a callback of the executor that spins the node."""
        return await self._run_async(self._call_poll(self._classify, self._image_request(image, n)), timeout)

    def get_classifications_from_camera(self, camera_name: str, n: int = 5,
                                        timeout: float = 30.0) -> List[Classification]:
        """
        Return the classifications of the next frame of a camera.

        Any camera the vision service classifies, another camera of the config, or an image topic (/...): the
        service subscribes those on demand.
        """
        request = GetClassificationsFromCamera.Request(camera_name=camera_name, n=n)
        return self._run(self._call_poll(self._from_camera, request), timeout)

    async def get_classifications_from_camera_async(self, camera_name: str, n: int = 5,
                                                    timeout: float = 30.0) -> List[Classification]:
        """Return what get_classifications_from_camera does; for a callback of the executor that spins the node."""
        request = GetClassificationsFromCamera.Request(camera_name=camera_name, n=n)
        return await self._run_async(self._call_poll(self._from_camera, request), timeout)

    def _image_request(self, image, n):
        if isinstance(image, Image):
            return GetClassifications.Request(image=image, n=n)
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise ValueError(f'expected an HxWx3 uint8 RGB array, got shape {image.shape} {image.dtype}')
            header = Header(stamp=self.node.get_clock().now().to_msg())
            return GetClassifications.Request(image=image_msg(image, 'rgb8', header), n=n)
        raise TypeError(f'expected a sensor_msgs/msg/Image or an HxWx3 uint8 RGB array, got {type(image).__name__}')

    def _call_poll(self, client, request):
        def poll_for(timeout):
            """
            Return the poll of a service call.

            It sends once the service is there, again while unanswered; the first answer is the result.
            """
            sent, resend_at = [], 0.0

            def on_response(operation, future):
                response = future.result()
                if response.success:
                    operation.finish(result=[Classification(c.class_name, c.confidence)
                                             for c in response.classifications])
                else:
                    operation.finish(error=VisionServiceError(f'{client.srv_name}: {response.error}'))

            def forget_unanswered():
                for future in sent:
                    if not future.done():
                        client.remove_pending_request(future)

            def poll(operation):
                nonlocal resend_at
                if not operation.cleanups:
                    operation.cleanups.append(forget_unanswered)
                if time.monotonic() >= resend_at and client.service_is_ready():
                    sent.append(client.call_async(request))
                    sent[-1].add_done_callback(lambda future: on_response(operation, future))
                    resend_at = time.monotonic() + RESEND_SECONDS * 2 ** (len(sent) - 1)
                if operation.expired():
                    if not sent:
                        raise TimeoutError(f'no service {client.srv_name} within {timeout:g} s; '
                                           + _domain_hint(f'the vision service "{self.name}"'))
                    raise TimeoutError(f'{client.srv_name} did not answer within {timeout:g} s')
            return poll
        return poll_for
