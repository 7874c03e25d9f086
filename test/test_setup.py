"""README: `scripts/setup` is idempotent: a second run with nothing changed does nothing (and is quick)."""
import subprocess
import time

from conftest import ROOT


def snapshot():
    """Modification times of what set-up makes: the venv's stamp, the colcon install, the fetched packages."""
    files = [ROOT / '.venv' / '.requirements.sha256']
    for folder in (ROOT / 'install', ROOT / '.cache' / 'packages'):
        files += [p for p in folder.rglob('*') if p.is_file() and not p.is_symlink()]
    return {str(p): p.stat().st_mtime_ns for p in files if p.exists()}


def test_a_second_setup_changes_nothing():
    subprocess.run([str(ROOT / 'scripts' / 'setup')], capture_output=True, text=True, cwd=ROOT, timeout=900)
    before = snapshot()
    start = time.monotonic()
    result = subprocess.run([str(ROOT / 'scripts' / 'setup')], capture_output=True, text=True, cwd=ROOT,
                            timeout=900)
    took = time.monotonic() - start
    print(f'\nsecond scripts/setup: {took:.2f} s')
    assert result.returncode == 0, result.stdout + result.stderr
    actions = [line for line in result.stdout.splitlines() if line.startswith(('setup:', 'fetching'))]
    assert actions == [], actions
    assert snapshot() == before
