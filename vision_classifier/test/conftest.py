"""
Shared fixtures.

DDS stays on loopback with a random domain per run (set before rclpy starts); under pytest-xdist each worker takes
a domain of its own. The ROS fixtures import ROS when they are used: test/core runs where no ROS is installed.
"""
import os
import random

import pytest
from support import DEFAULT_MODEL, EXPECTED_TOP, PHOTOS, REPO, TIMEOUT
from vision_classifier.core.processes import Process

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', str(random.SystemRandom().randint(1, 100)))
_worker = os.environ.get('PYTEST_XDIST_WORKER', '')
if _worker.startswith('gw'):  # pytest -n N: each worker in a domain of its own
    os.environ['ROS_DOMAIN_ID'] = str((int(os.environ['ROS_DOMAIN_ID']) + 1 + int(_worker[2:])) % 102)


class NodeProcess(Process):
    """A Process whose waits for its output give up only after TIMEOUT."""

    def wait_for_log(self, text, timeout=TIMEOUT):
        return super().wait_for_log(text, timeout)


@pytest.fixture(scope='session')
def default_model():
    assert DEFAULT_MODEL.is_file(), f'{DEFAULT_MODEL} missing: run scripts/setup'
    return str(DEFAULT_MODEL)


@pytest.fixture(scope='session')
def photos():
    from vision_classifier.core.image_files import read_rgb
    return {name: read_rgb(PHOTOS / name) for name in EXPECTED_TOP}


@pytest.fixture
def start_node(tmp_path):
    started = []

    def start(module, *ros_args, name='node', args=None):
        """Start `python -m module --ros-args *ros_args`, or `python -m module *args` when args are given."""
        process = NodeProcess(module, ('--ros-args', *ros_args) if args is None else args, tmp_path / f'{name}.log',
                              cwd=REPO)
        started.append(process)
        return process
    yield start
    for process in started:
        process.stop()


@pytest.fixture
def ros():
    """Return an rclpy context with a test node and an executor spun by `ros.spin_until(predicate)`."""
    from ros_helpers import Ros
    r = Ros()
    yield r
    r.close()
