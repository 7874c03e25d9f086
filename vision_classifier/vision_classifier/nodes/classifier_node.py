"""classifier_node: subscribes `image` (or `image/compressed`), publishes `~/classifications`, serves
`~/get_classifications` and `~/get_classifications_from_camera`."""
import sys
import threading
import time
from dataclasses import dataclass

from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.task import Future
from vision_classifier_msgs.msg import Classification as ClassificationMsg
from vision_classifier_msgs.msg import Classifications
from vision_classifier_msgs.srv import GetClassifications, GetClassificationsFromCamera

from vision_classifier.nodes.diagnostics import Diagnostics
from vision_classifier.core.health import Health
from vision_classifier.core.image_encoding import decode_msg, ImageError
from vision_classifier.core.paths import PathError
from vision_classifier.core.rate_limit import FaultLog
from vision_classifier.core.parameters import CLASSIFIER
from vision_classifier.nodes.image_input import image_subscription
from vision_classifier.nodes.main import run_node, StartupError
from vision_classifier.nodes.parameters import declare
from vision_classifier.core.tflite_model import load_model, ModelConfig, ModelError
from vision_classifier.core.vision import parse_label_confidences, Thresholds, VisionService

DYNAMIC = tuple(name for name, p in CLASSIFIER.items() if p.dynamic)


@dataclass
class CameraRequest:
    """A get_classifications_from_camera request waiting for the next frame; its future gets (header, results)."""
    n: int
    deadline: float
    future: Future


def to_msgs(classifications):
    return [ClassificationMsg(class_name=c.class_name, confidence=c.confidence) for c in classifications]


class ClassifierNode(Node):
    NODE_NAME = 'classifier'

    def __init__(self, node_name=NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        p = declare(self, CLASSIFIER)
        self.packages_dir = p['packages_dir'] or None
        try:
            config = ModelConfig.from_parameters(p, self.packages_dir)
            self.service = VisionService(load_model(config), self._thresholds(p))
        except (ModelError, PathError, ValueError) as e:
            raise StartupError(str(e)) from None
        self.dynamic = {name: p[name] for name in DYNAMIC}
        self.faults = FaultLog(p['fault_log_period'])
        self._reconfiguring = threading.Lock()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        # Frames and service calls in their own group: under a multi-threaded executor (yours, in a composed
        # process) they go on with the old model while a new one loads in a parameter callback.
        work = MutuallyExclusiveCallbackGroup()
        self.publisher = self.create_publisher(Classifications, '~/classifications', 10)
        self.images, self.decode = image_subscription(self, p['image_transport'], self._on_image,
                                                      p['qos_reliability'], 1, callback_group=work)
        self.srv = self.create_service(GetClassifications, '~/get_classifications', self._on_get_classifications,
                                       callback_group=work)
        self.camera_name = p['camera_name'] or camera_of_topic(self.images.topic_name)
        self.camera_request_timeout = p['camera_request_timeout']
        self.max_camera_requests = p['max_camera_requests']
        self.camera_requests, self.camera_requests_lock, self.last_rejection = [], threading.Lock(), ''
        # Its own callback group: the handler waits for a frame while the image callback runs.
        self.camera_srv = self.create_service(
            GetClassificationsFromCamera, '~/get_classifications_from_camera',
            self._on_get_classifications_from_camera, callback_group=ReentrantCallbackGroup())
        self.camera_request_timer = self.create_timer(0.25, self._expire_camera_requests,
                                                      clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.health = Health('images', 'results', counts_drops=False)
        self.diagnostics = Diagnostics(self, self.health, 'classifier', lambda: (None, self.model_summary()))
        self.get_logger().info(
            f'{config.model_path}: {self.service.model.summary()}, {config.num_threads} thread(s); '
            f'listening on {self.images.topic_name}')

    @staticmethod
    def _thresholds(p):
        return Thresholds.create(p['default_minimum_confidence'], parse_label_confidences(p['label_confidences']))

    def _on_set_parameters(self, params):
        """Checks and applies changes; a new model is loaded here (blocking) and refused with the cause if bad."""
        with self._reconfiguring:
            values = dict(self.dynamic, **{p.name: p.value for p in params if p.name in DYNAMIC})
            values['label_confidences'] = values['label_confidences'] or []
            old_model, new_model = self.service.model, None
            try:
                thresholds = self._thresholds(values)
                config = ModelConfig.from_parameters(values, self.packages_dir)
                if config != old_model.config:
                    new_model = load_model(config)
            except (ModelError, PathError, ValueError) as e:
                return SetParametersResult(successful=False, reason=str(e))
            self.dynamic = values
            self.service.thresholds = thresholds
            if new_model is not None:
                self.service.model = new_model
                self.get_logger().info(f'model: {old_model.config.describe()} -> {config.describe()} '
                                       f'({new_model.summary()})')
            return SetParametersResult(successful=True)

    def decode_image(self, msg, max_bytes):
        """A message of the image subscription decoded; JPEG no larger than the model needs (its size, or larger)."""
        size = self.service.model.preprocessor.spec.size
        if self.decode is decode_msg or min(size) < 1:
            return self.decode(msg, max_bytes)
        return self.decode(msg, max_bytes, min_size=size)

    def model_summary(self):
        model = self.service.model
        return [('model', model.config.model_path), ('classes', str(len(model.labels))),
                ('input shape', str([int(d) for d in model.input_details['shape']])),
                ('input dtype', model.input_details['dtype'].__name__),
                ('num_threads', str(model.config.num_threads)), ('topic', self.images.topic_name)]

    def _classify(self, msg, n, decode=decode_msg):
        image = decode(msg, self.dynamic['max_image_bytes'])
        return self.service.classify(image.pixels, n, image.order)

    def classifications_for(self, msg, decode=decode_msg):
        """The Classifications message for an image message; raises ImageError for a bad image."""
        results = self._classify(msg, self.dynamic['max_classifications'], decode)
        return Classifications(header=msg.header, classifications=to_msgs(results))

    def _on_image(self, msg):
        self.health.frame_in()
        with self.camera_requests_lock:
            waiting, self.camera_requests = self.camera_requests, []
        top = self.dynamic['max_classifications']
        try:
            results = self._classify(msg, 0 if waiting else top, self.decode_image)
        except ImageError as e:
            with self.camera_requests_lock:
                self.camera_requests[:0] = waiting  # they wait for the next good frame
            self.last_rejection = str(e)
            self.health.fault(e.kind)
            if self.faults.report(e.kind):
                self.get_logger().warning(f'image rejected: {e} ({self.faults.counts[e.kind]} {e.kind} faults, '
                                          f'{self.faults.total} in all; repeats are logged every '
                                          f'{self.faults.period:g} s)')
            return
        self.last_rejection = ''
        self.publisher.publish(Classifications(header=msg.header, classifications=to_msgs(first(results, top))))
        self.health.result_out(self.diagnostics.age(msg.header))
        for request in waiting:
            request.future.set_result((msg.header, first(results, request.n)))

    async def _on_get_classifications_from_camera(self, request, response):
        """Answers with the next frame classified from the image subscription; never blocks the executor."""
        response.success = False
        known = (self.camera_name, self.images.topic_name)
        if request.camera_name not in known:
            response.error = (f'unknown camera "{request.camera_name}": this vision service classifies camera '
                              f'"{self.camera_name}" (topic {self.images.topic_name})')
            return response
        waiting = CameraRequest(request.n, time.monotonic() + self.camera_request_timeout, Future())
        with self.camera_requests_lock:
            if len(self.camera_requests) >= self.max_camera_requests:
                response.error = (f'{self.max_camera_requests} requests already wait for a frame of camera '
                                  f'"{self.camera_name}"; try again later')
                return response
            self.camera_requests.append(waiting)
        try:
            response.header, results = await waiting.future
        except TimeoutError as e:
            response.error = str(e)
            return response
        response.classifications = to_msgs(results)
        response.success = True
        return response

    def _expire_camera_requests(self):
        now = time.monotonic()
        with self.camera_requests_lock:
            expired = [r for r in self.camera_requests if r.deadline <= now]
            self.camera_requests = [r for r in self.camera_requests if r.deadline > now]
        if not expired:
            return
        topic, subscription = self.images.topic_name, self.images.subscription
        cause = (f'no publisher on {topic}' if subscription is None or subscription.get_publisher_count() == 0 else
                 f'the last frame was rejected: {self.last_rejection}' if self.last_rejection else
                 'is the camera publishing?')
        error = TimeoutError(f'no frame of camera "{self.camera_name}" ({topic}) classified within '
                             f'{self.camera_request_timeout:g} s ({cause})')
        for request in expired:
            request.future.set_exception(error)

    def _on_get_classifications(self, request, response):
        response.header = request.image.header
        try:
            response.classifications = to_msgs(self._classify(request.image, request.n))
            response.success = True
        except ImageError as e:
            response.success, response.error = False, str(e)
        return response


def first(results, n):
    """The best n of results sorted best first; n <= 0: all."""
    return results[:n] if n > 0 else results


def camera_of_topic(topic):
    """The camera of an image topic: /cam1/image_raw, /cam1/image and their /compressed give cam1; another topic
    names itself."""
    parts = topic.strip('/').removesuffix('/compressed').split('/')
    return parts[-2] if len(parts) >= 2 and parts[-1] in ('image_raw', 'image') else topic


def main(args=None):
    return run_node(ClassifierNode, args)


if __name__ == '__main__':
    sys.exit(main())
