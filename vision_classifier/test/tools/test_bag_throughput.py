"""
A benchmark that prints and asserts no speed: `vision_classifier bag` frames/s against 1/invoke.

With --num-threads 1 and 2, decoding included, against 1/invoke of the model alone (one interpreter of one thread, as
the node runs by default), for raw 640x480 rgb8 frames and JPEGs of 640x480 and 1280x720. docs/recordings.md has the
numbers of one machine.
"""
import os
import re
import time

from bag_frames import COMPRESSED, compressed, encoded, image, RAW, run_cli, write_bag
import cv2
from support import PHOTOS
from vision_classifier.core.image_files import list_images, read_rgb
from vision_classifier.core.output import write_line
from vision_classifier.core.tflite_model import load_model, ModelConfig

FRAMES = 200
KINDS = {'raw rgb8 640x480': ('/cam/image_raw', (640, 480)), 'JPEG 640x480': ('/cam/image_raw/compressed', (640, 480)),
         'JPEG 1280x720': ('/cam/image_raw/compressed', (1280, 720))}


def frames_of(kind, photos):
    topic, size = KINDS[kind]
    found = []
    for i in range(FRAMES):
        rgb = cv2.resize(photos[i % len(photos)], size)
        msg = image(rgb, 'rgb8', (i, 0), 'cam') if topic == '/cam/image_raw' else \
            compressed(encoded(rgb, '.jpg'), 'jpeg', (i, 0), 'cam')
        found.append((topic, RAW if topic == '/cam/image_raw' else COMPRESSED, (i + 1) * 10**8, msg, True))
    return found


def invoke_ms(model, photo, count=200):
    tensor = model.preprocessor(photo)
    for _ in range(10):
        model.invoke(tensor)
    started = time.perf_counter()
    for _ in range(count):
        model.invoke(tensor)
    return (time.perf_counter() - started) / count * 1000


def test_throughput_against_one_over_invoke(tmp_path, default_model):
    photos = [read_rgb(p) for p in list_images(PHOTOS)]
    model = load_model(ModelConfig(default_model))
    rows = []
    for kind in KINDS:
        topic = KINDS[kind][0]
        bag = write_bag(tmp_path / re.sub(r'\W+', '_', kind), 'mcap', frames_of(kind, photos))
        for threads in (1, 2):
            before = invoke_ms(model, photos[0])
            result = run_cli('bag', bag, '--topic', topic, '--model', default_model, '--num-threads', threads,
                             '--out', tmp_path / f'out_{bag.name}_{threads}')
            after = invoke_ms(model, photos[0])
            assert result.returncode == 0, result.stderr
            rate = float(re.search(r'\(([\d.]+) frames/s', result.stdout).group(1))
            busy = re.search(r'interpreters busy (\d+%)', result.stdout).group(1)
            invoke = min(before, after)
            rows.append(f'| {kind} | {threads} | {rate:.0f} | {invoke:.1f} ms ({1000 / invoke:.0f}/s) | '
                        f'{rate * invoke / 1000:.2f} | {busy} |')
    write_line(f'\nbag throughput, {FRAMES} frames, {os.cpu_count()} cores, '
               f'load average {os.getloadavg()[0]:.1f}:\n'
               '| frames | --num-threads | frames/s | invoke alone (1 thread) | frames/s x invoke | '
               'interpreters busy |\n'
               '| --- | --- | --- | --- | --- | --- |\n' + '\n'.join(rows))
