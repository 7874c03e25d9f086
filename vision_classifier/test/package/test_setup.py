"""README: `scripts/setup` is idempotent: a second run with nothing changed does nothing."""
import os
import subprocess
import time

from support import REPO


def snapshot():
    """Modification times of what set-up makes: the venv's stamp, the colcon install, the fetched packages."""
    env = REPO / '.envs' / os.environ['ROS_DISTRO']
    stamps = [env / 'venv' / '.requirements.sha256', env / 'install' / '.build.sha256']
    files = list(stamps)
    for folder in (env / 'install', REPO / '.cache' / 'packages'):
        files += [p for p in folder.rglob('*') if p.is_file() and not p.is_symlink()]
    assert all(p.is_file() for p in stamps) and len(files) > 20, files
    return {str(p): p.stat().st_mtime_ns for p in files}


def test_a_second_setup_changes_nothing():
    subprocess.run([str(REPO / 'scripts' / 'setup')], capture_output=True, text=True, cwd=REPO, timeout=1800)
    before = snapshot()
    start = time.monotonic()
    result = subprocess.run([str(REPO / 'scripts' / 'setup')], capture_output=True, text=True, cwd=REPO,
                            timeout=1800)
    took = time.monotonic() - start
    print(f'\nsecond scripts/setup: {took:.2f} s')
    assert result.returncode == 0, result.stdout + result.stderr
    actions = [line for line in result.stdout.splitlines() if line.startswith(('setup:', 'fetching'))]
    assert actions == [], actions
    assert snapshot() == before
