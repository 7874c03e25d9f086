"""
Config fuzz: seeded mutations of valid Viam configs.

Removed, retyped and renamed fields, broken references, duplicate and invalid names, broken JSON text. Each one
translates to a Plan whose parameters ROS can hold, or fails with a ConfigError whose every problem names its place;
any other exception fails with the mutation.
"""
import copy
import json
import math
import re
import shutil
import traceback

import numpy as np
import pytest
from rclpy.parameter import Parameter
from rclpy.validate_full_topic_name import validate_full_topic_name
from rclpy.validate_node_name import validate_node_name
from support import fixture_model, PACKAGE, PACKAGES_DIR
from vision_classifier.core.config import ConfigError, load, translate

SEED = 7031
TREE_MUTATIONS, TEXT_MUTATIONS = 1500, 600
PLACE = re.compile(r'(config|services|components)(\[\d+\])?(\.[A-Za-z_]\w*(\[\d+\])?)*: \S')
REFERENCES = ('mlmodel_name', 'classifier_name', 'source', 'camera_name')
INT64 = 2**63


@pytest.fixture(scope='module')
def packages(tmp_path_factory):
    """Viam's placeholder package `<model-name>` (model and labels) and the default config's packages."""
    root = tmp_path_factory.mktemp('packages')
    folder = root / '<model-name>'
    folder.mkdir()
    shutil.copy(fixture_model('float_nhwc_logits.tflite'), folder / '<model-name>.tflite')
    (folder / 'labels.txt').write_text('red\ngreen\nblue\ngray\n')
    for name in ('efficientnet_lite0', 'sample_photos'):
        assert (PACKAGES_DIR / name).is_dir(), f'{PACKAGES_DIR / name} missing: run scripts/setup'
        (root / name).symlink_to(PACKAGES_DIR / name)
    return str(root)


MODEL = {'model_path': '${packages.<model-name>}/<model-name>.tflite',
         'label_path': '${packages.<model-name>}/labels.txt', 'num_threads': 1}


def viam_docs_config():
    """Viam's 2D image classification example: a webcam, a transform camera, an mlmodel and a vision service."""
    return {
        'components': [
            {'name': 'cam1', 'type': 'camera', 'model': 'webcam', 'attributes': {'video_path': '/dev/video0'}},
            {'name': 'overlay_cam', 'type': 'camera', 'model': 'transform', 'attributes': {
                'source': 'cam1', 'pipeline': [{'type': 'classifications', 'attributes': {
                    'confidence_threshold': 0.5, 'classifier_name': 'my_classifier'}}]}},
        ],
        'services': [
            {'name': 'fruit_classifier', 'type': 'mlmodel', 'model': 'tflite_cpu', 'attributes': dict(MODEL)},
            {'name': 'my_classifier', 'type': 'vision', 'model': 'mlmodel',
             'attributes': {'mlmodel_name': 'fruit_classifier'}},
        ],
    }


def everything_config():
    """Every camera model and attribute, a board; one mlmodel shared by four vision services, one named like it."""
    step = {'type': 'classifications', 'attributes': {
        'classifier_name': 'fruit', 'confidence_threshold': 0.2, 'max_classifications': 3,
        'valid_labels': ['red', 'green']}}
    return {
        'components': [
            {'name': 'front', 'api': 'rdk:component:camera', 'model': 'rdk:builtin:webcam',
             'attributes': {'video_path': '0', 'width_px': 640, 'height_px': 480, 'frame_rate': 15}},
            {'name': 'still', 'type': 'camera', 'model': 'image_file',
             'attributes': {'color_image_file_path': '${packages.sample_photos}/coffee.png'}},
            {'name': 'folder', 'type': 'camera', 'model': 'image_folder',
             'attributes': {'folder_path': '${packages.sample_photos}', 'frame_rate': 2.5}},
            {'name': 'clip', 'type': 'camera', 'model': 'video_file', 'attributes': {'video_path': '/data/v.mp4'}},
            {'name': 'pattern', 'type': 'camera', 'model': 'fake', 'attributes': {'width': 320, 'height': 240}},
            {'name': 'driver', 'type': 'camera', 'model': 'ros_topic',
             'attributes': {'topic': '/usb_cam/image_raw/compressed', 'qos_reliability': 'best_effort'}},
            {'name': 'board1', 'type': 'board', 'model': 'pi', 'attributes': {'pins': [1]}},
            {'name': 'overlay_front', 'type': 'camera', 'model': 'transform',
             'attributes': {'source': 'front', 'output_dir': '/tmp/frames', 'pipeline': [step]}},
            {'name': 'overlay_pattern', 'type': 'camera', 'model': 'transform', 'attributes': {
                'source': 'pattern', 'pipeline': [{'type': 'classifications',
                                                   'attributes': {'classifier_name': 'colours'}}]}},
        ],
        'services': [
            {'name': 'fruit', 'type': 'mlmodel', 'model': 'tflite_cpu', 'attributes': dict(MODEL, num_threads=2)},
            {'name': 'fruit', 'type': 'vision', 'model': 'mlmodel', 'attributes': {
                'mlmodel_name': 'fruit', 'default_minimum_confidence': 0.1, 'label_confidences': {'red': 0.3},
                'input_image_mean_value': [0.5], 'input_image_std_dev': [0.5, 0.5, 0.5], 'input_image_bgr': False,
                'max_classifications': 5}},
            {'name': 'colours', 'api': 'rdk:service:vision', 'model': 'rdk:builtin:mlmodel', 'attributes': {
                'mlmodel_name': 'fruit', 'camera_name': 'pattern', 'label_path': MODEL['label_path']}},
            {'name': 'lonely', 'type': 'vision', 'model': 'mlmodel', 'attributes': {'mlmodel_name': 'fruit'}},
            {'name': 'driven', 'type': 'vision', 'model': 'mlmodel',
             'attributes': {'mlmodel_name': 'fruit', 'camera_name': 'driver'}},
        ],
    }


def seeds():
    return [viam_docs_config(), everything_config(), json.loads((PACKAGE / 'config' / 'default.json').read_text())]


def test_the_seeds_translate_to_plans_the_nodes_take(packages, declared):
    for config in seeds():
        check_plan(translate(config, packages), declared)


# Values of every JSON type (and what Python's json also reads: NaN, Infinity, integers of any size)
SAMPLES = {
    'null': [None],
    'boolean': [True, False],
    'integer': [0, 1, -1, 3, 2**31, INT64 - 1, INT64, -INT64 - 1, 10**30, 10**400],
    'float': [0.0, 0.5, -0.5, 1.5, 1e-300, 1e308, math.inf, -math.inf, math.nan],
    'string': ['', ' ', 'x', 'fruit', 'front', 'cam1', '0', 'true', '${packages.<model-name>}',
               '${packages.}', '${packages.a b}/m.tflite', '${packages.a/b}', '${packages.nowhere}/m.tflite',
               '${packages.<model-name>}/labels.txt', '~no_such_user_here/m.tflite', '~a\x00b', 'a\x00b',
               '../../etc/passwd', '/dev/null', 'a\nb', 'front-cam', '1cam', '\u00e9\u753b', 'x' * 5000],
    'array': [[], [1], [0.5, 0.5, 0.5], [0, 0, 0], [1, 2], ['a', 'b'], [None], [[]], [{}], [math.nan]],
    'object': [{}, {'a': 1}, {'red': 0.5}, {'': None}, {'name': 'x'}, {'type': 'classifications'}],
}
BAD_NAMES = ['', 'front-cam', '1cam', 'a b', 'cam/1', '\u00e9', '_x', 'x' * 300]


def nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def places(tree, path='config'):
    """(container, key, path) of every value in a JSON tree."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else []
    found = []
    for key, value in items:
        where = f'{path}.{key}' if isinstance(tree, dict) else f'{path}[{key}]'
        found.append((tree, key, where))
        found += places(value, where)
    return found


def pick(rng, items):
    return items[int(rng.integers(len(items)))]


def retype(rng, config):
    container, key, where = pick(rng, places(config))
    kind = pick(rng, list(SAMPLES) + ['subtree', 'deep'])
    if kind == 'subtree':  # a piece of the config where something else belongs
        value = copy.deepcopy(pick(rng, places(config))[0])
    elif kind == 'deep':
        value = nested(int(rng.integers(10, 990)))
    else:
        value = copy.deepcopy(pick(rng, SAMPLES[kind]))
    container[key] = value
    return f'retype {where} to {kind} {json.dumps(value)[:80] if kind != "deep" else "(deep)"}'


def delete(rng, config):
    container, key, where = pick(rng, places(config))
    del container[key]
    return f'delete {where}'


def rename(rng, config):
    dicts = [(config, 'config')] + [(c[k], w) for c, k, w in places(config) if isinstance(c[k], dict) and c[k]]
    target, where = pick(rng, dicts)
    key = pick(rng, list(target))
    new = pick(rng, [key.upper(), key + 's', key[:-1], '_' + key, key.replace('_', ''), '', pick(rng, REFERENCES),
                     'name', 'type', 'model', 'attributes'])
    target[new] = target.pop(key)
    return f'rename {where}.{key} to {new!r}'


def break_reference(rng, config):
    refs = [(c, k, w) for c, k, w in places(config) if k in REFERENCES]
    if not refs:
        return retype(rng, config)
    container, key, where = pick(rng, refs)
    names = [c[k] for c, k, _ in places(config) if k == 'name' and isinstance(c[k], str)]
    container[key] = pick(rng, ['missing', container[key].upper() if isinstance(container[key], str) else 'x', '',
                                pick(rng, names)])
    return f'point {where} to {container[key]!r}'


def rename_resource(rng, config):
    """Give a resource another's name (a duplicate) or one ROS cannot take."""
    entries = [(c, k, w) for c, k, w in places(config) if k == 'name']
    if not entries:
        return retype(rng, config)
    container, key, where = pick(rng, entries)
    container[key] = pick(rng, [c[k] for c, k, _ in entries if isinstance(c[k], str)] + BAD_NAMES)
    return f'name {where} {container[key]!r}'


def copy_entry(rng, config):
    lists = [(c[k], w) for c, k, w in places(config) if isinstance(c[k], list) and c[k]]
    target, where = pick(rng, lists)
    target.insert(int(rng.integers(len(target) + 1)), copy.deepcopy(pick(rng, target)))
    return f'copy an entry of {where}'


def change_kind(rng, config):
    entries = [(c, k, w) for c, k, w in places(config) if k in ('type', 'model', 'api')]
    container, key, where = pick(rng, entries)
    container[key] = pick(rng, ['camera', 'vision', 'mlmodel', 'transform', 'webcam', 'fake', 'tflite_cpu',
                                'rdk:builtin:transform', 'rdk:service:mlmodel', 'rdk:component:camera',
                                'classifications', 'detections', 'rdk:builtin:', 'arm'])
    return f'set {where} to {container[key]!r}'


def set_attribute(rng, config):
    """Set an attribute (known or not) to a value of any type."""
    attributes = [c[k] for c, k, _ in places(config) if k == 'attributes' and isinstance(c[k], dict)]
    if not attributes:
        return retype(rng, config)
    target = pick(rng, attributes)
    key = pick(rng, list(target) + ['model_path', 'label_path', 'num_threads', 'frame_rate', 'width_px', 'unknown'])
    kind = pick(rng, list(SAMPLES))
    target[key] = copy.deepcopy(pick(rng, SAMPLES[kind]))
    return f'set attribute {key} to {kind} {json.dumps(target[key])[:80]}'


NUMBERS = ['num_threads', 'width_px', 'height_px', 'width', 'height', 'frame_rate', 'confidence_threshold',
           'default_minimum_confidence', 'max_classifications']
EDGES = [-1, 0, 0.001, 0.01, 1, 1.0000001, 256, 257, 1000, 1000.5, 16384, 16385, 2**31, INT64 - 1, INT64]


def edge_number(rng, config):
    """Set a numeric attribute to a value at or just past the edge of what it, or its node, takes."""
    attributes = [c[k] for c, k, _ in places(config) if k == 'attributes' and isinstance(c[k], dict)]
    if not attributes:
        return retype(rng, config)
    target, key, value = pick(rng, attributes), pick(rng, NUMBERS), pick(rng, EDGES)
    target[key] = value
    return f'set attribute {key} to {value}'


TREE_OPS = [retype, delete, rename, break_reference, rename_resource, copy_entry, change_kind, set_attribute,
            edge_number]


def mutate_tree(rng, config):
    done = []
    for _ in range(pick(rng, [1, 1, 1, 2, 2, 3])):
        done.append(pick(rng, TREE_OPS)(rng, config))
        if done[-1].endswith('(deep)'):  # last: walking or copying it would exceed Python's recursion limit
            break
    return done


@pytest.fixture(scope='module')
def declared():
    """Return {executable: {parameter: ParameterDescriptor}}, as the nodes declare their parameters."""
    import rclpy
    from vision_classifier.nodes.factory import node_classes
    context = rclpy.Context()
    rclpy.init(context=context)
    found = {}
    try:
        for executable, node_class in node_classes().items():
            model = [Parameter('model_path', value=fixture_model('float_nhwc_logits.tflite'))]
            node = node_class(f'fuzz_{executable}', context=context,
                              parameter_overrides=model if executable == 'classifier_node' else [])
            try:
                names = node.list_parameters([], 0).names
                found[executable] = dict(zip(names, node.describe_parameters(names)))
            finally:
                node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
    return found


def check_plan(plan, declared):
    """
    Check every parameter is one its node declares, of its type and within its range, and every remapping valid.

    So the node starts with the parameters, and its topics are valid names.
    """
    for node in plan.nodes:
        for name, value in node.parameters.items():
            where = f'{node.name}.{name} = {value!r:.80}'
            descriptor = declared[node.executable].get(name)
            assert descriptor, f'{where}: not a parameter of {node.executable}'
            for v in value if isinstance(value, list) else [value]:
                assert not isinstance(v, int) or -INT64 <= v < INT64, f'{where}: not an int64'
                assert not isinstance(v, float) or math.isfinite(v), f'{where}: not finite'
            assert Parameter(name, value=value).type_.value == descriptor.type, f'{where}: not of the declared type'
            for limits in list(descriptor.integer_range) + list(descriptor.floating_point_range):
                assert limits.from_value <= value <= limits.to_value, f'{where}: out of {limits}'
        validate_node_name(node.name)
        for topic in [t for _, t in node.remappings] + [f'/{node.name}/set_parameters_atomically']:
            validate_full_topic_name(topic)  # the last: the longest name a node serves


def outcome(run, declared, path=None):
    """
    Return 'plan' or 'error' when `run()` gives a Plan ROS can run or a ConfigError of clear problems.

    Otherwise, what went wrong.
    """
    try:
        plan = run()
    except ConfigError as e:
        if not e.problems or len(set(e.problems)) != len(e.problems):
            return f'problems empty or repeated: {e.problems}'
        for problem in e.problems:
            if len(problem.splitlines()) != 1:
                return f'a problem of more than one line: {problem!r}'
            if not (PLACE.match(problem) or (path and problem.startswith(f'{path}: '))):
                return f'a problem that names no place: {problem!r}'
        return 'error'
    except Exception:
        return traceback.format_exc()
    try:
        check_plan(plan, declared)
    except Exception:
        return f'a plan ROS cannot run: {traceback.format_exc()}'
    return 'plan'


def fuzz(cases, declared):
    """Run each (description, run, path) case; fail listing the first few that went wrong."""
    outcomes, failures = {'plan': 0, 'error': 0}, []
    for described, case, path in cases:
        result = outcome(case, declared, path)
        if result in outcomes:
            outcomes[result] += 1
        else:
            failures.append(f'{described}\n{result}')
    assert not failures, f'{len(failures)} failure(s), the first:\n' + '\n\n'.join(f[:3000] for f in failures[:5])
    return outcomes


def test_tree_mutations_translate_or_name_each_problem(packages, declared):
    rng = np.random.default_rng(SEED)
    ops = set()

    def cases():
        for i in range(TREE_MUTATIONS):
            config = seeds()[i % 3]
            mutations = mutate_tree(rng, config)
            ops.update(m.split()[0] for m in mutations)
            yield (f'mutation {i} of seed {i % 3}: {"; ".join(mutations)}',
                   lambda config=config: translate(config, packages), None)
    outcomes = fuzz(cases(), declared)
    assert ops == {'retype', 'delete', 'rename', 'point', 'name', 'copy', 'set'}, ops
    assert min(outcomes.values()) >= 50, outcomes


def garble(rng, text):
    """Broken JSON text (or odd but valid), and what was done."""
    at = int(rng.integers(len(text)))
    op = pick(rng, ['truncate', 'cut', 'insert', 'replace', 'not_utf8', 'bom', 'deep', 'long_number', 'nan',
                    'empty', 'duplicate_key', 'top_level'])
    if op == 'truncate':
        return text[:at].encode(), op
    if op == 'cut':
        return (text[:at] + text[at + int(rng.integers(1, 20)):]).encode(), op
    if op in ('insert', 'replace'):
        junk = ''.join(pick(rng, list('{}[],:"\\ \n0a-.eE')) for _ in range(int(rng.integers(1, 4))))
        return (text[:at] + junk + text[at + (op == 'replace'):]).encode(), f'{op} {junk!r} at {at}'
    if op == 'not_utf8':
        return text[:at].encode() + pick(rng, [b'\xff', b'\xc3', b'\xed\xa0\x80', b'\x80\x80']) + text[at:].encode(), op
    if op == 'bom':
        return b'\xef\xbb\xbf' + text.encode(), op
    if op == 'deep':
        depth = int(rng.integers(500, 200000))
        return text.replace('"attributes": {', f'"attributes": {{"x": {"[" * depth}{"]" * depth}, ', 1).encode(), op
    if op == 'long_number':
        return re.sub(r'\b\d+(\.\d+)?\b', '9' * int(rng.integers(4000, 6000)), text, count=1).encode(), op
    if op == 'nan':
        return re.sub(r'\b\d+(\.\d+)?\b', pick(rng, ['NaN', 'Infinity', '-Infinity', '1e999']), text).encode(), op
    if op == 'empty':
        return pick(rng, [b'', b' ', b'null', b'[]', b'"config"', b'0']), op
    if op == 'duplicate_key':
        return text.replace('"name": ', '"name": "dup", "name": ', 1).encode(), op
    return f'[{text}]'.encode(), op


def test_text_mutations_load_and_translate_or_name_each_problem(packages, declared, tmp_path):
    rng = np.random.default_rng(SEED + 1)

    def cases():
        for i in range(TEXT_MUTATIONS):
            config, mutations = seeds()[i % 3], ['(deep)']
            while mutations and mutations[-1].endswith('(deep)'):  # too deep to write; garble's 'deep' has those
                config = seeds()[i % 3]
                mutations = mutate_tree(rng, config) if rng.integers(2) else []
            text = json.dumps(config, indent=2)
            data, op = garble(rng, text) if rng.integers(4) else (text.encode(), 'as text')
            path = tmp_path / f'robot{i}.json'
            path.write_bytes(data)
            yield (f'text mutation {i} of seed {i % 3}: {"; ".join(mutations + [op])}',
                   lambda path=path: translate(load(path), packages), path)
    outcomes = fuzz(cases(), declared)
    assert min(outcomes.values()) >= 50, outcomes


def test_unreadable_file_is_a_config_error(tmp_path):
    for path in (tmp_path / 'missing.json', tmp_path):
        with pytest.raises(ConfigError) as error:
            load(path)
        assert error.value.problems[0].startswith(f'{path}: cannot read')
