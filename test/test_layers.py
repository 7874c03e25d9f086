"""The layers of the file list: a pure core without ROS, nodes on top, front-ends that nothing below imports."""
import ast

from conftest import imported_modules, ROOT, ros_layer_modules

PACKAGE = ROOT / 'vision_classifier'
NODES = {'classifier_node', 'camera_node', 'overlay_node', 'ros_common', 'diagnostics'}
FRONT_ENDS = {'cli', 'bench', 'client', 'web', 'web_node', 'runner', '__main__'}


def modules():
    return {path.stem for path in PACKAGE.glob('*.py') if path.stem != '__init__'}


def imports_of(name):
    tree = ast.parse((PACKAGE / f'{name}.py').read_text())
    return {m.removeprefix('vision_classifier.').split('.')[0] for m in imported_modules(tree, top_level_only=False)
            if m.startswith('vision_classifier.')}


def test_the_core_imports_no_ros():
    core = modules() - NODES - FRONT_ENDS
    assert 'config' in core and 'drawing' in core and 'image_encoding' in core
    ros = {m.removeprefix('vision_classifier.') for m in ros_layer_modules()}
    assert not core & ros, f'core modules that import ROS: {sorted(core & ros)}'


def test_nodes_and_core_import_no_front_end():
    for name in modules() - FRONT_ENDS:
        assert not imports_of(name) & FRONT_ENDS, f'{name} imports {sorted(imports_of(name) & FRONT_ENDS)}'


def test_no_import_cycles():
    graph = {name: imports_of(name) & modules() for name in modules()}

    def reaches(start, target, seen):
        return any(n == target or (n not in seen and reaches(n, target, seen | {n})) for n in graph[start])
    cycles = [name for name in graph if reaches(name, name, {name})]
    assert not cycles, f'modules on an import cycle: {cycles}'
