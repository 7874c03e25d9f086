"""
Image inputs of the nodes: subscriptions to sensor_msgs/Image or CompressedImage, keep-last `depth`.

Their reliability is `qos_reliability` auto, reliable or best_effort; each one watches the graph and says why
nothing comes in (no publisher, another message type, incompatible QoS) in one log line and on /diagnostics.
"""
import re
import time

from rclpy.clock import Clock, ClockType
from rclpy.qos import DurabilityPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from vision_classifier.core.compressed import decode_compressed_msg
from vision_classifier.core.graph_checks import diagnose, Endpoint
from vision_classifier.core.image_encoding import decode_msg
from vision_classifier.core.parameters import AUTO_QOS_DEFAULT, AUTO_QOS_WAIT_SECONDS, QOS_CHOICES, TRANSPORTS
from vision_classifier.nodes.compat import create_subscription, qos_policy_name_from_kind, SubscriptionEventCallbacks
from vision_classifier.nodes.main import StartupError

TRANSPORT_TYPES = {'raw': (Image, decode_msg), 'compressed': (CompressedImage, decode_compressed_msg)}
QOS_RELIABILITY = {'best_effort': ReliabilityPolicy.BEST_EFFORT, 'reliable': ReliabilityPolicy.RELIABLE}
CHECK_SECONDS = 1.0  # the graph is checked this often


def image_qos(reliability, depth=1):
    """Return sensor-data QoS (keep last `depth`) with `reliable` or `best_effort` reliability."""
    return QoSProfile(history=qos_profile_sensor_data.history, depth=depth,
                      reliability=QOS_RELIABILITY[reliability], durability=qos_profile_sensor_data.durability)


def endpoint(info):
    """Return the Endpoint of an rclpy TopicEndpointInfo."""
    qos = info.qos_profile
    return Endpoint(publisher_name(info) or '', info.topic_type,
                    'best_effort' if qos.reliability == ReliabilityPolicy.BEST_EFFORT else 'reliable',
                    'transient_local' if qos.durability == DurabilityPolicy.TRANSIENT_LOCAL else 'volatile')


def published_topics(node):
    """Return ({topic: [types]}, {topic: publisher count}) of every topic that has publishers."""
    names_and_types = node.get_topic_names_and_types()
    counts = {topic: node.count_publishers(topic) for topic, _ in names_and_types}
    return {topic: types for topic, types in names_and_types if counts[topic]}, counts


def cause(problem):
    """Return a problem without its duration: one log line per cause, not per second."""
    return re.sub(r' for \d+ s', '', problem)


def reliability_of_publishers(infos, type_name):
    """
    Return (`reliable` or `best_effort`, why) for the publishers of `type_name` among `infos`.

    As `ros2 topic echo` and rosbag2 choose; None when there are none. `infos`: get_publishers_info_by_topic.
    """
    matching = [i for i in infos if i.topic_type == type_name]
    if not matching:
        return None
    best_effort = [i for i in matching if i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT]
    names = sorted({publisher_name(i) for i in (best_effort or matching)} - {None})
    names = f': {", ".join(names)}' if names else ''
    if best_effort:
        return 'best_effort', f'{len(best_effort)} of {len(matching)} publisher(s) best_effort{names}'
    return 'reliable', f'{len(matching)} publisher(s), all reliable{names}'


def publisher_name(info):
    """Return the publisher's node, None while discovery has not told its name."""
    if not info.node_name or info.node_name.startswith('_NODE_'):
        return None
    return info.node_namespace.rstrip('/') + '/' + info.node_name


class ImageSubscription:
    """
    A subscription with `qos_reliability` `reliable`, `best_effort` or `auto`.

    With `auto` it is created once a publisher of the topic appears (best_effort if any publisher is best_effort,
    else reliable), or after AUTO_QOS_WAIT_SECONDS without one with AUTO_QOS_DEFAULT; while reliable it keeps
    watching the graph (once a second) and becomes best_effort when a best_effort publisher appears. Each choice is
    logged in one line. `problems` are why nothing comes in, found once a second (each logged once when it appears).
    """

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
        self.problems, self._missing_since = [], time.monotonic()
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._check_timer = node.create_timer(CHECK_SECONDS, self.check, clock=steady)
        if not self.auto:
            self._create(reliability)
            return
        self._deadline = time.monotonic() + wait
        self._watch(0.1)

    def _watch(self, period):
        if self._timer is not None:
            self._timer.cancel()
            self.node.destroy_timer(self._timer)
        self._timer = None if period is None else self.node.create_timer(
            period, self._poll, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def _poll(self):
        found = reliability_of_publishers(self.node.get_publishers_info_by_topic(self.topic_name), self.type_name)
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

    def check(self):
        """Find why nothing comes in; log each problem once, when it appears."""
        publishers = [endpoint(i) for i in self.node.get_publishers_info_by_topic(self.topic_name)]
        now = time.monotonic()
        if publishers:
            self._missing_since = now
        published, counts = published_topics(self.node) if not publishers else ({}, {})
        ours = Endpoint('', self.type_name, self.reliability or AUTO_QOS_DEFAULT, 'volatile')
        problems = diagnose(self.topic_name, self.type_name, ours, publishers, published, counts,
                            now - self._missing_since)
        if self.auto:  # auto follows best_effort publishers: a reliability mismatch is passing
            problems = [p for p in problems if 'reliability:' not in p]
        seen = {cause(p) for p in self.problems}
        for problem in problems:
            if cause(problem) not in seen:
                hint = (' (for a ros_topic camera set "format": "raw" or "compressed" to match)'
                        if ' carries ' in problem else '')
                self.node.get_logger().warning(problem + hint)
        self.problems = problems

    def _create(self, reliability):
        if self.subscription is not None:
            self.node.destroy_subscription(self.subscription)
        self.reliability = reliability
        self.subscription = create_subscription(
            self.node, self.msg_type, self.topic_name, self.callback, image_qos(reliability, self.depth),
            callback_group=self.callback_group,
            event_callbacks=warn_on_incompatible_qos(self.node, self.topic_name, reliability, self.auto))

    def destroy(self):
        self._watch(None)
        self.node.destroy_timer(self._check_timer)
        if self.subscription is not None:
            self.node.destroy_subscription(self.subscription)


def warn_on_incompatible_qos(node, topic, reliability, auto=False):
    """
    Return event callbacks that say why a publisher does not connect, naming both sides' settings.

    With `auto`, a reliability mismatch is not reported: ImageSubscription switches to best_effort.
    """
    def on_incompatible(event):
        policy = qos_policy_name_from_kind(event.last_policy_kind)
        if auto and policy == 'RELIABILITY':
            return
        offered = ', '.join(f'{e.describe()}' for e in map(endpoint, node.get_publishers_info_by_topic(topic)))
        node.get_logger().warning(
            f'a publisher on {topic} has incompatible QoS ({policy}): it offers {offered or "?"}, this subscription '
            f'asks {reliability}; its images are not received. For a best_effort camera set '
            'qos_reliability:=best_effort or auto (see docs/qos.md).')
    return SubscriptionEventCallbacks(incompatible_qos=on_incompatible)


def image_topic(node, transport):
    """
    Return the topic of `image` after remapping.

    For `compressed`: `image/compressed` if remapped itself, else the image topic + `/compressed` (image_transport's
    name, so `-r image:=/cam/image_raw` also finds /cam/image_raw/compressed).
    """
    raw = node.resolve_topic_name('image')
    if transport == 'raw':
        return raw
    compressed = node.resolve_topic_name('image/compressed')
    return compressed if compressed != node.resolve_topic_name('image/compressed', only_expand=True) else \
        raw.rstrip('/') + '/compressed'


def image_subscription(node, transport, callback, reliability, depth, callback_group=None):
    """Return (ImageSubscription, decoder of its messages) for the `image_transport` parameter's value."""
    if transport not in TRANSPORTS:
        raise StartupError(f'image_transport: expected one of {", ".join(TRANSPORTS)}, got {transport!r}')
    msg_type, decode = TRANSPORT_TYPES[transport]
    return ImageSubscription(node, msg_type, image_topic(node, transport), callback, reliability, depth,
                             callback_group=callback_group), decode
