"""
classifier_node: a vision service; one model classifies any number of cameras.

Subscribes each camera of `cameras` (or the one input `image`), publishes `~/classifications` (every camera) and
`~/<camera>/classifications`, serves `~/get_classifications` and `~/get_classifications_from_camera`.
"""
from dataclasses import dataclass, field
import sys
import threading
import time

from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.task import Future

from vision_classifier.core.camera_inputs import CameraInput, default_transport, parse_cameras
from vision_classifier.core.camera_requests import CameraRequest, CameraRequests
from vision_classifier.core.health import Health
from vision_classifier.core.image_encoding import decode_msg, ImageError
from vision_classifier.core.parameters import CLASSIFIER
from vision_classifier.core.paths import PathError
from vision_classifier.core.rate_limit import FaultLog
from vision_classifier.core.scheduler import Scheduler
from vision_classifier.core.tflite_model import load_model, ModelConfig, ModelError
from vision_classifier.core.topics import camera_of_topic, CLASSIFICATIONS
from vision_classifier.core.vision import parse_label_confidences, Thresholds, VisionService
from vision_classifier.nodes import compat
from vision_classifier.nodes import vision_msgs_output
from vision_classifier.nodes.diagnostics import Diagnostics
from vision_classifier.nodes.image_input import image_topic, ImageSubscription, TRANSPORT_TYPES
from vision_classifier.nodes.lifecycle import ManagedNode
from vision_classifier.nodes.main import run_node
from vision_classifier.nodes.parameters import declare
from vision_classifier.nodes.vision_msgs_output import VisionMsgs
from vision_classifier_msgs.msg import Classification as ClassificationMsg
from vision_classifier_msgs.msg import Classifications
from vision_classifier_msgs.srv import GetClassifications, GetClassificationsFromCamera

DYNAMIC = tuple(name for name, p in CLASSIFIER.items() if p.dynamic)
CAMERA_LISTS = ('cameras', 'other_cameras')
TICK_SECONDS = 0.25   # requests expire and idle on-demand cameras are dropped this often
MAX_PUBLISHERS = 16   # per camera, whose sequence numbers are followed


def to_msgs(classifications):
    return [ClassificationMsg(class_name=c.class_name, confidence=c.confidence) for c in classifications]


@dataclass
class Input:
    """A camera's subscription: its own results topic (None: results only on ~/classifications, or none on demand)."""

    camera: CameraInput
    subscription: ImageSubscription
    decode: object
    publisher: object
    health: Health
    on_demand: bool = False
    last_rejection: str = ''
    last_request: float = 0.0
    sequences: dict = field(default_factory=dict)  # publisher -> publication sequence number of its last frame taken

    def skipped(self, info):
        """Count the frames its publisher sent since the last one taken (replaced unclassified in keep-last 1)."""
        sequence = info.get('publication_sequence_number')
        if not sequence:  # Humble, or an RMW that does not tell
            return 0
        publisher = str(info.get('publisher_gid'))
        last = self.sequences.get(publisher)
        if last is None and len(self.sequences) >= MAX_PUBLISHERS:
            self.sequences.clear()
        self.sequences[publisher] = sequence
        return sequence - last - 1 if last is not None and sequence > last else 0


class ClassifierNode(ManagedNode):
    NODE_NAME = 'classifier'

    def __init__(self, node_name=NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        self.p = declare(self, CLASSIFIER)
        self.packages_dir = self.p['packages_dir'] or None
        self.service = self.requests = self.vision = self.publisher = None  # from configure
        self.inputs, self.others = {}, {}  # inputs: replaced, never changed (read by other threads)
        self.entities = []  # services and timers while active
        self._new_cameras = None  # a `cameras` value set, for the executor to apply
        self._reconfiguring = threading.Lock()
        self.scheduler, self._lock = Scheduler(), threading.Lock()  # the lock: threads of a multi-threaded executor
        # Frames, their classification and service calls in one group: under a multi-threaded executor (yours, in a
        # composed process) they go on with the old model while a new one loads in a parameter callback.
        self.work = MutuallyExclusiveCallbackGroup()
        self.health = Health('images', 'results', counts_drops=False)
        self.ready = self.create_guard_condition(self._classify_round, callback_group=self.work)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.diagnostics = Diagnostics(self, self.health, 'classifier', self._status, self._camera_reports)
        if self.p['autostart']:
            self.autostart()

    # --- lifecycle

    def configure(self):
        """Read the parameters, load the model and make the publishers."""
        p = self.p
        config = ModelConfig.from_parameters(p, self.packages_dir)
        parse_cameras(p['cameras'])
        self.others = {c.name: c for c in parse_cameras(p['other_cameras'])}
        self.service = VisionService(load_model(config), self._thresholds(p))
        self.faults = FaultLog(p['fault_log_period'])
        self.requests = CameraRequests(p['max_camera_requests'])
        self.publisher = self.create_publisher(Classifications, f'~/{CLASSIFICATIONS}', 10)
        if vision_msgs_output.available():
            self.vision = VisionMsgs(self, p['vision_msgs_class_id'])
        else:
            self.get_logger().info(vision_msgs_output.MISSING)
        self.get_logger().info(f'{config.model_path}: {self.service.model.summary()}, {config.num_threads} thread(s)')

    def activate(self):
        """Subscribe the cameras, serve, and describe the model on vision_msgs."""
        self._new_cameras = None
        self._set_cameras(parse_cameras(self.p['cameras']))
        self.entities = [
            self.create_service(GetClassifications, '~/get_classifications', self._on_get_classifications,
                                callback_group=self.work),
            # Its own callback group: the handler waits for a frame while frames are classified.
            self.create_service(GetClassificationsFromCamera, '~/get_classifications_from_camera',
                                self._on_get_classifications_from_camera, callback_group=ReentrantCallbackGroup()),
            self.create_timer(TICK_SECONDS, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME),
                              callback_group=self.work)]
        if self.vision is not None:
            self._describe(new_model=self.vision.version == 0)
        self.get_logger().info(f'listening on {", ".join(i.subscription.topic_name for i in self.inputs.values())}')

    def deactivate(self):
        """Unsubscribe and stop serving: an inactive classifier costs about nothing while cameras publish."""
        for name in list(self.inputs):
            self._unsubscribe(name, 'the vision service was deactivated')
        for entity in self.entities:
            (self.destroy_timer if hasattr(entity, 'timer_period_ns') else self.destroy_service)(entity)
        self.entities = []

    def cleanup(self):
        """Free the model and the publishers."""
        if self.vision is not None:
            self.vision.destroy()
        if self.publisher is not None:
            self.destroy_publisher(self.publisher)
        self.service = self.requests = self.vision = self.publisher = None

    def _describe(self, new_model):
        """Publish the model and labels on vision_msgs (latched), a new database version for a new model."""
        model = self.service.model
        self.vision.describe(model.config, model, self.p['default_minimum_confidence'], new_model)

    @staticmethod
    def _thresholds(p):
        return Thresholds.create(p['default_minimum_confidence'], parse_label_confidences(p['label_confidences']))

    # --- cameras

    def _default_camera(self):
        """Return the one input `image` (with no `cameras`), named by camera_name or its topic."""
        transport = self.p['image_transport']
        topic = image_topic(self, transport)
        return CameraInput(self.p['camera_name'] or camera_of_topic(topic), topic, transport,
                           self.p['qos_reliability'])

    def _subscribe(self, camera, own_topic, on_demand=False):
        msg_type, decode = TRANSPORT_TYPES[camera.transport]
        subscription = ImageSubscription(
            self, msg_type, camera.topic,
            compat.with_message_info(lambda msg, info, name=camera.name: self._on_image(name, msg, info)),
            camera.qos_reliability or self.p['qos_reliability'], 1, callback_group=self.work)
        publisher = self.create_publisher(Classifications, f'~/{camera.name}/{CLASSIFICATIONS}', 10) \
            if own_topic else None
        if own_topic and self.vision is not None:
            self.vision.add_camera(camera.name)
        return Input(camera, subscription, decode, publisher,
                     Health('frames', 'classified', drops='skipped', drops_warn=False), on_demand)

    def _add_input(self, name, added):
        with self._lock:
            self.scheduler.add(name)
        self.inputs = {**self.inputs, name: added}

    def _unsubscribe(self, name, why='was removed from the vision service'):
        """Stop classifying camera `name`; its waiting requests get an error saying so."""
        gone = self.inputs[name]
        self.inputs = {n: i for n, i in self.inputs.items() if n != name}  # replaced, never changed: other threads
        with self._lock:
            self.scheduler.remove(name)
        gone.subscription.destroy()
        if gone.publisher is not None:
            self.destroy_publisher(gone.publisher)
            if self.vision is not None:
                self.vision.remove_camera(name)
        for request in self.requests.take(name):
            request.answer.set_exception(TimeoutError(f'camera "{name}" {why}'))

    def _set_cameras(self, cameras):
        """Subscribe the cameras of a `cameras` value (none: the one input `image`); the model is untouched."""
        wanted = {c.name: c for c in cameras} if cameras else {(c := self._default_camera()).name: c}
        for name in [n for n, i in self.inputs.items() if i.on_demand is False and wanted.get(n) != i.camera]:
            self._unsubscribe(name)
        for name, camera in wanted.items():
            if name in self.inputs and self.inputs[name].on_demand:
                self._unsubscribe(name)  # was subscribed on demand: now one of the node's cameras
            if name not in self.inputs:
                self._add_input(name, self._subscribe(camera, own_topic=bool(cameras)))

    def _camera_for_request(self, name):
        """Return the Input a request for `name` waits on (subscribed on demand if needed), or an error text."""
        name = name or self.p['camera_name'] or next(iter(self.inputs), '')
        known = next((i for i in self.inputs.values() if name in (i.camera.name, i.camera.topic)), None)
        if known is not None:
            return known
        other = next((c for c in self.others.values() if name in (c.name, c.topic)), None)
        if other is None and name.startswith('/'):
            other = CameraInput(name, name, default_transport(name))
        if other is None:
            classified = [i for i in self.inputs.values() if not i.on_demand]
            names = ', '.join(f'"{i.camera.name}" (topic {i.subscription.topic_name})' for i in classified)
            on_demand = ''.join(f', "{c}"' for c in self.others)
            return (f'unknown camera "{name}": this vision service classifies '
                    f'{"camera" if len(classified) == 1 else "cameras"} {names or "none"}; on demand it takes '
                    f'any image topic (/...){on_demand}')
        added = self._subscribe(other, own_topic=False, on_demand=True)
        self._add_input(other.name, added)
        self.get_logger().info(f'camera "{other.name}" ({added.subscription.topic_name}) subscribed on demand')
        return added

    def _tick(self):
        self._apply_new_cameras()
        now = time.monotonic()
        for request in self.requests.expire(now):
            request.answer.set_exception(TimeoutError(self._no_frame(request.camera)))
        waited_for = self.requests.cameras()
        for name, i in list(self.inputs.items()):
            if i.on_demand and name not in waited_for and now - i.last_request >= self.p['on_demand_idle']:
                self._unsubscribe(name)
                self.get_logger().info(f'camera "{name}": on-demand subscription dropped (idle)')

    def _no_frame(self, name):
        i = self.inputs.get(name)
        if i is None:
            return f'camera "{name}" was removed from the vision service'
        topic, subscription = i.subscription.topic_name, i.subscription.subscription
        unheard = subscription is None or compat.publisher_count(self, subscription) == 0
        cause = (f'no publisher on {topic}' if unheard else
                 f'the last frame was rejected: {i.last_rejection}' if i.last_rejection else
                 'is the camera publishing?')
        return (f'no frame of camera "{name}" ({topic}) classified within '
                f'{self.p["camera_request_timeout"]:g} s ({cause})')

    # --- frames

    def _on_image(self, name, msg, info):
        """Keep a camera's newest frame; the frames of a round are classified once they are all taken."""
        self._apply_new_cameras()
        i = self.inputs.get(name)
        if i is None:
            return  # removed
        skipped = i.skipped(info)
        if i.on_demand and name not in self.requests.cameras():
            return  # subscribed on demand, and no request waits
        i.health.frame_in()
        self.health.frame_in()
        i.health.drop(skipped)
        with self._lock:
            replaced = self.scheduler.put(name, (msg, info.get('received_timestamp') or time.time_ns()),
                                          time.monotonic())
        if replaced is not None:
            i.health.drop()
        self.ready.trigger()

    def _classify_round(self):
        """
        Classify every frame waiting, the camera that has waited longest first.

        The executor takes every camera's newest frame (keep-last 1), then this runs: a round of one frame per camera
        that has one, all taken at about the same time, so every camera has a new frame for the next round as often
        as the others and none starves.
        """
        self._apply_new_cameras()
        while True:
            with self._lock:
                taken = self.scheduler.take()
            if taken is None:
                return
            i = self.inputs.get(taken[0])
            if i is not None:
                self._classify_frame(i, *taken[1])

    def _apply_new_cameras(self):
        """Apply a `cameras` value set: subscriptions change here, in the executor, never under its wait."""
        cameras, self._new_cameras = self._new_cameras, None
        if cameras is not None:
            self._set_cameras(cameras)
            self.get_logger().info(f'cameras: {", ".join(n for n, i in self.inputs.items() if not i.on_demand)}')

    def decode_image(self, msg, max_bytes, decode=None):
        """Decode a message of an image subscription; a JPEG no larger than the model needs (its size, or larger)."""
        decode = decode or TRANSPORT_TYPES[self.p['image_transport']][1]
        size = self.service.model.preprocessor.spec.size
        if decode is decode_msg or min(size) < 1:
            return decode(msg, max_bytes)
        return decode(msg, max_bytes, min_size=size)

    def _classify_frame(self, i, msg, arrived):
        name = i.camera.name
        waiting = self.requests.take(name)
        late = [r for r in waiting if r.since > arrived]  # asked after this frame came: they wait for the next
        waiting = [r for r in waiting if r.since <= arrived]
        self.requests.put_back(late)
        top = self.p['max_classifications']
        try:
            image = self.decode_image(msg, self.p['max_image_bytes'], i.decode)
            results = self.service.classify(image.pixels, 0 if waiting else top, image.order)
        except ImageError as e:
            self.requests.put_back(waiting)
            i.last_rejection = str(e)
            i.health.fault(e.kind)
            self.health.fault(e.kind)
            if self.faults.report(e.kind):
                camera = f' (camera "{name}")' if len(self.inputs) > 1 else ''
                self.get_logger().warning(
                    f'image rejected{camera}: {e} ({self.faults.counts[e.kind]} {e.kind} faults, '
                    f'{self.faults.total} in all; repeats are logged every {self.faults.period:g} s)')
            return
        i.last_rejection = ''
        if not i.on_demand:
            listening = [p for p in (self.publisher, i.publisher) if p is not None and p.get_subscription_count()]
            if listening:
                out = Classifications(header=msg.header, classifications=to_msgs(first(results, top)))
                for publisher in listening:
                    publisher.publish(out)
            if self.vision is not None:
                self.vision.publish(msg.header, first(results, top), name if i.publisher else None)
            age = self.diagnostics.age(msg.header)
            i.health.result_out(age)
            self.health.result_out(age)
        for request in waiting:
            request.answer.set_result((msg.header, first(results, request.n)))

    # --- services

    def _classify(self, msg, n, decode=decode_msg):
        image = decode(msg, self.p['max_image_bytes'])
        return self.service.classify(image.pixels, n, image.order)

    def classifications_for(self, msg, decode=decode_msg):
        """Return the Classifications message for an image message; raises ImageError for a bad image."""
        results = self._classify(msg, self.p['max_classifications'], decode)
        return Classifications(header=msg.header, classifications=to_msgs(results))

    def _on_get_classifications(self, request, response):
        response.header = request.image.header
        try:
            response.classifications = to_msgs(self._classify(request.image, request.n))
            response.success = True
        except ImageError as e:
            response.success, response.error = False, str(e)
        return response

    async def _on_get_classifications_from_camera(self, request, response):
        """Answer with the camera's next frame classified after the request came; never blocks the executor."""
        response.success = False
        i = self._camera_for_request(request.camera_name)
        if isinstance(i, str):
            response.error = i
            return response
        now = time.monotonic()
        i.last_request = now
        waiting = CameraRequest(i.camera.name, request.n, now + self.p['camera_request_timeout'], Future(),
                                since=time.time_ns())
        if not self.requests.add(waiting):
            response.error = (f'{self.requests.limit} requests already wait for a frame of camera '
                              f'"{i.camera.name}"; try again later')
            return response
        try:
            response.header, results = await waiting.answer
        except TimeoutError as e:
            response.error = str(e)
            return response
        response.classifications = to_msgs(results)
        response.success = True
        return response

    # --- parameters and health

    def _on_set_parameters(self, params):
        """
        Check and apply changes; a new model is loaded here (blocking) and refused with the cause if bad.

        Before configure (and after cleanup) the values are only checked: configure loads the model.
        """
        with self._reconfiguring:
            values = dict(self.p, **{p.name: p.value for p in params if p.name in DYNAMIC})
            for name in ('label_confidences', *CAMERA_LISTS):
                values[name] = list(values[name] or [])
            service = self.service
            new_model = None
            try:
                thresholds = self._thresholds(values)
                cameras, others = parse_cameras(values['cameras']), parse_cameras(values['other_cameras'])
                config = ModelConfig.from_parameters(values, self.packages_dir)
                if service is not None and config != service.model.config:
                    new_model = load_model(config)
            except (ModelError, PathError, ValueError) as e:
                return SetParametersResult(successful=False, reason=str(e))
            cameras_changed = values['cameras'] != self.p['cameras']
            threshold_changed = values['default_minimum_confidence'] != self.p['default_minimum_confidence']
            self.p = values
            if service is None:
                return SetParametersResult(successful=True)
            service.thresholds = thresholds
            self.others = {c.name: c for c in others}
            if cameras_changed and self.active:
                self._new_cameras = cameras  # applied by the executor (_apply_new_cameras)
            if new_model is not None:
                old = service.model.config
                service.model = new_model
                self.get_logger().info(f'model: {old.describe()} -> {config.describe()} ({new_model.summary()})')
            if self.vision is not None and self.active and (new_model is not None or threshold_changed):
                self._describe(new_model is not None)
            return SetParametersResult(successful=True)

    def _status(self):
        """Return (no problem, the model's rows, why nothing comes in from which camera)."""
        named = len(self.inputs) > 1
        return None, self.model_summary(), [f'camera "{name}": {p}' if named else p
                                            for name, i in self.inputs.items() for p in i.subscription.problems]

    def model_summary(self):
        state = [('state', 'active' if self.active else 'inactive' if self.service else 'unconfigured')]
        if self.service is None:
            return state
        model = self.service.model
        return [('model', model.config.model_path), ('classes', str(len(model.labels))),
                ('input shape', str([int(d) for d in model.input_details['shape']])),
                ('input dtype', model.input_details['dtype'].__name__),
                ('num_threads', str(model.config.num_threads)),
                ('topic', ', '.join(i.subscription.topic_name for i in self.inputs.values() if not i.on_demand)),
                *state]

    def _camera_reports(self):
        """One diagnostics part per camera, when there are several: frames in, classified, skipped, latency."""
        if not self.p['cameras']:
            return []
        return [(f'camera {i.camera.name}', i.health, [('topic', i.subscription.topic_name)], i.subscription.problems)
                for i in self.inputs.values() if not i.on_demand]

    def destroy_node(self):
        for request in self.requests.expire(float('inf')) if getattr(self, 'requests', None) else ():
            request.answer.set_exception(TimeoutError('the vision service is shutting down'))
        return super().destroy_node()


def first(results, n):
    """Return the best n of results sorted best first; n <= 0: all."""
    return results[:n] if n > 0 else results


def main(args=None):
    return run_node(ClassifierNode, args)


if __name__ == '__main__':
    sys.exit(main())
