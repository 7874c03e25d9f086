"""Translate a Viam robot config (JSON) into the ROS nodes that run it: names, parameters, topic wiring.

Nodes: each `vision` service becomes a classifier node named after it, each camera a camera node, each
`transform` camera an overlay node. `mlmodel` services are not nodes: their attributes go to the classifier
nodes that use them, so an mlmodel and a vision service may share a name (as in Viam's docs).
"""
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .paths import resolve_path

CAMERA_MODELS = ('webcam', 'image_file', 'fake', 'video_file', 'image_folder', 'transform')
DEFAULT_FRAME_RATE = {'webcam': 30.0, 'video_file': 30.0, 'image_file': 10.0, 'image_folder': 10.0, 'fake': 10.0}
DEFAULT_MAX_CLASSIFICATIONS = 5
# Ranges the nodes declare for these parameters (camera_node, classifier_node): checked here to name the place
NODE_LIMITS = {'width': (0, 16384), 'height': (0, 16384), 'frame_rate': (0.01, 1000.0), 'num_threads': (1, 256)}
NODE_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_]{0,199}')  # ROS takes topics (/<name>/...) of up to 247 characters
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
    'classifications': {'classifier_name', 'confidence_threshold', 'max_classifications', 'valid_labels'},
}


class ConfigError(ValueError):
    """A config that cannot run; `problems` holds one message per problem, each naming its place."""

    def __init__(self, problems):
        super().__init__('\n'.join(problems))
        self.problems = list(problems)


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

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)


def image_topic(camera_name, model):
    """Where a config camera's images are published."""
    return f'/{camera_name}/image' if model == 'transform' else f'/{camera_name}/image_raw'


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
    """A finite number (JSON integers too large for a float are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _is_int(value, minimum=-2**63, maximum=2**63 - 1):
    """An integer from `minimum` to `maximum`, by default one ROS parameters can hold (int64)."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


def _shown(value):
    """The start of a value's JSON, for messages."""
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

    def __init__(self, packages_dir):
        self.problems, self.warnings = [], []
        self.packages_dir = packages_dir

    def fail(self, where, message):
        problem = _one_line(f'{where}: {message}')
        if problem not in self.problems:  # e.g. an mlmodel's fault, found by each vision service that uses it
            self.problems.append(problem)

    def object(self, value, where):
        if isinstance(value, dict):
            return value
        self.fail(where, f'expected an object, got {_type_name(value)}')
        return None

    def get(self, attrs, where, key, kind, required=False, default=None, limits=None):
        if key not in attrs or attrs[key] is None:
            if required:
                self.fail(f'{where}.{key}', 'required')
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
        raw = self.get(attrs, where, key, 'string', required)
        if raw is None:
            return ''
        try:
            resolved = resolve_path(raw, self.packages_dir)
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
            if (warning := _one_line(f'{where}.{key}: unknown attribute for {model}, ignored')) not in self.warnings:
                self.warnings.append(warning)


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


def translate(config, packages_dir=None):
    """A Plan for a parsed Viam config; raises ConfigError listing every problem found."""
    reader = _Reader(packages_dir)
    if reader.object(config, 'config') is None:
        raise ConfigError(reader.problems)
    mlmodels, visions, cameras = {}, {}, {}
    for where, name, kind, model, attrs in _entries(config, 'services', reader):
        table, expected_model = {'mlmodel': (mlmodels, 'tflite_cpu'), 'vision': (visions, 'mlmodel')}.get(
            kind if isinstance(kind, str) else None, (None, None))
        if table is None:
            reader.fail(f'{where}.type', f'unknown service type {_shown(kind)} (supported: mlmodel, vision)')
        elif model != expected_model:
            reader.fail(f'{where}.model', f'unknown {kind} model {_shown(model)} (supported: {expected_model})')
        elif name in table:
            reader.fail(f'{where}.name', f'duplicate {kind} service name "{name}" (also {table[name][0]})')
        else:
            table[name] = (where, attrs)
    for where, name, kind, model, attrs in _entries(config, 'components', reader):
        if kind != 'camera':
            reader.fail(f'{where}.type', f'unknown component type {_shown(kind)} (supported: camera)')
        elif model not in CAMERA_MODELS:
            reader.fail(f'{where}.model',
                        f'unknown camera model {_shown(model)} (supported: {", ".join(CAMERA_MODELS)})')
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
    classifier_sources = {}
    for name, (where, model, attrs) in cameras.items():
        reader.unknown(attrs, f'{where}.attributes', model)
        if model == 'transform':
            plan.nodes.append(_overlay(reader, name, where, attrs, cameras, visions, classifier_sources))
        else:
            plan.nodes.append(_camera(reader, name, where, model, attrs))
    for name, (where, attrs) in visions.items():
        plan.nodes.append(_classifier(reader, name, where, attrs, mlmodels, cameras, classifier_sources))
    if reader.problems:
        raise ConfigError(reader.problems)
    plan.warnings = reader.warnings
    return plan


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


def _overlay(reader, name, where, attrs, cameras, visions, classifier_sources):
    at = f'{where}.attributes'
    source = reader.get(attrs, at, 'source', 'string', required=True)
    if source is not None and source not in cameras:
        reader.fail(f'{at}.source', f'no camera named "{source}"')
    elif source == name:
        reader.fail(f'{at}.source', 'a transform camera cannot be its own source')
    pipeline = reader.get(attrs, at, 'pipeline', 'array', required=True) or []
    steps = [(i, s) for i, s in enumerate(pipeline) if reader.object(s, f'{at}.pipeline[{i}]') is not None]
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
            reader.fail(f'{sat}.classifier_name', f'no vision service named "{classifier}"')
        parameters = {
            'confidence_threshold': float(reader.get(step_attrs, sat, 'confidence_threshold', 'unit', default=0.0)),
            'max_classifications': reader.get(step_attrs, sat, 'max_classifications', 'integer', default=1),
        }
        valid_labels = reader.get(step_attrs, sat, 'valid_labels', 'strings', default=[])
        if valid_labels:
            parameters['valid_labels'] = valid_labels
        if classifier in visions and source in cameras:
            classifier_sources.setdefault(classifier, []).append(
                (source, f'{sat}.classifier_name', parameters['max_classifications']))
    if not pipeline:
        reader.fail(f'{at}.pipeline', 'expected one step of type classifications')
    output_dir = reader.get(attrs, at, 'output_dir', 'string')
    if output_dir:
        parameters['output_dir'] = output_dir
    source_model = cameras[source][1] if source in cameras else 'camera'
    remappings = (('image', image_topic(source, source_model)),
                  ('classifications', f'/{classifier}/classifications'))
    return NodeSpec(name, 'overlay_node', parameters, remappings)


def _classifier(reader, name, where, attrs, mlmodels, cameras, classifier_sources):
    at = f'{where}.attributes'
    reader.unknown(attrs, at, 'vision')
    parameters = {}
    mlmodel = reader.get(attrs, at, 'mlmodel_name', 'string', required=True)
    if mlmodel is not None and mlmodel not in mlmodels:
        reader.fail(f'{at}.mlmodel_name', f'no mlmodel service named "{mlmodel}"')
    elif mlmodel is not None:
        model_where, model_attrs = mlmodels[mlmodel]
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
    topic = _classifier_image_topic(reader, name, at, attrs, cameras, classifier_sources)
    camera = topic.split('/')[1]  # /<camera>/image_raw, /<transform camera>/image or, for no camera, /<name>/image
    if camera != name:
        parameters['camera_name'] = camera
    return NodeSpec(name, 'classifier_node', parameters, (('image', topic),))


def _classifier_image_topic(reader, name, at, attrs, cameras, classifier_sources):
    """The classifier's camera: `camera_name`, else the source of the transform cameras that use it."""
    camera = reader.get(attrs, at, 'camera_name', 'string')
    sources = classifier_sources.get(name, [])
    if camera is not None:
        if camera not in cameras:
            reader.fail(f'{at}.camera_name', f'no camera named "{camera}"')
            return f'/{name}/image'
        for source, place, _ in sources:
            if source != camera:
                reader.fail(place, f'vision service "{name}" classifies camera "{camera}" (its camera_name), '
                            f'but this transform camera draws on "{source}"')
        return image_topic(camera, cameras[camera][1])
    distinct = sorted({source for source, _, _ in sources})
    if len(distinct) > 1:
        reader.fail(sources[-1][1], f'vision service "{name}" would classify cameras {", ".join(distinct)}: '
                    'one classifier node takes one camera; give each camera its own vision service')
    if distinct:
        return image_topic(distinct[0], cameras[distinct[0]][1])
    return f'/{name}/image'
