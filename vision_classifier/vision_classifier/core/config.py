"""
Translate a Viam robot config (JSON) into the ROS nodes that run it: names, parameters, topic wiring.

Nodes: each `vision` service becomes a classifier node named after it, each camera a camera node, each
`transform` camera an overlay node. `mlmodel` services are not nodes: their attributes go to the classifier
nodes that use them, so an mlmodel and a vision service may share a name (as in Viam's docs).
"""
from dataclasses import dataclass, field
import difflib
import json
import math
import os
from pathlib import Path

from vision_classifier.core.camera_inputs import CameraInput, NAME as NODE_NAME, TOPIC as TOPIC_NAME
from vision_classifier.core.camera_sources import SOURCE_TYPES
from vision_classifier.core.parameters import CAMERA, CLASSIFIER, OVERLAY, QOS_CHOICES, TRANSPORTS
from vision_classifier.core.paths import resolve_path
from vision_classifier.core.topics import CLASSIFICATIONS

CAMERA_MODELS = (*SOURCE_TYPES, 'transform', 'ros_topic')
IMAGE_FORMATS = TRANSPORTS
# Keys of a Viam machine config and of its resources: known, so only misspellings get a warning
TOP_KEYS = ('components', 'services', 'modules', 'packages', 'processes', 'remotes', 'agent', 'network', 'auth',
            'cloud', 'debug', 'disable_partial_start', 'enable_web_profile', 'log', 'maintenance', 'jobs',
            'fragments', 'fragment_mods', 'overwrite_fragment_status', 'revision', 'tracing',
            'disable_log_deduplication')
RESOURCE_KEYS = ('name', 'namespace', 'type', 'model', 'api', 'attributes', 'depends_on', 'frame',
                 'service_configs', 'log_configuration', 'notes')
STEP_KEYS = ('type', 'attributes')
DEFAULT_FRAME_RATE = {'webcam': 30.0, 'video_file': 30.0, 'image_file': 10.0, 'image_folder': 10.0, 'fake': 10.0}
DEFAULT_MAX_CLASSIFICATIONS = 5
# Ranges the nodes declare for these parameters: checked here to name the place in the config
NODE_LIMITS = {name: CAMERA[name].range for name in ('width', 'height', 'frame_rate')}
NODE_LIMITS['num_threads'] = CLASSIFIER['num_threads'].range
KNOWN = {
    'tflite_cpu': {'model_path', 'label_path', 'num_threads'},
    'vision': {'mlmodel_name', 'default_minimum_confidence', 'label_confidences', 'label_path',
               'input_image_mean_value', 'input_image_std_dev', 'input_image_bgr', 'camera_name',
               'max_classifications'},
    'webcam': {'video_path', 'width_px', 'height_px', 'frame_rate'},
    'video_file': {'video_path', 'width_px', 'height_px', 'frame_rate'},
    'image_file': {'color_image_file_path', 'width_px', 'height_px', 'frame_rate'},
    'image_folder': {'folder_path', 'width_px', 'height_px', 'frame_rate'},
    'fake': {'width', 'height', 'width_px', 'height_px', 'frame_rate'},
    'transform': {'source', 'pipeline', 'output_dir'},
    'ros_topic': {'topic', 'format', 'qos_reliability'},
    'classifications': {'classifier_name', 'confidence_threshold', 'max_classifications', 'valid_labels',
                        'result_timeout', 'publish_unmatched'},
}


class ConfigError(ValueError):
    """A config that cannot run; `problems` holds one message per problem, each naming its place."""

    def __init__(self, problems, warnings=()):
        super().__init__('\n'.join(problems))
        self.problems = list(problems)
        self.warnings = list(warnings)


@dataclass(frozen=True)
class NodeSpec:
    name: str
    executable: str
    parameters: dict
    remappings: tuple = ()

    @property
    def kind(self):
        return self.executable.removesuffix('_node')


@dataclass
class Plan:
    nodes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    origins: dict = field(default_factory=dict)  # classifier node name -> (its place, its mlmodel's place and name)
    topic_cameras: dict = field(default_factory=dict)  # ros_topic camera name -> its topic (no node)

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)


def image_topic(camera_name, model):
    """Where a camera node of the config publishes its images."""
    return f'/{camera_name}/image' if model == 'transform' else f'/{camera_name}/image_raw'


def input_remappings(node_name, topic=None, image_format='raw'):
    """
    Return the remappings of a node's image inputs (`image`: sensor_msgs/Image, `image/compressed`: CompressedImage).

    The input in use goes to `topic`, the other to the node's own quiet `/<node>/image[/compressed]`.
    """
    raw, compressed = f'/{node_name}/image', f'/{node_name}/image/compressed'
    if topic is not None:
        raw, compressed = (raw, topic) if image_format == 'compressed' else (topic, compressed)
    return (('image', raw), ('image/compressed', compressed))


def closest(key, known):
    """`; did you mean "x"?` for the known key closest to a misspelled one, else ''."""
    match = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6) if isinstance(key, str) else []
    return f'; did you mean "{match[0]}"?' if match else ''


def load(path):
    """Read a config file; unreadable files and JSON syntax errors become ConfigError."""
    try:
        text = Path(path).read_text(encoding='utf-8')
    except OSError as e:
        raise ConfigError([f'{path}: cannot read: {e.strerror or e}']) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f'{path}: not UTF-8 text: byte {e.start}: {e.reason}']) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError([f'{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}']) from None
    except RecursionError:
        raise ConfigError([f'{path}: invalid JSON: nested too deeply']) from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        raise ConfigError([f'{path}: invalid JSON: {e}']) from None


def _is_number(value):
    """Return whether `value` is a finite number (JSON integers too large for a float are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _is_int(value, minimum=-2**63, maximum=2**63 - 1):
    """Return whether `value` is an int from `minimum` to `maximum`, by default one ROS parameters can hold (int64)."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


def _shown(value):
    """Return the start of a value's JSON, for messages."""
    try:
        text = json.dumps(value)
    except (RecursionError, ValueError):  # nested too deeply, or an integer too long to print
        return _type_name(value)
    return text if len(text) <= 60 else text[:57] + '...'


def _one_line(text):
    """`text` with line breaks and other unprintable characters (from names in the config) escaped."""
    return text if text.isprintable() else ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _type_name(value):
    return {dict: 'object', list: 'array', str: 'string', bool: 'boolean', type(None): 'null'}.get(
        type(value), 'number')


class _Reader:
    """Reads attributes with type checks, collecting one problem per fault."""

    def __init__(self, packages_dir, base_dir=None):
        self.problems, self.warnings = [], []
        self.packages_dir = packages_dir
        self.base_dir = base_dir

    def warn(self, message):
        if (warning := _one_line(message)) not in self.warnings:
            self.warnings.append(warning)

    def fail(self, where, message):
        problem = _one_line(f'{where}: {message}')
        if problem not in self.problems:  # e.g. an mlmodel's fault, found by each vision service that uses it
            self.problems.append(problem)

    def object(self, value, where):  # noqa: A003
        if isinstance(value, dict):
            return value
        self.fail(where, f'expected an object, got {_type_name(value)}')
        return None

    def get(self, attrs, where, key, kind, required=False, default=None, limits=None):
        if key not in attrs or attrs[key] is None:
            if required:
                near = [k for k in attrs if isinstance(k, str) and k != key and closest(k, [key])]
                hint = f' ("{near[0]}" is not a known attribute: a misspelling?)' if near else ''
                self.fail(f'{where}.{key}', f'required{hint}')
            return default
        value, place = attrs[key], f'{where}.{key}'
        checks = {
            'string': (lambda v: isinstance(v, str) and v.strip() != '', 'a non-empty string'),
            'bool': (lambda v: isinstance(v, bool), 'true or false'),
            'number': (_is_number, 'a number'),
            'positive': (lambda v: _is_number(v) and v > 0, 'a number above 0'),
            'unit': (lambda v: _is_number(v) and 0 <= v <= 1, 'a number from 0 to 1'),
            'integer': (_is_int, 'an integer'),
            'count': (lambda v: _is_int(v, 1), 'an integer of at least 1'),
            'size': (lambda v: _is_int(v, 0), 'an integer of at least 0'),
            'strings': (lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v), 'an array of strings'),
            'three': (lambda v: isinstance(v, list) and len(v) in (1, 3) and all(map(_is_number, v)),
                      'an array of 1 or 3 numbers'),
            'unit_map': (lambda v: isinstance(v, dict) and all(k.strip() and _is_number(c) and 0 <= c <= 1
                                                               for k, c in v.items()),
                         'an object of label: number from 0 to 1'),
            'array': (lambda v: isinstance(v, list), 'an array'),
            'qos': (lambda v: v in QOS_CHOICES, 'one of ' + ', '.join(QOS_CHOICES)),
            'format': (lambda v: v in IMAGE_FORMATS, 'one of ' + ', '.join(IMAGE_FORMATS)),
            'topic': (lambda v: isinstance(v, str) and len(v) <= 200 and TOPIC_NAME.fullmatch(v) is not None,
                      'a ROS topic name (tokens of letters, digits and _ separated by /, at most 200)'),
        }
        check, expected = checks[kind]
        if not check(value):
            beyond = ' (beyond 64 bits)' if _is_int(value, -math.inf, math.inf) and not _is_int(value) else ''
            self.fail(place, f'expected {expected}, got {_shown(value)}{beyond}')
            return default
        if limits and not limits[0] <= value <= limits[1]:
            self.fail(place, f'expected {limits[0]} to {limits[1]}, got {_shown(value)}')
            return default
        return value

    def path(self, attrs, where, key, required=False, must_exist=False):
        """Return a path attribute: $VAR, ${VAR}, ${packages.<name>} and ~ expanded, relative to the config's folder."""
        raw = self.get(attrs, where, key, 'string', required)
        if raw is None:
            return ''
        try:
            resolved = resolve_path(raw, self.packages_dir, self.base_dir)
            if must_exist and not Path(resolved).is_file():
                self.fail(f'{where}.{key}', f'no such file {resolved}')
        except ValueError as e:  # PathError, or a path the OS cannot take (a NUL character, a bad package name)
            self.fail(f'{where}.{key}', str(e))
            return ''
        except OSError as e:  # e.g. a name too long for the file system
            self.fail(f'{where}.{key}', f'{e.strerror or e}: {_shown(raw)}')
            return ''
        return str(Path(resolved).absolute())

    def unknown(self, attrs, where, model):
        for key in sorted(set(attrs) - KNOWN[model]):
            self.warn(f'{where}.{key}: unknown attribute for {model}, ignored{closest(key, KNOWN[model])}')

    def unknown_keys(self, entry, where, known):
        for key in sorted(k for k in entry if k not in known):
            self.warn(f'{where}{"." if where else ""}{key}: unknown key, ignored{closest(key, known)}')


def _kind(entry, default_api):
    """(type, model) of a resource, from `type`/`model` or `api`, with rdk:builtin: prefixes dropped."""
    api = entry.get('api')
    kind = entry.get('type')
    if kind is None and isinstance(api, str):
        kind = api.rpartition(':')[2]
    model = entry.get('model')
    if isinstance(model, str) and model.startswith('rdk:builtin:'):
        model = model[len('rdk:builtin:'):]
    return kind, model


def _entries(config, key, reader):
    raw = config.get(key, [])
    if not isinstance(raw, list):
        reader.fail(key, f'expected an array, got {_type_name(raw)}')
        return []
    entries = []
    for i, entry in enumerate(raw):
        where = f'{key}[{i}]'
        if reader.object(entry, where) is None:
            continue
        reader.unknown_keys(entry, where, RESOURCE_KEYS)
        name = entry.get('name')
        if not isinstance(name, str) or not name:
            reader.fail(f'{where}.name', 'required (a non-empty string)')
            continue
        kind, model = _kind(entry, key)
        attrs = entry.get('attributes', {})
        if reader.object(attrs, f'{where}.attributes') is None:
            continue
        entries.append((where, name, kind, model, attrs))
    return entries


def translate(config, packages_dir=None, base_dir=None, qos_reliability='auto'):
    """
    Return a Plan for a parsed Viam config; raise ConfigError listing every problem found.

    Relative paths resolve against `base_dir` (the config file's folder), else the working directory.
    `qos_reliability` is the image subscriptions' reliability where a ros_topic camera does not set its own.
    Resources we do not run (boards, motors, other camera or service models) are ignored with a warning each.
    """
    reader = _Reader(packages_dir, base_dir)
    if reader.object(config, 'config') is None:
        raise ConfigError(reader.problems)
    if qos_reliability not in QOS_CHOICES:
        reader.fail('qos_reliability', f'expected one of {", ".join(QOS_CHOICES)}, got {_shown(qos_reliability)}')
    reader.unknown_keys(config, '', TOP_KEYS)
    mlmodels, visions, cameras, ignored = {}, {}, {}, {}
    for where, name, kind, model, attrs in _entries(config, 'services', reader):
        table, expected_model = {'mlmodel': (mlmodels, 'tflite_cpu'), 'vision': (visions, 'mlmodel')}.get(
            kind if isinstance(kind, str) else None, (None, None))
        if table is None:
            _ignore(reader, ignored, where, name, kind, model, 'service', 'mlmodel and vision services')
        elif model != expected_model:
            _ignore(reader, ignored, where, name, kind, model, 'service', f'{kind} services of model {expected_model}')
        elif name in table:
            reader.fail(f'{where}.name', f'duplicate {kind} service name "{name}" (also {table[name][0]})')
        else:
            table[name] = (where, attrs)
    for where, name, kind, model, attrs in _entries(config, 'components', reader):
        if kind != 'camera':
            _ignore(reader, ignored, where, name, kind, model, 'component', 'cameras')
        elif model not in CAMERA_MODELS:
            _ignore(reader, ignored, where, name, kind, model, 'component',
                    f'cameras of models {", ".join(CAMERA_MODELS)}')
        elif name in cameras:
            reader.fail(f'{where}.name', f'duplicate camera name "{name}" (also {cameras[name][0]})')
        else:
            cameras[name] = (where, model, attrs)
    for name, (where, _) in visions.items():
        if name in cameras:
            reader.fail(f'{cameras[name][0]}.name', f'"{name}" is also the vision service {where}: '
                        'vision services and cameras become ROS nodes, whose names must differ')
    for name, where in [(n, w) for n, (w, _) in visions.items()] + [(n, c[0]) for n, c in cameras.items()]:
        if not NODE_NAME.fullmatch(name):
            reader.fail(f'{where}.name', f'"{name}" is not a valid ROS node name '
                        '(letters, digits and _, starting with a letter, at most 200)')

    plan = Plan()
    inputs = {}  # camera name -> (topic, format, reliability) of its images
    for name, (where, model, attrs) in cameras.items():
        reader.unknown(attrs, f'{where}.attributes', model)
        if model == 'ros_topic':
            inputs[name] = _ros_topic(reader, where, attrs, qos_reliability)
            plan.topic_cameras[name] = inputs[name][0]
        else:
            inputs[name] = (image_topic(name, model), 'raw', qos_reliability)
    world = _World(cameras, visions, mlmodels, ignored, inputs, qos_reliability)
    classifier_sources = {}
    for name, (where, model, attrs) in cameras.items():
        if model == 'transform':
            plan.nodes.append(_overlay(reader, name, where, attrs, world, classifier_sources))
        elif model != 'ros_topic':
            plan.nodes.append(_camera(reader, name, where, model, attrs))
    for name, (where, attrs) in visions.items():
        plan.nodes.append(_classifier(reader, name, where, attrs, world, classifier_sources, plan.origins))
    if not plan.nodes and not reader.problems:
        reader.fail('config', 'nothing to run: no vision service (model mlmodel) and no camera node '
                    f'(camera models {", ".join(m for m in CAMERA_MODELS if m != "ros_topic")})')
    if reader.problems:
        raise ConfigError(reader.problems, reader.warnings)
    plan.warnings = reader.warnings
    return plan


@dataclass
class _World:
    cameras: dict
    visions: dict
    mlmodels: dict
    ignored: dict   # name -> what it is, for resources we do not run
    inputs: dict    # camera name -> (topic, format, reliability)
    reliability: str  # of image subscriptions whose camera does not set its own

    def missing(self, name, what):
        """Why `name` is not a `what` we run: ignored, or absent."""
        reason = self.ignored.get(name)
        return reason or f'no {what} named "{name}"'


def _ignore(reader, ignored, where, name, kind, model, group, runs):
    """Ignore a resource we do not run: one warning, and a reason for references to it."""
    kind = kind if isinstance(kind, str) else group
    what = f'{kind} "{name}" (model {_shown(model)})'
    ignored.setdefault(name, f'"{name}" is {where} ({kind}, model {_shown(model)}), which is not run')
    reader.warn(f'{where}: {what} ignored: vision_classifier runs {runs}')


def _ros_topic(reader, where, attrs, default_reliability):
    """(topic, format, reliability) of a camera that is an existing ROS topic (no node is started for it)."""
    at = f'{where}.attributes'
    topic = reader.get(attrs, at, 'topic', 'topic', required=True) or '/unset'
    topic = topic if topic.startswith('/') else '/' + topic
    image_format = reader.get(attrs, at, 'format', 'format',
                              default='compressed' if topic.endswith('/compressed') else 'raw')
    reliability = reader.get(attrs, at, 'qos_reliability', 'qos', default=default_reliability)
    return topic, image_format, reliability


def _camera(reader, name, where, model, attrs):
    at = f'{where}.attributes'
    path_key = {'webcam': 'video_path', 'video_file': 'video_path', 'image_file': 'color_image_file_path',
                'image_folder': 'folder_path'}.get(model)
    source_path = ''
    if model == 'webcam':
        source_path = reader.get(attrs, at, 'video_path', 'string', default='')
    elif path_key:
        source_path = reader.path(attrs, at, path_key, required=True)
    width_key, height_key = ('width', 'height') if model == 'fake' and 'width' in attrs else ('width_px', 'height_px')
    parameters = {
        'source_type': model,
        'source_path': source_path,
        'width': reader.get(attrs, at, width_key, 'size', default=0, limits=NODE_LIMITS['width']),
        'height': reader.get(attrs, at, height_key, 'size', default=0, limits=NODE_LIMITS['height']),
        'frame_rate': float(reader.get(attrs, at, 'frame_rate', 'positive', default=DEFAULT_FRAME_RATE[model],
                                       limits=NODE_LIMITS['frame_rate'])),
        'frame_id': name,
    }
    return NodeSpec(name, 'camera_node', parameters, (('image_raw', image_topic(name, model)),))


def _overlay(reader, name, where, attrs, world, classifier_sources):
    at = f'{where}.attributes'
    cameras, visions = world.cameras, world.visions
    source = reader.get(attrs, at, 'source', 'string', required=True)
    if source is not None and source not in cameras:
        reader.fail(f'{at}.source', world.missing(source, 'camera'))
    elif source == name:
        reader.fail(f'{at}.source', 'a transform camera cannot be its own source')
    pipeline = reader.get(attrs, at, 'pipeline', 'array', required=True) or []
    steps = [(i, s) for i, s in enumerate(pipeline) if reader.object(s, f'{at}.pipeline[{i}]') is not None]
    for i, step in steps:
        reader.unknown_keys(step, f'{at}.pipeline[{i}]', STEP_KEYS)
    parameters = {}
    classifier = None
    for i, step in steps:
        place = f'{at}.pipeline[{i}]'
        if step.get('type') != 'classifications':
            reader.fail(f'{place}.type', f'unsupported step type {_shown(step.get("type"))} '
                        '(supported: classifications)')
            continue
        if classifier is not None:
            reader.fail(place, 'only one classifications step per transform camera')
            continue
        step_attrs = reader.object(step.get('attributes', {}), f'{place}.attributes') or {}
        sat = f'{place}.attributes'
        reader.unknown(step_attrs, sat, 'classifications')
        classifier = reader.get(step_attrs, sat, 'classifier_name', 'string', required=True)
        if classifier is not None and classifier not in visions:
            reader.fail(f'{sat}.classifier_name', world.missing(classifier, 'vision service'))
        parameters = {
            'confidence_threshold': float(reader.get(step_attrs, sat, 'confidence_threshold', 'unit', default=0.0)),
            'max_classifications': reader.get(step_attrs, sat, 'max_classifications', 'integer', default=1),
        }
        valid_labels = reader.get(step_attrs, sat, 'valid_labels', 'strings', default=[])
        if valid_labels:
            parameters['valid_labels'] = valid_labels
        result_timeout = reader.get(step_attrs, sat, 'result_timeout', 'positive',
                                    limits=OVERLAY['result_timeout'].range)
        if result_timeout is not None:
            parameters['result_timeout'] = float(result_timeout)
        publish_unmatched = reader.get(step_attrs, sat, 'publish_unmatched', 'bool')
        if publish_unmatched is not None:
            parameters['publish_unmatched'] = publish_unmatched
        if classifier in visions and source in cameras:
            classifier_sources.setdefault(classifier, []).append(
                (source, f'{sat}.classifier_name', parameters['max_classifications']))
    if not pipeline:
        reader.fail(f'{at}.pipeline', 'expected one step of type classifications')
    output_dir = reader.path(attrs, at, 'output_dir')
    if output_dir:
        parameters['output_dir'] = output_dir
    topic, image_format, reliability = world.inputs.get(source, (None, 'raw', world.reliability))
    parameters['qos_reliability'] = reliability
    if image_format == 'compressed':
        parameters['image_transport'] = 'compressed'
    remappings = input_remappings(name, topic, image_format) + (
        ('classifications', f'/{classifier}/{source}/{CLASSIFICATIONS}'),)
    return NodeSpec(name, 'overlay_node', parameters, remappings)


def _classifier(reader, name, where, attrs, world, classifier_sources, origins):
    at = f'{where}.attributes'
    reader.unknown(attrs, at, 'vision')
    parameters = {}
    mlmodel = reader.get(attrs, at, 'mlmodel_name', 'string', required=True)
    if mlmodel is not None and mlmodel not in world.mlmodels:
        reader.fail(f'{at}.mlmodel_name', world.missing(mlmodel, 'mlmodel service'))
    elif mlmodel is not None:
        model_where, model_attrs = world.mlmodels[mlmodel]
        origins[name] = (where, model_where, mlmodel)
        mat = f'{model_where}.attributes'
        reader.unknown(model_attrs, mat, 'tflite_cpu')
        parameters['model_path'] = reader.path(model_attrs, mat, 'model_path', required=True, must_exist=True)
        if parameters['model_path'] and not parameters['model_path'].endswith('.tflite'):
            reader.fail(f'{mat}.model_path', 'expected a .tflite file')
        parameters['label_path'] = reader.path(model_attrs, mat, 'label_path', must_exist=True)
        parameters['num_threads'] = reader.get(model_attrs, mat, 'num_threads', 'count', default=1,
                                               limits=NODE_LIMITS['num_threads'])
    if 'label_path' in attrs:
        parameters['label_path'] = reader.path(attrs, at, 'label_path', must_exist=True)
    for key in ('input_image_mean_value', 'input_image_std_dev'):
        values = reader.get(attrs, at, key, 'three')
        if values is not None:
            parameters[key] = [float(v) for v in values]
    if any(v == 0 for v in parameters.get('input_image_std_dev', [])):
        reader.fail(f'{at}.input_image_std_dev', 'must not be 0')
    parameters['input_image_bgr'] = reader.get(attrs, at, 'input_image_bgr', 'bool', default=False)
    parameters['default_minimum_confidence'] = float(
        reader.get(attrs, at, 'default_minimum_confidence', 'unit', default=0.0))
    label_confidences = reader.get(attrs, at, 'label_confidences', 'unit_map', default={})
    if label_confidences:
        parameters['label_confidences'] = [f'{label}:{value}' for label, value in label_confidences.items()]
    wanted = [reader.get(attrs, at, 'max_classifications', 'integer', default=DEFAULT_MAX_CLASSIFICATIONS)]
    wanted += [m for _, _, m in classifier_sources.get(name, [])]
    parameters['max_classifications'] = 0 if min(wanted) <= 0 else max(wanted)
    cameras = _classifier_cameras(reader, name, at, attrs, world, classifier_sources)
    parameters['qos_reliability'] = world.reliability
    if cameras:
        parameters['cameras'] = [_camera_input(camera, world).entry for camera in cameras]
    if cameras:
        parameters['camera_name'] = cameras[0]  # its default camera, for get_classifications_from_camera
    others = [_camera_input(camera, world).entry for camera in sorted(world.inputs) if camera not in cameras]
    if others:
        parameters['other_cameras'] = others
    return NodeSpec(name, 'classifier_node', parameters, () if cameras else input_remappings(name))


def _camera_input(camera, world):
    """Return the CameraInput of a camera of the config, as a classifier subscribes it."""
    topic, image_format, reliability = world.inputs[camera]
    return CameraInput(camera, topic, image_format, '' if reliability == world.reliability else reliability)


def _classifier_cameras(reader, name, at, attrs, world, classifier_sources):
    """
    Return the cameras a vision service classifies: its `camera_name` first, then the transform cameras' sources.

    One classifier node serves them all with one model; a vision service of no camera has none.
    """
    camera = reader.get(attrs, at, 'camera_name', 'string')
    if camera is not None and camera not in world.cameras:
        reader.fail(f'{at}.camera_name', world.missing(camera, 'camera'))
        camera = None
    sources = sorted({source for source, _, _ in classifier_sources.get(name, [])} - {camera})
    return ([camera] if camera is not None else []) + sources


def model_problems(plan, names=None):
    """
    Load each distinct model of the plan's classifiers (those named, when `names` is given) once, with its labels.

    Load them as the nodes will; return {classifier node name: why its model or labels cannot be used}.
    """
    from vision_classifier.core.tflite_model import load_model, ModelConfig
    found, problems = {}, {}
    for spec in plan.nodes:
        if spec.kind != 'classifier' or (names is not None and spec.name not in names):
            continue
        key = ModelConfig.from_parameters(spec.parameters)
        if key not in found:
            try:
                load_model(key)
                found[key] = None
            except ValueError as e:  # ModelError, PathError
                found[key] = str(e)
        if found[key]:
            problems[spec.name] = found[key]
    return problems


def load_models(plan):
    """Return the plan if every model of its classifiers loads; else raise ConfigError, one line per vision service."""
    problems = []
    for name, problem in model_problems(plan).items():
        where, model_where, mlmodel = plan.origins.get(name, ('', '', ''))
        problems.append(_one_line(f'{where} vision service "{name}" (mlmodel "{mlmodel}", {model_where}): {problem}'))
    if problems:
        raise ConfigError(problems, plan.warnings)
    return plan


def translate_file(path, packages_dir=None, qos_reliability='auto', check_models=True):
    """Load and translate a config file, paths relative to its folder; with `check_models`, load the models too."""
    plan = translate(load(path), packages_dir, os.path.dirname(os.path.abspath(path)), qos_reliability)
    return load_models(plan) if check_models else plan
