"""
config/fastdds_large_images.xml is in effect on this distro's Fast DDS (2.x on Jazzy, 3.x on Kilted).

Set the way the launch file and bench set it, 1280x720 rgb8 frames from another process reach a best_effort
subscription with it as they reach a reliable one. Without it they exceed the default 512 KB shared-memory segment
of the publishing process and most are lost (printed: how many depends on the machine).

Both processes run in a network namespace of the test's own, with only `lo`.
"""
import json
import os
import subprocess
import sys
import time

from netns import LoopbackHost
import pytest
from support import REPO, TEST_DIR, TIMEOUT
from vision_classifier.core.fastdds import large_images_profile, profile_env, PROFILE_VARIABLES

FRAMES = 30
WIDTH, HEIGHT = 1280, 720  # 2.7 MB: Fast DDS defaults lose ~90% best_effort; 640x480 a varying share


@pytest.fixture
def host():
    made = LoopbackHost()
    try:
        made.create()
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f'cannot make a network namespace here (root and iproute2 needed): {e}')
    yield made
    made.delete()


def frames_received(host, publisher_env):
    """
    Return (best_effort, reliable while best_effort received, reliable) frames of a camera_node in another process.

    The reliable subscription receives FRAMES; the second count is those from the first to the last frame the
    best_effort one received.
    """
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARIABLES}
    camera = subprocess.Popen(host.exec_args(
        sys.executable, '-m', 'vision_classifier.nodes.camera_node', '--ros-args', '-r', 'image_raw:=/profile/image',
        '-p', 'source_type:=fake', '-p', f'width:={WIDTH}', '-p', f'height:={HEIGHT}', '-p', 'frame_rate:=15.0'),
        env={**env, **publisher_env}, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        counter = subprocess.run(host.exec_args(sys.executable, str(TEST_DIR / 'netns.py'), 'count-images',
                                                '/profile/image', str(FRAMES)),
                                 env=env, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        camera.send_signal(2)
        _, camera_log = camera.communicate(timeout=TIMEOUT)
    assert camera.returncode == 0 and 'XMLPARSER' not in camera_log, camera_log
    assert counter.returncode == 0, counter.stderr
    stamps = json.loads(counter.stdout)
    best_effort = stamps['best_effort']
    meanwhile = [s for s in stamps['reliable'] if best_effort and min(best_effort) <= s <= max(best_effort)]
    return len(best_effort), len(meanwhile), len(stamps['reliable'])


def test_profile_parses_and_large_frames_reach_best_effort_subscribers_with_it(host):
    with_profile = frames_received(host, profile_env(large_images_profile()))
    without = frames_received(host, {})
    print(f'\nbest_effort, reliable meanwhile, reliable frames: with the profile {with_profile}, '
          f'Fast DDS defaults {without}')
    assert with_profile[1] >= FRAMES // 2, 'best_effort received frames from the start to the end'
    assert with_profile[0] >= 0.9 * with_profile[1], 'and (almost) every frame reliable received meanwhile'


def test_both_variables_reach_this_fast_dds(host, tmp_path):
    """Check Fast DDS reads the file we point it at: a profile it cannot parse is reported (and the node goes on)."""
    broken = tmp_path / 'broken.xml'
    broken.write_text('<dds><profiles><participant profile_name="x" is_default_profile="true"><rtps>')
    log = tmp_path / 'camera.log'
    with open(log, 'w') as out:
        camera = subprocess.Popen(host.exec_args(
            sys.executable, '-m', 'vision_classifier.nodes.camera_node', '--ros-args', '-p', 'source_type:=fake'),
            env={**os.environ, **profile_env(broken)}, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + TIMEOUT
        while 'on /image_raw' not in log.read_text() and camera.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        camera.send_signal(2)
        assert camera.wait(TIMEOUT) == 0
    text = log.read_text()
    assert 'XMLPARSER' in text and str(broken) in text, text
