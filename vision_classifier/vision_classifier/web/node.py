"""
web_node: serves the control page (vision_classifier.web.server).

It feeds the page the newest image of each camera topic and the newest classifications of each vision service. Its
callbacks only store a reference: JPEG encoding happens in the web server, once per new frame and only while a
browser watches.
"""
import sys

import cv2
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rcl_interfaces.msg import SetParametersResult
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CompressedImage, Image

from vision_classifier.core.camera_inputs import parse_cameras
from vision_classifier.core.image_encoding import decode_msg
from vision_classifier.core.output import write_line
from vision_classifier.core.parameters import WEB
from vision_classifier.core.preprocess import to_rgb
from vision_classifier.nodes.image_input import ImageSubscription, QOS_RELIABILITY
from vision_classifier.nodes.lifecycle import ManagedNode
from vision_classifier.nodes.main import run_node, StartupError
from vision_classifier.nodes.parameters import declare, typed_parameter, updated
from vision_classifier.web.server import WebServer
from vision_classifier_msgs.msg import Classifications

JPEG_QUALITY = 80
SHOWN = tuple(name for name, p in WEB.items() if p.dynamic and p.type == 'string_array')  # topics and names


def web_parameters(plan, host='127.0.0.1', port=8080):
    """
    Return the web node's parameters for a translated config.

    Every camera (ros_topic cameras too) and transform camera, every vision service (each of its cameras when it
    classifies several).
    """
    cameras, classifiers = list(plan.topic_cameras.items()), []
    for spec in plan.nodes:
        if spec.kind == 'camera':
            cameras.append((spec.name, dict(spec.remappings)['image_raw']))
        elif spec.kind == 'overlay':
            cameras.append((spec.name, f'/{spec.name}/image'))
        elif spec.kind == 'classifier':
            cameras_of = [c.name for c in parse_cameras(spec.parameters.get('cameras', []))]
            classifiers += [(f'{spec.name}/{camera}', f'/{spec.name}/{camera}/classifications')
                            for camera in cameras_of] if len(cameras_of) > 1 else \
                [(spec.name, f'/{spec.name}/classifications')]
    parameters = {'host': host, 'port': port}
    for key, pairs in (('image', cameras), ('classification', classifiers)):
        if pairs:  # an empty list would not be typed as a string array
            parameters[f'{key}_names'] = [name for name, _ in pairs]
            parameters[f'{key}_topics'] = [topic for _, topic in pairs]
    return parameters


def status_name(classifications_topic):
    """Return the name of the /diagnostics status about a classifier's results topic (per camera, or in all)."""
    parts = classifications_topic.strip('/').split('/')
    if len(parts) == 3 and parts[2] == 'classifications':
        return f'{parts[0]}: camera {parts[1]}'
    return f'{parts[0]}: classifier' if len(parts) == 2 and parts[1] == 'classifications' else None


HEALTH_KEYS = ('images in', 'results out', 'frames in', 'classified out', 'skipped', 'faults', 'latency p50 ms',
               'latency p95 ms')


def stamp_seconds(header):
    return header.stamp.sec + header.stamp.nanosec * 1e-9


def jpeg_of_image(max_bytes):
    def encode(msg):
        image = decode_msg(msg, max_bytes)
        pixels = image.pixels if image.order == 'bgr' else \
            cv2.cvtColor(to_rgb(image.pixels, image.order), cv2.COLOR_RGB2BGR)
        return jpeg(pixels)
    return encode


def jpeg_of_compressed(msg):
    """JPEG data passes through as it is; other formats (png, ...) are decoded and encoded."""
    data = bytes(msg.data)
    if data[:3] == b'\xff\xd8\xff':
        return data, None, None
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if pixels is None:
        raise ValueError(f'compressed image ({msg.format or "no format"}, {len(data)} bytes) cannot be decoded')
    return jpeg(pixels)


def jpeg(bgr):
    ok, data = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f'cannot encode a {bgr.shape} image as JPEG')
    return data.tobytes(), bgr.shape[1], bgr.shape[0]


class WebNode(ManagedNode):
    NODE_NAME = 'web'

    def __init__(self, node_name=NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        self.server = self.diagnostics = None  # while active
        self.p = declare(self, WEB)
        self.shown = {}  # (kind, name) -> (topic, subscription)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if self.p['autostart']:
            self.autostart()

    def configure(self):
        """Check the topics and names."""
        self._pairs(self.p, 'image'), self._pairs(self.p, 'classification')
        self.encode_image = jpeg_of_image(self.p['max_image_bytes'])

    def activate(self):
        """Serve the page, and subscribe what it shows."""
        p = self.p
        server = WebServer(p['host'], p['port'], max_streams=p['max_streams'], send_timeout=p['send_timeout'])
        try:
            server.start()
        except OSError as e:
            raise StartupError(f'cannot serve on {p["host"]}:{p["port"]}: {e.strerror or e}') from None
        self.server = server
        self._show(self._pairs(p, 'image'), self._pairs(p, 'classification'))
        self.diagnostics = self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)
        self.get_logger().info(f'control page on {self.server.url} ({len(self.server.cameras)} camera(s), '
                               f'{len(self.server.classifiers)} vision service(s))')

    def deactivate(self):
        """Unsubscribe and stop serving (the port is free while inactive)."""
        if self.server is None:
            return
        self._show([], [])
        self.destroy_subscription(self.diagnostics)
        self.server.stop()
        self.server = self.diagnostics = None

    def _show(self, cameras, classifiers):
        """Serve these (name, topic) pairs: subscriptions and feeds of others are dropped, new ones made."""
        wanted = {('image', name): topic for name, topic in cameras}
        wanted.update({('classification', name): topic for name, topic in classifiers})
        for key in [key for key, (topic, _) in self.shown.items() if wanted.get(key) != topic]:
            _, subscription = self.shown.pop(key)
            if isinstance(subscription, ImageSubscription):
                subscription.destroy()
            else:
                self.destroy_subscription(subscription)
            (self.server.remove_camera if key[0] == 'image' else self.server.remove_classifier)(key[1])
        for (kind, name), topic in wanted.items():
            if (kind, name) not in self.shown:
                self.shown[kind, name] = (topic, (self._subscribe_image if kind == 'image' else
                                                  self._subscribe_results)(name, topic))

    def _subscribe_image(self, name, topic):
        compressed = topic.rstrip('/').endswith('/compressed')
        feed = self.server.add_camera(name, topic, jpeg_of_compressed if compressed else self.encode_image)
        return ImageSubscription(self, CompressedImage if compressed else Image, topic,
                                 lambda msg: feed.put(msg, stamp_seconds(msg.header)), self.p['qos_reliability'],
                                 depth=1)

    def _subscribe_results(self, name, topic):
        feed = self.server.add_classifier(name, topic)
        return self.create_subscription(
            Classifications, topic,
            lambda msg: feed.put([(c.class_name, c.confidence) for c in msg.classifications],
                                 stamp_seconds(msg.header)),
            QoSProfile(depth=1, reliability=QOS_RELIABILITY['best_effort']))

    def _on_diagnostics(self, msg):
        """Show each classifier's counts and latency (per camera) beside its results."""
        feeds = {status_name(feed.topic): feed for feed in self.server.classifiers.values()}
        for status in msg.status:
            feed = feeds.get(status.name)
            if feed is not None:
                feed.health = {'message': status.message, **{v.key: v.value for v in status.values
                                                             if v.key in HEALTH_KEYS}}

    def _on_set_parameters(self, params):
        """Topics, names (`run` sets them after a config edit) and send_timeout may change while it serves."""
        try:
            values = updated(self.p, params, WEB)
            cameras, classifiers = self._pairs(values, 'image'), self._pairs(values, 'classification')
        except (StartupError, ValueError) as e:
            return SetParametersResult(successful=False, reason=str(e))
        self.p = values
        if self.server is not None:
            self.server.send_timeout = values['send_timeout']
            self._show(cameras, classifiers)
        return SetParametersResult(successful=True)

    def _pairs(self, p, key):
        topics = [t for t in p[f'{key}_topics'] or [] if t.strip()]
        names = [n for n in p[f'{key}_names'] or [] if n.strip()] or topics
        if len(names) != len(topics):
            raise StartupError(f'{key}_names has {len(names)} entries, {key}_topics {len(topics)}')
        if len(set(names)) != len(names):
            raise StartupError(f'{key}_names: names must differ')
        return list(zip(names, topics))

    def destroy_node(self):
        if getattr(self, 'server', None) is not None:
            self.server.stop()
        super().destroy_node()


def create_web_node(plan, host, port, context=None):
    """Return the web node of a translated config, for the in-process runner."""
    return WebNode(context=context, parameter_overrides=[
        Parameter(key, value=value) for key, value in web_parameters(plan, host, port).items()])


class ControlPage:
    """
    The control page beside the nodes of `vision_classifier run` (a runner.run.Extra).

    A web node that follows the config's edits.
    """

    name = WebNode.NODE_NAME

    def __init__(self, host, port):
        self.host, self.port = host, port

    def create(self, plan, context):
        node = create_web_node(plan, self.host, self.port, context)
        write_line(f'control page: {node.server.url}')
        return node

    @staticmethod
    def follow(node, plan):
        """Show the cameras and vision services of `plan`; the cause if the node refuses them."""
        values = web_parameters(plan)
        result = node.set_parameters_atomically(
            [typed_parameter(node, name, values.get(name, [])) for name in SHOWN])
        return None if result.successful else result.reason


def main(args=None):
    return run_node(WebNode, args)


if __name__ == '__main__':
    sys.exit(main())
