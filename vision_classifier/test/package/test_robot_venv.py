"""
scripts/robot-venv, the robot install path for an externally managed system Python (PEP 668).

A venv over the system Python that sees its packages and holds LiteRT. Run in the Jazzy job only (Ubuntu 24.04 is
where PEP 668 bites); the system Python is played by this machine's Python 3.12.
"""
import os
from pathlib import Path
import subprocess
import sys

import pytest
from support import PACKAGE, PHOTOS, REPO

pytestmark = pytest.mark.skipif(os.environ.get('ROS_DISTRO') != 'jazzy', reason='the Jazzy job runs it')


def test_robot_venv_sees_the_system_packages_and_classifies_with_litert(tmp_path):
    base = Path(sys.base_prefix) / 'bin' / f'python{sys.version_info.major}.{sys.version_info.minor}'
    # apt's python3-numpy and python3-opencv, played by this environment's site-packages (numpy 1.26, OpenCV 4)
    system_site = next(p for p in sys.path if p.endswith('site-packages') and 'cv2' in os.listdir(p))
    env = {**os.environ, 'PYTHON': str(base), 'PYTHONPATH': system_site}
    venv = tmp_path / 'venv'
    result = subprocess.run([str(REPO / 'scripts' / 'robot-venv'), str(venv)], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    assert 'include-system-site-packages = true' in (venv / 'pyvenv.cfg').read_text()
    assert (venv / 'COLCON_IGNORE').is_file()
    import numpy
    assert f'numpy {numpy.__version__}' in result.stdout, 'the system numpy is kept: apt-built modules need it'
    assert f'. {venv}/bin/activate && python -m colcon build' in result.stdout
    classify = subprocess.run(
        [str(venv / 'bin' / 'python'), '-m', 'vision_classifier', 'classify', str(PHOTOS / 'coffee.png'), '--n', '1'],
        env={**env, 'PYTHONPATH': f'{PACKAGE}:{system_site}'}, capture_output=True, text=True, timeout=120)
    assert classify.returncode == 0, classify.stderr
    assert classify.stdout.splitlines()[1].strip().startswith('espresso:')
