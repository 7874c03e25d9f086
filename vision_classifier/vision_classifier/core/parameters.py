"""
Each node's parameters, in one table per node (no rclpy).

Every parameter has its name, default, type, description, range or choices, and whether it may change while the
node runs. The nodes declare their parameters from these tables; what may change at run time (live config), the
config's limits and the QoS choices all derive from them.
"""
from dataclasses import dataclass

from vision_classifier.core.camera_sources import SOURCE_TYPES
from vision_classifier.core.image_encoding import DEFAULT_MAX_IMAGE_BYTES

QOS_CHOICES = ('auto', 'reliable', 'best_effort')
TRANSPORTS = ('raw', 'compressed')
AUTO_QOS_WAIT_SECONDS = 5.0  # `auto` waits this long for a publisher, then takes AUTO_QOS_DEFAULT
AUTO_QOS_DEFAULT = 'reliable'
NODE_NAME = object()  # a default that is the node's own name
TYPES = {bool: 'bool', int: 'integer', float: 'double', str: 'string'}
ARRAY_TYPES = ('double_array', 'string_array')


@dataclass(frozen=True)
class Param:
    """One parameter: `default` is a bool, int, float or str, or a tuple for a list of `type` (an array type)."""

    name: str
    default: object
    description: str
    type: str = ''  # noqa: A003 (as rcl_interfaces names it)
    range: tuple = None  # noqa: A003
    choices: tuple = ()
    dynamic: bool = False

    def __post_init__(self):
        if not self.type:
            object.__setattr__(self, 'type', 'string' if self.default is NODE_NAME else TYPES[type(self.default)])

    def check(self, value):
        """Return the cause when `value` is not one of the choices or out of range, else None."""
        if self.choices and value not in self.choices:
            return f'{self.name}: expected one of {", ".join(self.choices)}, got {value!r}'
        if self.range and not self.range[0] <= value <= self.range[1]:
            return f'{self.name}: expected {self.range[0]:g} to {self.range[1]:g}, got {value!r}'
        return None


def table(*params):
    return {p.name: p for group in params for p in (group if isinstance(group, tuple) else (group,))}


QOS_RELIABILITY = Param(
    'qos_reliability', 'auto',
    'Reliability of the image subscription: auto (as the publishers on the topic: best_effort if any publisher is '
    f'best_effort, else reliable; {AUTO_QOS_DEFAULT} when none appears within {AUTO_QOS_WAIT_SECONDS:g} s, '
    'best_effort once a best_effort one appears), reliable or best_effort. best_effort receives no large images '
    'between processes with Fast DDS defaults (docs/qos.md).', choices=QOS_CHOICES)
IMAGE_INPUT = (
    Param('image_transport', 'raw',
          'raw: sensor_msgs/Image on `image`; compressed: sensor_msgs/CompressedImage (JPEG, PNG) on '
          '`image/compressed` if remapped, else <image topic>/compressed (as image_transport names it).',
          choices=TRANSPORTS),
    QOS_RELIABILITY,
    Param('max_image_bytes', DEFAULT_MAX_IMAGE_BYTES, 'Images claiming more bytes are rejected.',
          range=(1, 2**31 - 1), dynamic=True),
    Param('fault_log_period', 5.0, 'Seconds between warnings of one kind of bad input; repeats are counted.',
          range=(0.0, 3600.0)),
)
# A change of one of these makes the classifier load a new model (checked before it is swapped in)
MODEL = (
    Param('model_path', '', 'Path of the .tflite model; may use ${packages.<name>}. Settable while running: the new '
          'model is loaded and checked, then swapped in.', dynamic=True),
    Param('label_path', '', 'Labels file, one per line; empty: the model metadata, else "1", "2", ...', dynamic=True),
    Param('num_threads', 1, 'CPU threads for inference.', range=(1, 256), dynamic=True),
    Param('input_image_mean_value', (), 'Per-channel mean for float models: (v/255 - mean)/std; empty: model '
          'metadata or 0.5.', type='double_array', dynamic=True),
    Param('input_image_std_dev', (), 'Per-channel std for float models; empty: model metadata or 0.5.',
          type='double_array', dynamic=True),
    Param('input_image_bgr', False, 'Feed the model BGR instead of RGB.', dynamic=True),
)
MODEL_PARAMETERS = tuple(p.name for p in MODEL)
AUTOSTART = Param('autostart', True, 'Configure and activate at start, as a plain node; false: wait, unconfigured, for '
                  'a lifecycle manager (~/change_state).')

CLASSIFIER = table(
    MODEL,
    Param('packages_dir', '', 'Folder that ${packages.<name>} resolves in; empty: $VISION_CLASSIFIER_PACKAGES_DIR or '
          '~/.viam/packages, then ament share directories.'),
    Param('default_minimum_confidence', 0.0, 'Drop results below this confidence.', range=(0.0, 1.0), dynamic=True),
    Param('label_confidences', (), 'Per-label minimums as "label:minimum"; when set, other labels are dropped.',
          type='string_array', dynamic=True),
    Param('max_classifications', 5, 'Results per image, best first; 0 or less: all.', dynamic=True),
    IMAGE_INPUT,
    Param('cameras', (), 'The cameras classified, with one model: an entry each, NAME=TOPIC [qos_reliability=auto|'
          'reliable|best_effort] [transport=raw|compressed] (transport default: compressed for a topic ending in '
          '/compressed; qos_reliability default: the node qos_reliability); results on ~/classifications and '
          '~/<NAME>/classifications. Empty: one camera, the input `image` (image_transport, qos_reliability). '
          'Settable while running: cameras are added and removed, the model stays.', type='string_array',
          dynamic=True),
    Param('other_cameras', (), 'More cameras get_classifications_from_camera may name (as `cameras`), subscribed '
          'only while requests wait for them; a topic (/...) may be named too.', type='string_array', dynamic=True),
    Param('on_demand_idle', 10.0, 'Seconds a camera subscribed for get_classifications_from_camera (not one of '
          '`cameras`) stays subscribed after its last request.', range=(0.0, 3600.0)),
    Param('camera_name', '', 'The camera get_classifications_from_camera takes when it names none; with no '
          '`cameras`, the name of the `image` input, taken at start (empty: from its topic, /cam1/image_raw: cam1).',
          dynamic=True),
    Param('camera_request_timeout', 5.0, 'get_classifications_from_camera answers with an error when no frame is '
          'classified within this many seconds.', range=(0.1, 3600.0)),
    Param('max_camera_requests', 100, 'get_classifications_from_camera requests that may wait for a frame; more are '
          'refused.', range=(1, 100000)),
    Param('vision_msgs_class_id', 'index', "class_id of the vision_msgs results: index (the label's index, as "
          '~/vision/label_info maps it) or label (the label itself).', choices=('index', 'label')),
    AUTOSTART,
)

OVERLAY = table(
    Param('confidence_threshold', 0.0, 'Draw results with at least this confidence.', range=(0.0, 1.0), dynamic=True),
    Param('max_classifications', 1, 'Results drawn per frame, best first; 0 or less: all.', dynamic=True),
    Param('valid_labels', (), 'Draw only these labels (case-insensitive); empty: all.', type='string_array',
          dynamic=True),
    Param('result_timeout', 1.0, 'Seconds a frame waits for its own results (the classifier drops frames when '
          'busy).', range=(0.001, 3600.0), dynamic=True),
    Param('publish_unmatched', False, 'Publish frames whose results did not arrive in time, with the newest earlier '
          'results and a note saying how old they are; false: drop them.', dynamic=True),
    Param('output_dir', '', 'When set, save each annotated frame there as frame_<sec>_<nanosec>.png.'),
    Param('max_saved_frames', 1000, 'Frames kept in output_dir (frame_*.png); the oldest are deleted.',
          range=(1, 2**31 - 1)),
    IMAGE_INPUT,
    Param('jpeg_quality', 90, 'JPEG quality of ~/image/compressed.', range=(1, 100), dynamic=True),
    AUTOSTART,
)

CAMERA = table(
    Param('source_type', 'fake', 'Where frames come from.', choices=SOURCE_TYPES),
    Param('source_path', '', 'webcam: device path or index (empty: 0); video_file, image_file, image_folder: the '
          'path; fake: unused.'),
    Param('width', 0, 'Frame width; 0: native (with height > 0: keep the aspect ratio).', range=(0, 16384)),
    Param('height', 0, 'Frame height; 0: native (with width > 0: keep the aspect ratio).', range=(0, 16384)),
    Param('frame_rate', 10.0, 'Frames published per second.', range=(0.01, 1000.0)),
    Param('frame_id', NODE_NAME, 'header.frame_id of the images; default: the node name.'),
    Param('retry_max_seconds', 10.0, 'Longest wait between attempts to open a missing or lost source (waits double '
          'from 0.5 s).', range=(0.1, 3600.0)),
    Param('fault_log_period', 5.0, 'Seconds between warnings of one kind of unreadable frame; repeats are counted.',
          range=(0.0, 3600.0)),
    AUTOSTART,
)

MAX_STREAMS = 20          # concurrent MJPEG streams; more get 503
SEND_TIMEOUT = 10.0       # a stream client that takes no frame for this long is dropped
WEB = table(
    Param('host', '127.0.0.1', 'Address to serve on; 0.0.0.0: every interface.'),
    Param('port', 8080, 'TCP port; 0: any free port.', range=(0, 65535)),
    Param('image_topics', (), 'Image (or .../compressed CompressedImage) topics shown live.', type='string_array',
          dynamic=True),
    Param('image_names', (), 'Their display names; empty: the topics.', type='string_array', dynamic=True),
    Param('classification_topics', (), 'Classifications topics shown.', type='string_array', dynamic=True),
    Param('classification_names', (), 'Their display names; empty: the topics.', type='string_array', dynamic=True),
    Param('max_streams', MAX_STREAMS, 'Concurrent MJPEG streams; more are refused (503).', range=(1, 1000)),
    Param('send_timeout', SEND_TIMEOUT, 'Seconds a stream client may take no frame before it is dropped.',
          range=(0.1, 3600.0), dynamic=True),
    QOS_RELIABILITY,
    Param('max_image_bytes', DEFAULT_MAX_IMAGE_BYTES, 'Images claiming more bytes are not shown.',
          range=(1, 2**31 - 1)),
    AUTOSTART,
)

TABLES = {'classifier_node': CLASSIFIER, 'overlay_node': OVERLAY, 'camera_node': CAMERA, 'web_node': WEB}


def run_time_defaults(executable):
    """{name: default} of the parameters `executable` accepts while it runs; a list default as a list."""
    return {p.name: list(p.default) if isinstance(p.default, tuple) else p.default
            for p in TABLES[executable].values() if p.dynamic}
