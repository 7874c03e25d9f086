"""The camera node in its own process, over real DDS."""
import os
import re

import cv2
import numpy as np
from rclpy.qos import qos_profile_sensor_data, QoSProfile
from ros_helpers import seconds_of, stamp_of
from sensor_msgs.msg import Image
from vision_classifier.core.camera_sources import Backoff
from vision_classifier.core.image_encoding import decode_msg

NODE = 'vision_classifier.nodes.camera_node'
TOPIC = '/cam/image_raw'


def start_camera(start_node, *params, name='camera'):
    args = ['-r', f'image_raw:={TOPIC}']
    for param in params:
        args += ['-p', param]
    return start_node(NODE, *args, name=name)


def subscribe(ros, qos=None):
    received = []
    ros.node.create_subscription(Image, TOPIC, received.append, qos or QoSProfile(depth=10))
    return received


def write_png(path, rgb):
    """Write a 32x24 image of colour `rgb` whole (a temporary file renamed): the camera never sees it half written."""
    temp = path.parent.parent / f'.{path.name}.tmp.png'
    assert cv2.imwrite(str(temp), np.full((24, 32, 3), rgb[::-1], np.uint8))
    os.replace(temp, path)


def centre(msg):
    pixels = decode_msg(msg).pixels
    return tuple(int(v) for v in pixels[pixels.shape[0] // 2, pixels.shape[1] // 2])


def retry_delays(log, source):
    """Return the delays of the camera's `<source>: <cause>; retrying in <delay> s` warnings, in order."""
    return [float(d) for d in re.findall(re.escape(source) + r': [^;\n]+; retrying in ([\d.]+) s', log)]


def backoff_delays(count, maximum):
    backoff = Backoff(maximum=maximum)
    return [backoff.next() for _ in range(count)]


def test_fake_frames_are_stamped_in_order_at_the_set_rate(ros, start_node):
    received = subscribe(ros)
    best_effort = subscribe(ros, qos_profile_sensor_data)
    process = start_node(NODE, '-r', '__node:=front_camera', '-r', f'image_raw:={TOPIC}', '-p', 'source_type:=fake',
                         '-p', 'width:=160', '-p', 'height:=120', '-p', 'frame_rate:=10.0', name='camera')
    assert ros.spin_until(lambda: received and best_effort), process.log()
    received.clear()
    assert ros.spin_until(lambda: len(received) >= 11), process.log()
    msg = received[-1]
    assert (msg.encoding, msg.width, msg.height, msg.step) == ('rgb8', 160, 120, 480)
    assert msg.header.frame_id == 'front_camera'
    stamps = [stamp_of(m) for m in received]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    spacing = np.median(np.diff([seconds_of(m) for m in received]))
    print(f'\nstamps {spacing:.3f} s apart (median) at 10 fps')
    assert 'fake at 10 fps on /cam/image_raw' in process.log()


def test_image_file_lost_and_restored(ros, start_node, tmp_path):
    (tmp_path / 'frames').mkdir()
    path = tmp_path / 'frames' / 'frame.png'
    write_png(path, (255, 0, 0))
    received = subscribe(ros)
    process = start_camera(start_node, 'source_type:=image_file', f'source_path:={path}', 'frame_id:=optical',
                           'frame_rate:=20.0', 'retry_max_seconds:=1.0')
    assert ros.spin_until(lambda: received), process.log()
    assert centre(received[-1]) == (255, 0, 0) and received[-1].header.frame_id == 'optical'
    assert (received[-1].width, received[-1].height) == (32, 24)

    path.unlink()
    missing = f'image_file {path}: no such file or directory; retrying in'
    assert process.wait_for_log(f'{missing} 0.5 s'), process.log()
    assert process.wait_for_log(f'{missing} 1 s'), process.log()
    assert process.proc.poll() is None
    write_png(path, (0, 0, 255))
    received.clear()
    assert ros.spin_until(lambda: received and centre(received[-1]) == (0, 0, 255)), process.log()
    assert process.wait_for_log(f'image_file {path}: frames again')
    log = process.log()
    delays = retry_delays(log, f'image_file {path}')
    assert delays == backoff_delays(len(delays), 1.0) and 'Traceback' not in log, log  # 0.5 s, then 1 s at most


def test_source_missing_at_start_is_retried(ros, start_node, tmp_path):
    folder = tmp_path / 'frames'
    received = subscribe(ros)
    process = start_camera(start_node, 'source_type:=image_folder', f'source_path:={folder}')
    assert process.wait_for_log(f'image_folder {folder}: no such folder; retrying in 0.5 s'), process.log()
    folder.mkdir()
    assert process.wait_for_log(f'image_folder {folder}: no image files in the folder; retrying in'), process.log()
    write_png(folder / 'a.png', (0, 255, 0))
    (folder / 'b.png').write_bytes(b'broken')
    assert ros.spin_until(lambda: received), process.log()
    assert centre(received[-1]) == (0, 255, 0)
    assert process.wait_for_log(f'image_folder {folder}: skipped {folder / "b.png"}: not a readable image')
    assert process.wait_for_log('frames again') and process.proc.poll() is None
    delays = retry_delays(process.log(), f'image_folder {folder}')
    assert delays == backoff_delays(len(delays), 10.0), process.log()  # doubling from 0.5 s, whatever the cause


def test_bad_source_type_exits_1_without_traceback(start_node):
    process = start_camera(start_node, 'source_type:=usb', name='broken')
    assert process.proc.wait(120) == 1
    log = process.log()
    assert '[camera] cannot start: source_type: expected one of webcam, video_file' in log
    assert 'Traceback' not in log
