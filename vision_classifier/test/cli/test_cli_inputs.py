"""The `vision_classifier` command with awkward inputs and outputs: a reader that leaves, missing files, bombs."""
import os
import subprocess
import sys
import time

import cv2
from image_bombs import bomb_png
import numpy as np
from support import fixture_model, FIXTURES, PHOTOS, REPO


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


def fixture_classify(*args):
    return command('classify', *args, '--model', fixture_model('float_nhwc_logits.tflite'),
                   '--labels', str(FIXTURES / 'labels4.txt'))


def run(args):
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=120)


def test_a_missing_file_and_a_folder_are_named_as_such_without_opencv_warnings(tmp_path):
    missing, folder = tmp_path / 'missing.jpg', tmp_path / 'photos.png'
    folder.mkdir()
    result = run(fixture_classify(str(missing), str(folder)))
    assert result.returncode == 1 and result.stdout == ''
    assert result.stderr.splitlines() == [f'error: {missing}: no such file', f'error: {folder}: is a directory']
    for path, cause in ((missing, 'no such file'), (folder, 'is a directory')):
        result = run(command('get-classifications', 'my_classifier', '--image', str(path), '--timeout', '1'))
        assert result.returncode == 1 and result.stderr == f'error: {path}: {cause}\n', result.stderr


def run_measured(args, tmp_path, timeout=300):
    """Run `args`; return (exit status, stdout, stderr, peak resident memory in MiB) of that process alone."""
    out, err = tmp_path / 'stdout.txt', tmp_path / 'stderr.txt'
    with open(out, 'w') as stdout, open(err, 'w') as stderr:
        process = subprocess.Popen(args, stdout=stdout, stderr=stderr, cwd=REPO)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)  # the usage of this child only
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            raise AssertionError(f'{args} still running after {timeout} s')
        time.sleep(0.1)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, out.read_text(), err.read_text(), usage.ru_maxrss / 1024


BOMB_CLAIM = 'PNG header claims 30000x30000 = 2700000000 bytes of pixels, over max_image_bytes 67108864'
SMALL_MIB = 1024  # decoded, the bomb is 2575 MiB of pixels (and as much again for the RGB copy)


def test_classify_refuses_a_bomb_from_its_header_and_classifies_the_next_image(tmp_path):
    bomb, red = tmp_path / 'bomb.png', tmp_path / 'red.png'
    bomb.write_bytes(bomb_png(30000, 30000))
    cv2.imwrite(str(red), np.full((10, 10, 3), (0, 0, 255), np.uint8))
    status, out, err, mib = run_measured(fixture_classify(str(bomb), str(red)), tmp_path)
    assert status == 1 and err == f'error: {bomb}: {BOMB_CLAIM} (--max-image-bytes raises the limit)\n', err
    assert out.splitlines()[0] == str(red), out  # the next file is classified
    assert mib < SMALL_MIB, f'{mib:.0f} MiB resident: the bomb was decoded'


def test_get_classifications_refuses_a_bomb_before_asking_the_service(tmp_path):
    bomb = tmp_path / 'bomb.png'
    bomb.write_bytes(bomb_png(30000, 30000))
    status, out, err, mib = run_measured(
        command('get-classifications', 'my_classifier', '--image', str(bomb), '--timeout', '60'), tmp_path)
    assert status == 1 and err == f'error: {bomb}: {BOMB_CLAIM} (--max-image-bytes raises the limit)\n', err
    assert mib < SMALL_MIB, f'{mib:.0f} MiB resident: the bomb was decoded'


def test_max_image_bytes_sets_the_limit(tmp_path):
    image = tmp_path / 'wide.png'
    cv2.imwrite(str(image), np.zeros((100, 200, 3), np.uint8))  # 60000 bytes of pixels
    refused = run(fixture_classify(str(image), '--max-image-bytes', '59999'))
    assert refused.returncode == 1 and 'PNG header claims 200x100 = 60000 bytes of pixels, over max_image_bytes 59999' \
        in refused.stderr, refused.stderr
    accepted = run(fixture_classify(str(image), '--max-image-bytes', '60000'))
    assert accepted.returncode == 0 and accepted.stdout.splitlines()[0] == str(image), accepted.stderr
    for bad in ('0', '-5', 'lots'):
        result = run(fixture_classify(str(image), '--max-image-bytes', bad))
        assert result.returncode == 2 and 'expected a positive integer' in result.stderr, result.stderr
