"""What the demo tells and where it writes: the assets' folder said once, the annotated frames in the user's cache."""
import os
from pathlib import Path
import re
import subprocess
import sys

from support import PACKAGES_DIR, REPO

SAVED_LINE = re.compile(r'overlay_cam: (\d+) annotated frames in (/.+)')
ASSETS_LINE = 'default model and photos in '


def saved_folder(stdout):
    """Return the folder the demo's last line names, after checking that it holds the frames it counts."""
    saved = [SAVED_LINE.fullmatch(line) for line in stdout.splitlines() if ' annotated frames in ' in line]
    assert len(saved) == 1 and saved[0], stdout
    count, folder = int(saved[0].group(1)), Path(saved[0].group(2))
    assert count >= 1 and count == len(list(folder.glob('frame_*.png'))), stdout
    return folder


def test_scripts_demo_says_where_the_assets_are_once_and_saves_in_xdg_cache_home(tmp_path):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / 'cache'))
    result = subprocess.run([str(REPO / 'scripts' / 'demo'), '--frames', '2'], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert [line for line in result.stdout.splitlines() if line.startswith(ASSETS_LINE)] == [
        f'{ASSETS_LINE}.cache/packages'], result.stdout
    assert saved_folder(result.stdout) == tmp_path / 'cache' / 'vision_classifier' / 'annotated_frames' / 'overlay_cam'


def test_demo_saves_in_the_home_cache_whatever_the_working_directory(tmp_path):
    home, work = tmp_path / 'home', tmp_path / 'work'
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != 'XDG_CACHE_HOME'}
    env['HOME'] = str(home)
    result = subprocess.run([sys.executable, '-m', 'vision_classifier', 'demo', '--frames', '1',
                             '--packages-dir', str(PACKAGES_DIR)], capture_output=True, text=True, cwd=work, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert saved_folder(result.stdout) == home / '.cache' / 'vision_classifier' / 'annotated_frames' / 'overlay_cam'
    assert list(work.iterdir()) == []
    assert ASSETS_LINE not in result.stdout  # the assets were there: `fetch-assets` is the command that says where
