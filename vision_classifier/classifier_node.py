"""classifier_node: subscribes `image` (or `image/compressed`), publishes `~/classifications`, serves
`~/get_classifications`."""
import sys

from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from vision_classifier_msgs.msg import Classification as ClassificationMsg
from vision_classifier_msgs.msg import Classifications
from vision_classifier_msgs.srv import GetClassifications

from .diagnostics import Diagnostics
from .health import Health
from .image_encoding import decode_msg, DEFAULT_MAX_IMAGE_BYTES, ImageError
from .paths import PathError, resolve_path
from .rate_limit import FaultLog
from .ros_common import (coerce_on_set, declare_typed, describe, image_qos, image_subscription, run_node,
                         StartupError, TRANSPORTS)
from .tflite_model import ModelConfig, ModelError, TfliteCpuModel
from .vision import parse_label_confidences, Thresholds, VisionService

DYNAMIC = ('default_minimum_confidence', 'label_confidences', 'max_classifications', 'max_image_bytes')


def to_msgs(classifications):
    return [ClassificationMsg(class_name=c.class_name, confidence=c.confidence) for c in classifications]


class ClassifierNode(Node):
    NODE_NAME = 'classifier'

    def __init__(self, node_name=NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        p = self._declare_parameters()
        try:
            config = ModelConfig(
                model_path=resolve_path(p['model_path'], p['packages_dir'] or None),
                label_path=resolve_path(p['label_path'], p['packages_dir'] or None) if p['label_path'] else '',
                num_threads=p['num_threads'],
                input_image_mean_value=tuple(p['input_image_mean_value']),
                input_image_std_dev=tuple(p['input_image_std_dev']),
                input_image_bgr=p['input_image_bgr'])
            self.service = VisionService(TfliteCpuModel(config), self._thresholds(p))
        except (ModelError, PathError, ValueError) as e:
            raise StartupError(str(e)) from None
        self.dynamic = {name: p[name] for name in DYNAMIC}
        self.faults = FaultLog()
        coerce_on_set(self)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.publisher = self.create_publisher(Classifications, '~/classifications', 10)
        self.subscription, decode = image_subscription(
            self, p['image_transport'], self._on_image, image_qos(p['qos_reliability']))
        size = self.service.model.preprocessor.spec.size
        # JPEG: decode no larger than the model needs (the model's size, or larger)
        self.decode_image = decode if p['image_transport'] == 'raw' or min(size) < 1 else \
            (lambda msg, max_bytes: decode(msg, max_bytes, min_size=size))
        self.srv = self.create_service(GetClassifications, '~/get_classifications', self._on_get_classifications)
        model = self.service.model
        self.model_summary = [
            ('model', config.model_path), ('classes', str(len(model.labels))),
            ('input shape', str(model.input_details['shape'].tolist())),
            ('input dtype', model.input_details['dtype'].__name__), ('num_threads', str(config.num_threads)),
            ('topic', self.subscription.topic_name)]
        self.health = Health('images', 'results', counts_drops=False)
        self.diagnostics = Diagnostics(self, self.health, 'classifier', lambda: (None, self.model_summary))
        self.get_logger().info(
            f'{config.model_path}: {len(model.labels)} classes, input {model.input_details["shape"].tolist()} '
            f'{model.input_details["dtype"].__name__}, {config.num_threads} thread(s); '
            f'listening on {self.subscription.topic_name}')

    def _declare_parameters(self):
        string_array, double_array = Parameter.Type.STRING_ARRAY, Parameter.Type.DOUBLE_ARRAY
        specs = [
            ('model_path', '', describe('Path of the .tflite model; may use ${packages.<name>}.', read_only=True)),
            ('label_path', '', describe('Labels file, one per line; empty: the model metadata, else "1", "2", ...',
                                        read_only=True)),
            ('num_threads', 1, describe('CPU threads for inference.', read_only=True, int_range=(1, 256))),
            ('packages_dir', '', describe('Folder that ${packages.<name>} resolves in; empty: '
                                          '$VISION_CLASSIFIER_PACKAGES_DIR or ~/.viam/packages, then ament share '
                                          'directories.', read_only=True)),
            ('input_image_mean_value', double_array, describe(
                'Per-channel mean for float models: (v/255 - mean)/std; empty: model metadata or 0.5.',
                read_only=True)),
            ('input_image_std_dev', double_array, describe('Per-channel std for float models; empty: model '
                                                           'metadata or 0.5.', read_only=True)),
            ('input_image_bgr', False, describe('Feed the model BGR instead of RGB.', read_only=True)),
            ('default_minimum_confidence', 0.0, describe('Drop results below this confidence.',
                                                         float_range=(0.0, 1.0))),
            ('label_confidences', string_array, describe(
                'Per-label minimums as "label:minimum"; when set, other labels are dropped.')),
            ('max_classifications', 5, describe('Results per image, best first; 0 or less: all.')),
            ('image_transport', 'raw', describe(
                'raw: sensor_msgs/Image on `image`; compressed: sensor_msgs/CompressedImage (JPEG, PNG) on '
                '`image/compressed` if remapped, else <image topic>/compressed (as image_transport names it).',
                read_only=True, choices=tuple(TRANSPORTS))),
            ('qos_reliability', 'reliable', describe(
                'Reliability of the image subscription; best_effort receives no large images between processes '
                'with Fast DDS defaults (README, "Large images").', read_only=True,
                choices=('best_effort', 'reliable'))),
            ('max_image_bytes', DEFAULT_MAX_IMAGE_BYTES, describe('Images claiming more bytes are rejected.',
                                                                  int_range=(1, 2**31 - 1))),
        ]
        return declare_typed(self, specs)

    @staticmethod
    def _thresholds(p):
        return Thresholds.create(p['default_minimum_confidence'], parse_label_confidences(p['label_confidences']))

    def _on_set_parameters(self, params):
        values = dict(self.dynamic, **{p.name: p.value for p in params if p.name in DYNAMIC})
        try:
            thresholds = self._thresholds(values)
        except ValueError as e:
            return SetParametersResult(successful=False, reason=str(e))
        self.dynamic = values
        self.service.thresholds = thresholds
        return SetParametersResult(successful=True)

    def _classify(self, msg, n, decode=decode_msg):
        image = decode(msg, self.dynamic['max_image_bytes'])
        return self.service.classify(image.pixels, n, image.order)

    def classifications_for(self, msg, decode=decode_msg):
        """The Classifications message for an image message; raises ImageError for a bad image."""
        results = self._classify(msg, self.dynamic['max_classifications'], decode)
        return Classifications(header=msg.header, classifications=to_msgs(results))

    def _on_image(self, msg):
        self.health.frame_in()
        try:
            self.publisher.publish(self.classifications_for(msg, self.decode_image))
            self.health.result_out(self.diagnostics.age(msg.header))
        except ImageError as e:
            self.health.fault(e.kind)
            if self.faults.report(e.kind):
                self.get_logger().warning(f'image rejected: {e} ({self.faults.counts[e.kind]} {e.kind} faults, '
                                          f'{self.faults.total} in all; repeats are logged every 5 s)')

    def _on_get_classifications(self, request, response):
        response.header = request.image.header
        try:
            response.classifications = to_msgs(self._classify(request.image, request.n))
            response.success = True
        except ImageError as e:
            response.success, response.error = False, str(e)
        return response


def main(args=None):
    return run_node(ClassifierNode, args)


if __name__ == '__main__':
    sys.exit(main())
