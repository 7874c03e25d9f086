"""
README: the two commands in a ROS user's shell, whose ROS_DISTRO its sourced install set.

A distro without ROS 2 wheels runs on the nearest environment (humble, iron: jazzy; lyrical, rolling: kilted), said
in one line, with ROS_DISTRO then the environment's and without the paths of the install sourced for it; any other
distro is refused, naming the choices. Each check runs in a shell as a new user's: HOME, PATH and ROS_DISTRO.
"""
import os
import subprocess

import pytest
from support import REPO

ENV = os.environ['ROS_DISTRO']  # the environment these tests run in
NEAREST = {'jazzy': ('humble', 'iron'), 'kilted': ('lyrical', 'rolling')}[ENV]
SHOW = ('echo "$ROS_DISTRO"; echo "$VIRTUAL_ENV"; python -c "import rclpy; print(rclpy.__file__)";'
        'python -c "from vision_classifier.core.fastdds import profile_variables; print(*profile_variables())"')
PROFILE_VARIABLE = {'jazzy': 'FASTRTPS_DEFAULT_PROFILES_FILE', 'kilted': 'FASTDDS_DEFAULT_PROFILES_FILE'}[ENV]


def shell(command, distro, **env):
    """
    Run `command` in bash as in a new user's shell with ROS_DISTRO=`distro`, in the repository.

    Python writes no __pycache__ there: scripts/setup would take a new folder in the package for a new layout.
    """
    return subprocess.run(['bash', '-c', command], capture_output=True, text=True, cwd=REPO, timeout=600,
                          env={'HOME': os.environ['HOME'], 'PATH': '/usr/local/bin:/usr/bin:/bin',
                               'PYTHONDONTWRITEBYTECODE': '1', 'ROS_DISTRO': distro, **env})


def note(script, distro, extra=''):
    return f'{script}: no ROS 2 {distro} wheels on PyPI; running on the nearest environment, {ENV}{extra}\n'


@pytest.mark.parametrize('distro', NEAREST)
def test_env_sh_takes_the_nearest_environment_and_says_so(distro):
    result = shell(f'. scripts/env.sh && {SHOW}', distro)
    assert result.returncode == 0 and result.stderr == note('scripts/env.sh', distro), result.stderr
    venv = REPO / '.envs' / ENV / 'venv'
    assert result.stdout.splitlines() == [ENV, str(venv), result.stdout.splitlines()[2], PROFILE_VARIABLE]
    assert result.stdout.splitlines()[2].startswith(str(venv))


def test_env_sh_leaves_out_a_ros_install_sourced_for_another_distro(tmp_path):
    """As /opt/ros/humble/setup.bash leaves a shell: its Python 3.10 modules would shadow the environment's."""
    distro = NEAREST[0]
    prefix = tmp_path / 'opt' / 'ros' / distro
    site = prefix / 'lib' / 'python3.10' / 'site-packages'
    (site / 'rclpy').mkdir(parents=True)
    (site / 'rclpy' / '__init__.py').write_text(f'raise ImportError("the rclpy of {distro}")\n')
    (prefix / 'bin').mkdir()
    sourced = {'AMENT_PREFIX_PATH': str(prefix), 'PYTHONPATH': str(site), 'LD_LIBRARY_PATH': str(prefix / 'lib'),
               'PATH': f'{prefix / "bin"}:/usr/local/bin:/usr/bin:/bin'}
    result = shell(f'. scripts/env.sh && {SHOW} && env', distro, **sourced)
    assert result.returncode == 0, result.stderr
    assert result.stderr == note('scripts/env.sh', distro, ' (without the ROS install sourced for it)')
    lines = result.stdout.splitlines()
    assert lines[0] == ENV and lines[2].startswith(str(REPO / '.envs' / ENV / 'venv')), result.stdout
    assert str(prefix) not in '\n'.join(lines[4:])


def test_demo_runs_on_the_nearest_environment():
    """`ROS_DISTRO=humble ./scripts/demo --help`: set-up (idempotent) and the demo's help, after the one line."""
    result = shell('scripts/demo --help', NEAREST[0])
    assert result.returncode == 0, result.stderr
    assert result.stderr == note('scripts/demo', NEAREST[0])
    assert 'usage: vision_classifier demo' in result.stdout


@pytest.mark.parametrize('script', ['scripts/demo', 'scripts/test', '. scripts/env.sh'])
def test_another_distro_is_refused_naming_the_choices(script):
    result = shell(script, 'foxy')
    name = script.removeprefix('. ')
    assert result.returncode == 2 and result.stdout == ''
    assert result.stderr == (f'{name}: ROS_DISTRO=foxy: no environment for it here; jazzy or kilted (humble and iron '
                             'run on jazzy, lyrical and rolling on kilted)\n')
