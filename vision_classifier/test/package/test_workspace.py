"""
A plain ROS 2 workspace, as docs/robot.md builds one: the repository cloned into src/, both packages found and built.

rosdep itself needs the rosdistro index from the network; what `rosdep install --from-paths src` reads of the
workspace is catkin_pkg's find_packages, checked here (the test-only vision_msgs must stay hidden from it).
"""
import os
from pathlib import Path
import shutil
import signal
import subprocess

from catkin_pkg.packages import find_packages

from support import DEFAULT_MODEL, REPO


def clone(destination):
    """Copy the repository's files (tracked and new, as a clone of this tree would hold) to `destination`."""
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split('\0')
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def test_a_workspace_finds_and_builds_both_packages_and_a_node_starts_from_it(tmp_path):
    src = tmp_path / 'ws' / 'src'
    clone(src / 'vision_classifier')
    found = {package.name for package in find_packages(str(src)).values()}
    assert found == {'vision_classifier', 'vision_classifier_msgs'}, 'what rosdep install --from-paths src sees'
    venv = Path(os.environ['VIRTUAL_ENV'])
    env = {key: value for key, value in os.environ.items() if key not in ('PYTHONPATH', 'CMAKE_PREFIX_PATH')}
    env.update(AMENT_PREFIX_PATH=str(venv), PATH=f'{venv}/bin:{os.environ["PATH"]}')  # the ROS install: the venv
    build = subprocess.run([str(venv / 'bin' / 'python'), '-m', 'colcon', 'build', '--cmake-args',
                            '-DBUILD_TESTING=OFF', f'-DPython3_EXECUTABLE={venv}/bin/python'],
                           cwd=tmp_path / 'ws', env=env, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert 'Summary: 2 packages finished' in build.stdout, build.stdout[-2000:]
    install = tmp_path / 'ws' / 'install'
    shell = (f'set +u; . {install}/setup.bash; '
             'python -c "import vision_classifier, vision_classifier_msgs; '
             'print(vision_classifier.__file__, vision_classifier_msgs.__file__)"; '
             f'exec {install}/vision_classifier/lib/vision_classifier/classifier_node --ros-args '
             f'-r __node:=workspace_classifier -p model_path:={DEFAULT_MODEL}')
    node = subprocess.Popen(['bash', '-c', shell], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in node.stdout:
            lines.append(line)
            if 'listening on' in line:
                break
        assert any('listening on' in line for line in lines), ''.join(lines)
        modules = lines[0].split()
        assert all(str(tmp_path / 'ws') in module for module in modules), modules
    finally:
        node.send_signal(signal.SIGINT)
        rest, _ = node.communicate(timeout=120)
    assert node.returncode == 0 and 'Traceback' not in rest, ''.join(lines) + rest
