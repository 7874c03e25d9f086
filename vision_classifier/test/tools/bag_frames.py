"""
Recordings made by the tests, and reading bags back.

The sample photos as sensor_msgs/Image in several encodings and as CompressedImage (JPEG, PNG), written with rosbags
in either storage format.
"""
from itertools import zip_longest
import subprocess
import sys

import cv2
import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from support import PHOTOS, REPO
from vision_classifier.tools.recording import typestore

STORE = typestore()
T = STORE.types


def header(stamp, frame_id):
    return T['std_msgs/msg/Header'](stamp=T['builtin_interfaces/msg/Time'](sec=stamp[0], nanosec=stamp[1]),
                                    frame_id=frame_id)


def bayer_rggb(rgb):
    """Return the RGGB mosaic of an RGB image (even size): R G / G B."""
    mosaic = np.empty(rgb.shape[:2], np.uint8)
    mosaic[0::2, 0::2], mosaic[0::2, 1::2] = rgb[0::2, 0::2, 0], rgb[0::2, 1::2, 1]
    mosaic[1::2, 0::2], mosaic[1::2, 1::2] = rgb[1::2, 0::2, 1], rgb[1::2, 1::2, 2]
    return mosaic


def raw_fields(rgb, encoding, pad=0):
    """Return (encoding, is_bigendian, step, data, height, width) of an RGB photo in `encoding`, padded rows."""
    rgb = rgb[:rgb.shape[0] // 2 * 2, :rgb.shape[1] // 2 * 2]
    big = 0
    if encoding == 'rgb8':
        pixels = rgb
    elif encoding == 'bgr8':
        pixels = rgb[:, :, ::-1]
    elif encoding == 'rgba8':
        pixels = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    elif encoding == 'mono8':
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    elif encoding == 'bayer_rggb8':
        pixels = bayer_rggb(rgb)
    elif encoding == 'rgb16':  # big-endian words, the high byte the pixel
        pixels, big = (rgb.astype('>u2') << 8 | 0x55).view(np.uint8), 1
    else:  # an encoding the node does not take
        pixels = rgb
    rows = np.ascontiguousarray(pixels).reshape(rgb.shape[0], -1)
    if pad:
        rows = np.hstack([rows, np.zeros((rows.shape[0], pad), np.uint8)])
    return encoding, big, rows.shape[1], rows.reshape(-1).copy(), rgb.shape[0], rgb.shape[1]


def image(rgb, encoding, stamp, frame_id, pad=0):
    encoding, big, step, data, height, width = raw_fields(rgb, encoding, pad)
    return T['sensor_msgs/msg/Image'](header=header(stamp, frame_id), height=height, width=width, encoding=encoding,
                                      is_bigendian=big, step=step, data=data)


def compressed(data, fmt, stamp, frame_id):
    return T['sensor_msgs/msg/CompressedImage'](header=header(stamp, frame_id), format=fmt,
                                                data=np.frombuffer(data, np.uint8))


def encoded(rgb, suffix, size=None):
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if size:
        bgr = cv2.resize(bgr, size)
    return cv2.imencode(suffix, bgr)[1].tobytes()


RAW = 'sensor_msgs/msg/Image'
COMPRESSED = 'sensor_msgs/msg/CompressedImage'
STRING = 'std_msgs/msg/String'
RAW_ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'mono8', 'bayer_rggb8', 'rgb16')


def sample_frames(raw_topic, compressed_topic, frame_id_raw='front', frame_id_compressed='back'):
    """
    Return [(topic, msgtype, timestamp ns, message, good)] of two cameras.

    The photos on `raw_topic` in each of RAW_ENCODINGS (one padded) and one unsupported encoding; on
    `compressed_topic` as JPEG (one 1280x960: decoded scaled down), PNG and one cut JPEG; the two topics take turns,
    with a std_msgs/String among them. Timestamps rise by 0.1 s; header stamps are distinct.
    """
    from vision_classifier.core.image_files import list_images, read_rgb
    photos = [read_rgb(p) for p in list_images(PHOTOS)]
    raw = [(raw_topic, RAW, image(photos[i % len(photos)], encoding, (100, i), frame_id_raw, pad=8 if i == 1 else 0),
            True) for i, encoding in enumerate(RAW_ENCODINGS)]
    raw.insert(3, (raw_topic, RAW, image(photos[0], 'nv12', (100, 99), frame_id_raw), False))
    jpeg = [(compressed_topic, COMPRESSED, compressed(encoded(rgb, '.jpg', (1280, 960) if i == 0 else None), 'jpeg',
                                                      (200, i), frame_id_compressed), True)
            for i, rgb in enumerate(photos)]
    jpeg.append((compressed_topic, COMPRESSED, compressed(encoded(photos[1], '.png'), 'png', (200, 10),
                                                          frame_id_compressed), True))
    cut = encoded(photos[2], '.jpg')
    jpeg.insert(2, (compressed_topic, COMPRESSED, compressed(cut[:len(cut) // 2], 'jpeg', (200, 11),
                                                             frame_id_compressed), False))
    merged = [f for pair in zip_longest(raw, jpeg) for f in pair if f is not None]
    merged.insert(5, ('/chatter', STRING, T[STRING](data='between frames'), True))
    start = 1_700_000_000 * 10**9
    return [(topic, msgtype, start + (i + 1) * 100_000_000, msg, good)
            for i, (topic, msgtype, msg, good) in enumerate(merged)]


def write_bag(path, storage, frames):
    """Write `frames` (as sample_frames gives them) to a new bag at `path` in `storage` ('mcap' or 'sqlite3')."""
    with Writer(path, version=8, storage_plugin=StoragePlugin[storage.upper()]) as writer:
        connections = {}
        for topic, msgtype, timestamp, msg, _ in frames:
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=STORE)
            writer.write(connections[topic], timestamp, STORE.serialize_cdr(msg, msgtype))
    return path


def read_bag(path):
    """Return {topic: [(timestamp, raw data)]} of every message of a bag, in its order."""
    found = {}
    with Reader(path) as reader:
        storage = {c.ext.serialization_format for c in reader.connections}
        assert storage == {'cdr'}
        for connection, timestamp, data in reader.messages():
            found.setdefault(connection.topic, []).append((timestamp, bytes(data)))
    return found


def storage_of(path):
    return {f.suffix for f in path.iterdir()} & {'.mcap', '.db3'}


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, '-m', 'vision_classifier', *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)
