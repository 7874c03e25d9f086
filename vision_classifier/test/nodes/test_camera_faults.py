"""
Camera faults end to end: camera_node and classifier_node in their own processes, nothing restarted.

The image file is missing at start, appears, is deleted, comes back as another photo and is overwritten with junk;
the camera retries and resumes each time and the classifier keeps classifying what it sends.
"""
import os
import re
import shutil

from support import CAT_CLASSES, PHOTOS
from vision_classifier_msgs.msg import Classifications

CAMERA = 'vision_classifier.nodes.camera_node'
CLASSIFIER = 'vision_classifier.nodes.classifier_node'


def put(photo, path):
    """Copy `photo` to `path` atomically (temp file + rename), as a camera writing frames should."""
    temp = path.with_name(f'.{path.name}.tmp')
    shutil.copyfile(photo, temp)
    os.replace(temp, path)


def test_image_file_missing_lost_and_restored(ros, start_node, tmp_path, default_model):
    path = tmp_path / 'frame.png'
    missing = f'image_file {path}: no such file or directory; retrying in'
    received = []
    ros.node.create_subscription(Classifications, '/my_classifier/classifications', received.append, 10)
    camera = start_node(CAMERA, '-r', '__node:=cam', '-r', 'image_raw:=/cam/image_raw', '-p', 'source_type:=image_file',
                        '-p', f'source_path:={path}', '-p', 'frame_rate:=10.0', '-p', 'retry_max_seconds:=1.0',
                        name='camera')
    classifier = start_node(CLASSIFIER, '-r', '__node:=my_classifier', '-r', 'image:=/cam/image_raw',
                            '-p', f'model_path:={default_model}', '-p', 'max_classifications:=3', name='classifier')

    def top(result):
        return result.classifications[0].class_name

    def camera_logged(text, times=1):
        return lambda: camera.log().count(text) >= times

    def alive():
        return camera.proc.poll() is None and classifier.proc.poll() is None

    def nothing_classified_after(text):
        """Spin over the camera's next two retries; whether no result is stamped after its last line with text."""
        times = re.findall(r'\[WARN\] \[(\d+\.\d+)\] \[cam\]: ' + re.escape(text), camera.log())
        assert times, camera.log()
        retries = len(times) + 2
        assert ros.spin_until(camera_logged(text, retries)), camera.log()
        return [r for r in received if r.header.stamp.sec + r.header.stamp.nanosec * 1e-9 > float(times[-1])] == []

    # Missing at start: the camera retries (0.5 s, then 1 s at most); nothing is classified.
    assert classifier.wait_for_log('listening on /cam/image_raw'), classifier.log()
    assert camera.wait_for_log(f'{missing} 0.5 s'), camera.log()
    assert nothing_classified_after(missing) and received == [] and alive()

    # The photo appears: frames flow and are classified.
    put(PHOTOS / 'coffee.png', path)
    assert ros.spin_until(lambda: received and top(received[-1]) == 'espresso'), camera.log() + classifier.log()
    assert camera.wait_for_log(f'image_file {path}: frames again'), camera.log()
    assert received[-1].header.frame_id == 'cam'

    # Deleted mid-stream: the camera logs the loss, retries from 0.5 s again, and the results stop.
    losses = camera.log().count(f'{missing} 0.5 s')
    path.unlink()
    assert ros.spin_until(camera_logged(f'{missing} 0.5 s', losses + 1)), camera.log()
    assert nothing_classified_after(missing) and alive()

    # Back as another photo: the results resume with a cat, from the same processes.
    put(PHOTOS / 'chelsea.png', path)
    assert ros.spin_until(lambda: received and top(received[-1]) in CAT_CLASSES), camera.log() + classifier.log()
    assert camera.log().count('frames again') == 2

    # Overwritten in place with junk (a torn write): lost again, then a good photo brings the results back.
    unreadable = f'image_file {path}: not a readable image; retrying in'
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(1000))
    assert ros.spin_until(camera_logged(unreadable)), camera.log()
    assert nothing_classified_after(unreadable) and alive()
    put(PHOTOS / 'coffee.png', path)
    assert ros.spin_until(lambda: received and top(received[-1]) == 'espresso'), camera.log() + classifier.log()

    assert alive()
    assert camera.log().count('frames again') == 3
    for process in (camera, classifier):
        assert 'Traceback' not in process.log(), process.log()
