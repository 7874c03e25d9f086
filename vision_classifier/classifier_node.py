"""classifier_node: subscribes `image`, publishes `~/classifications`, serves `~/get_classifications`."""
import sys

from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from vision_classifier_msgs.msg import Classification as ClassificationMsg
from vision_classifier_msgs.msg import Classifications
from vision_classifier_msgs.srv import GetClassifications

from .image_encoding import decode_msg, DEFAULT_MAX_IMAGE_BYTES, ImageError
from .paths import PathError, resolve_path
from .rate_limit import FaultLog
from .ros_common import declared_value, describe, image_qos, run_node, StartupError, warn_on_incompatible_qos
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
        self.faults = FaultLog(p['fault_log_period'])
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.publisher = self.create_publisher(Classifications, '~/classifications', 10)
        self.subscription = self.create_subscription(
            Image, 'image', self._on_image, image_qos(p['qos_reliability']),
            event_callbacks=warn_on_incompatible_qos(self, self.resolve_topic_name('image')))
        self.srv = self.create_service(GetClassifications, '~/get_classifications', self._on_get_classifications)
        model = self.service.model
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
            ('qos_reliability', 'reliable', describe(
                'Reliability of the image subscription; best_effort receives no large images between processes '
                'with Fast DDS defaults (README, "Large images").', read_only=True,
                choices=('best_effort', 'reliable'))),
            ('max_image_bytes', DEFAULT_MAX_IMAGE_BYTES, describe('Images claiming more bytes are rejected.',
                                                                  int_range=(1, 2**31 - 1))),
            ('fault_log_period', 5.0, describe('Seconds between warnings of one kind of bad input; repeats are '
                                               'counted.', read_only=True, float_range=(0.0, 3600.0))),
        ]
        values = {}
        for name, default, descriptor in specs:
            values[name] = declared_value(self, name, default, descriptor)
        return values

    @staticmethod
    def _thresholds(p):
        return Thresholds.create(p['default_minimum_confidence'], parse_label_confidences(p['label_confidences']))

    def _on_set_parameters(self, params):
        values = dict(self.dynamic, **{p.name: p.value for p in params if p.name in DYNAMIC})
        values['label_confidences'] = values['label_confidences'] or []
        try:
            thresholds = self._thresholds(values)
        except ValueError as e:
            return SetParametersResult(successful=False, reason=str(e))
        self.dynamic = values
        self.service.thresholds = thresholds
        return SetParametersResult(successful=True)

    def _classify(self, msg, n):
        image = decode_msg(msg, self.dynamic['max_image_bytes'])
        return self.service.classify(image.pixels, n, image.order)

    def classifications_for(self, msg):
        """The Classifications message for an Image message; raises ImageError for a bad image."""
        results = self._classify(msg, self.dynamic['max_classifications'])
        return Classifications(header=msg.header, classifications=to_msgs(results))

    def _on_image(self, msg):
        try:
            self.publisher.publish(self.classifications_for(msg))
        except ImageError as e:
            if self.faults.report(e.kind):
                self.get_logger().warning(f'image rejected: {e} ({self.faults.counts[e.kind]} {e.kind} faults, '
                                          f'{self.faults.total} in all; repeats are logged every '
                                          f'{self.faults.period:g} s)')

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
