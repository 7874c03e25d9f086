"""The `vision_classifier` command with awkward inputs and outputs: a reader that leaves, missing files, bombs."""
import os
import subprocess
import sys

from support import PHOTOS, REPO


def command(*args):
    return [sys.executable, '-m', 'vision_classifier', *args]


def test_a_reader_that_leaves_ends_classify_quietly(default_model):
    """`classify ... | head -3`: once the pipe has no reader, the command stops without a traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader at all: the first line written meets a broken pipe, whatever the timing
    try:
        result = subprocess.run(command('classify', str(PHOTOS / 'coffee.png'), '--n', '-1'), stdout=write_end,
                                stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=120)
    finally:
        os.close(write_end)
    assert result.returncode == 1, result.stderr
    assert 'Traceback' not in result.stderr and 'BrokenPipeError' not in result.stderr, result.stderr

    shell = subprocess.run(['bash', '-c', 'set -o pipefail; "$@" | head -3', 'bash',
                            *command('classify', str(PHOTOS / 'coffee.png'), str(PHOTOS / 'chelsea.png'), '--n', '-1')],
                           capture_output=True, text=True, cwd=REPO, timeout=120)
    assert shell.stdout.splitlines()[0].endswith('coffee.png') and len(shell.stdout.splitlines()) == 3
    assert 'Traceback' not in shell.stderr and 'BrokenPipeError' not in shell.stderr, shell.stderr
