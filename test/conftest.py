"""Shared fixtures. DDS stays on loopback with a random domain per run (set before rclpy starts).

With VISION_CLASSIFIER_CORE_ONLY=1 (scripts/test-core) only the tests of the pure core run: modules that import ROS
packages at the top are not collected, and tests that use the `ros` or `start_node` fixtures or carry the `ros`
marker are deselected."""
import ast
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', str(random.SystemRandom().randint(1, 100)))
_worker = os.environ.get('PYTEST_XDIST_WORKER', '')
if _worker.startswith('gw'):  # pytest -n N: each worker in a domain of its own
    os.environ['ROS_DOMAIN_ID'] = str((int(os.environ['ROS_DOMAIN_ID']) + 1 + int(_worker[2:])) % 102)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / 'test' / 'fixtures'
PACKAGES_DIR = Path(os.environ.get('VISION_CLASSIFIER_PACKAGES_DIR', ROOT / '.cache' / 'packages'))
DEFAULT_MODEL = PACKAGES_DIR / 'efficientnet_lite0' / 'efficientnet_lite0.tflite'
PHOTOS = PACKAGES_DIR / 'sample_photos'
CAT_CLASSES = {'tabby', 'tiger cat', 'Persian cat', 'Siamese cat', 'Egyptian cat'}
EXPECTED_TOP = {'coffee.png': {'espresso'}, 'chelsea.png': CAT_CLASSES, 'rocket.jpg': {'missile'}}


CORE_ONLY = os.environ.get('VISION_CLASSIFIER_CORE_ONLY') == '1'
ROS_PACKAGES = {'rclpy', 'sensor_msgs', 'std_msgs', 'builtin_interfaces', 'rcl_interfaces', 'diagnostic_msgs',
                'vision_classifier_msgs', 'launch', 'launch_ros', 'ros_helpers', 'netns'}
ROS_FIXTURES = {'ros', 'start_node'}


def imported_modules(tree, top_level_only=True):
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
        elif isinstance(node, ast.ImportFrom) and node.level:
            yield from (f'vision_classifier.{node.module or alias.name}' for alias in node.names)


def ros_layer_modules():
    """vision_classifier modules that import ROS packages, directly or through each other."""
    trees = {f'vision_classifier.{path.stem}': ast.parse(path.read_text())
             for path in (ROOT / 'vision_classifier').glob('*.py')}
    imports = {name: set(imported_modules(tree, top_level_only=False)) for name, tree in trees.items()}
    ros = {name for name, names in imports.items() if any(n.split('.')[0] in ROS_PACKAGES for n in names)}
    while True:
        more = {name for name, names in imports.items() if name not in ros and names & ros}
        if not more:
            return ros
        ros |= more


def needs_ros_at_import(path):
    names = set(imported_modules(ast.parse(path.read_text())))
    return any(n.split('.')[0] in ROS_PACKAGES for n in names) or bool(names & ros_layer_modules())


def pytest_ignore_collect(collection_path, config):
    if CORE_ONLY and collection_path.suffix == '.py' and collection_path.name.startswith('test_'):
        return needs_ros_at_import(collection_path) or None
    return None


def pytest_collection_modifyitems(config, items):
    if not CORE_ONLY:
        return
    ros = [item for item in items
           if ROS_FIXTURES & set(getattr(item, 'fixturenames', ())) or item.get_closest_marker('ros')]
    if ros:
        config.hook.pytest_deselected(items=ros)
        items[:] = [item for item in items if item not in ros]


def fixture_model(name):
    return str(FIXTURES / 'models' / name)


@pytest.fixture(scope='session')
def default_model():
    assert DEFAULT_MODEL.is_file(), f'{DEFAULT_MODEL} missing: run scripts/setup'
    return str(DEFAULT_MODEL)


@pytest.fixture(scope='session')
def photos():
    from vision_classifier.image_files import read_rgb
    return {name: read_rgb(PHOTOS / name) for name in EXPECTED_TOP}


class NodeProcess:
    """A node run as `python -m module --ros-args ...` in its own process; stderr kept in a file."""

    def __init__(self, module, args=(), log_dir=None, name='node'):
        self.log_path = Path(log_dir) / f'{name}.log'
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen([sys.executable, '-m', module, *args],
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def log(self):
        self._log.flush()
        return self.log_path.read_text()

    def wait_for_log(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if self.proc.poll() is not None:
                return text in self.log()
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def start_node(tmp_path):
    started = []

    def start(module, *ros_args, name='node', args=None):
        """`python -m module --ros-args *ros_args`, or `python -m module *args` when args are given."""
        process = NodeProcess(module, ('--ros-args', *ros_args) if args is None else args, tmp_path, name)
        started.append(process)
        return process
    yield start
    for process in started:
        process.stop()


@pytest.fixture
def ros():
    """An rclpy context with a test node and an executor spun by `ros.spin_until(predicate)`."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    class Ros:
        def __init__(self):
            self.context = rclpy.Context()
            rclpy.init(context=self.context)
            self.node = rclpy.create_node(f'test_{os.getpid()}', context=self.context)
            self.executor = SingleThreadedExecutor(context=self.context)
            self.executor.add_node(self.node)

        def spin_until(self, predicate, timeout=30.0):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if predicate():
                    return True
                self.executor.spin_once(timeout_sec=0.05)
            return predicate()

        def wait_for_subscriber(self, publisher, timeout=30.0):
            return self.spin_until(lambda: publisher.get_subscription_count() > 0, timeout)

        def wait_for_publisher(self, subscription, timeout=30.0):
            return self.spin_until(lambda: subscription.get_publisher_count() > 0, timeout)

        def close(self):
            self.executor.shutdown()
            self.node.destroy_node()
            rclpy.try_shutdown(context=self.context)

    r = Ros()
    yield r
    r.close()
