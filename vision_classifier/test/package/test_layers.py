"""
The layers, by path.

vision_classifier/core is the pure core (no ROS); vision_classifier/nodes the ROS nodes, which import the core only;
the front-ends (runner, web, bench, tools, client, cli) import those two and each other only as LAYERS allows, and
nothing imports the command line. No import cycles. test/core imports no ROS either.
"""
import ast

from support import PACKAGE, TEST_DIR

SOURCE = PACKAGE / 'vision_classifier'
ROS = {'rclpy', 'sensor_msgs', 'std_msgs', 'builtin_interfaces', 'rcl_interfaces', 'diagnostic_msgs',
       'lifecycle_msgs', 'vision_classifier_msgs', 'vision_msgs', 'launch', 'launch_ros', 'ament_index_python',
       'ros_helpers', 'netns'}
# layer: the layers it may import (itself included)
LAYERS = {
    'core': {'core'},
    'nodes': {'core', 'nodes'},
    'runner': {'core', 'nodes', 'runner'},
    'web': {'core', 'nodes', 'web'},
    'client': {'core', 'nodes', 'client'},
    'bench': {'core', 'nodes', 'bench'},
    'tools': {'core', 'nodes', 'client', 'tools'},
    'cli': {'core', 'nodes', 'runner', 'web', 'client', 'bench', 'tools', 'cli'},
    '__main__': {'cli'},
    '__init__': set(),
}
PURE = {'core', 'web.server'}  # import nothing of ROS, even inside functions (ament_index_python's fallback aside)


def module_name(path):
    return '.'.join(path.relative_to(SOURCE).with_suffix('').parts).removesuffix('.__init__')


def layer(module):
    return module.split('.')[0]


def imports(path, top_level_only=False):
    """Every module `path` imports, at the top or (unless `top_level_only`) inside functions."""
    tree = ast.parse(path.read_text())
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f'{path}: relative import (absolute ones show the layer)'
            yield node.module


def ours(path):
    return {m.removeprefix('vision_classifier.') for m in imports(path) if m.startswith('vision_classifier.')}


def modules():
    return {module_name(path): path for path in SOURCE.rglob('*.py')}


def test_every_module_is_in_a_layer():
    assert {layer(m) for m in modules()} <= set(LAYERS), {layer(m) for m in modules()} - set(LAYERS)
    assert {'core', 'nodes', 'runner', 'web', 'bench', 'client', 'cli'} <= {layer(m) for m in modules()}


def test_each_layer_imports_only_the_layers_below_it():
    wrong = {name: sorted(m for m in ours(path) if layer(m) not in LAYERS[layer(name)])
             for name, path in modules().items()}
    assert not {name: found for name, found in wrong.items() if found}


def test_the_core_and_the_web_server_import_no_ros():
    found = {name: sorted(m for m in imports(path) if m.split('.')[0] in ROS - {'ament_index_python'})
             for name, path in modules().items() if layer(name) == 'core' or name in PURE}
    assert 'core.config' in found and 'core.tflite_model' in found
    assert not {name: ros for name, ros in found.items() if ros}


def test_no_import_cycles():
    names = modules()
    graph = {name: {m for m in ours(path) if m in names} for name, path in names.items()}

    def reaches(start, target, seen):
        return any(n == target or (n not in seen and reaches(n, target, seen | {n})) for n in graph[start])
    assert not [name for name in graph if reaches(name, name, {name})]


def test_the_core_tests_import_no_ros():
    """scripts/test-core runs test/core where no ROS is installed (conftest's ROS fixtures import it when used)."""
    files = list((TEST_DIR / 'core').glob('test_*.py')) + [TEST_DIR / name for name in (
        'support.py', 'fuzz_cases.py', 'yuv.py', 'conftest.py')]
    found = {path.name: sorted(m for m in imports(path, path.name == 'conftest.py') if m.split('.')[0] in ROS)
             for path in files}
    assert len(found) > 15 and not {name: ros for name, ros in found.items() if ros}
    imported = {m for path in files for m in ours(path)}
    assert not {m for m in imported if layer(m) != 'core'}, 'core tests import beyond the core'
