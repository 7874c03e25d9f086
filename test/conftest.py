"""Shared fixtures. DDS stays on loopback with a random domain per run (set before rclpy starts)."""
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', str(random.SystemRandom().randint(1, 100)))

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / 'test' / 'fixtures'
PACKAGES_DIR = Path(os.environ.get('VISION_CLASSIFIER_PACKAGES_DIR', ROOT / '.cache' / 'packages'))
DEFAULT_MODEL = PACKAGES_DIR / 'efficientnet_lite0' / 'efficientnet_lite0.tflite'
PHOTOS = PACKAGES_DIR / 'sample_photos'
CAT_CLASSES = {'tabby', 'tiger cat', 'Persian cat', 'Siamese cat', 'Egyptian cat'}
EXPECTED_TOP = {'coffee.png': {'espresso'}, 'chelsea.png': CAT_CLASSES, 'rocket.jpg': {'missile'}}


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
