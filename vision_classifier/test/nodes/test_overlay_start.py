"""The overlay node's start with an output_dir holding more frames than max_saved_frames, one of which cannot go."""
import os

from builtin_interfaces.msg import Time
import cv2
import numpy as np
from rclpy.qos import QoSProfile
from ros_helpers import image_msg, stamp_of
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_classifier_msgs.msg import Classification, Classifications

NODE = 'vision_classifier.nodes.overlay_node'


def test_a_frame_that_cannot_be_deleted_at_start_is_logged_and_the_node_keeps_serving(start_node, ros, tmp_path):
    folder = tmp_path / 'frames'
    stuck = folder / 'frame_0_000000001.png'  # a folder named like a frame, not empty: unlink fails
    (stuck / 'inside').mkdir(parents=True)
    frames = [folder / f'frame_{sec}_000000001.png' for sec in (1, 2, 3)]
    for age, path in enumerate([stuck, *frames]):
        if path != stuck:
            cv2.imwrite(str(path), np.zeros((4, 4, 3), np.uint8))
        os.utime(path, (1000 + age, 1000 + age))  # the stuck one oldest: deleted first

    process = start_node(NODE, '-r', '__node:=overlay_cam', '-r', 'image:=/cam/image_raw',
                         '-r', 'classifications:=/my_classifier/classifications',
                         '-p', f'output_dir:={folder}', '-p', 'max_saved_frames:=2', name='overlay')
    assert process.wait_for_log(f'could not delete {stuck}: Is a directory'), process.log()
    assert process.wait_for_log('drawing /my_classifier/classifications on /cam/image_raw'), process.log()
    assert stuck.is_dir() and not frames[0].exists() and frames[1].exists() and frames[2].exists()

    # Still serving: a frame and its results come out annotated, and saved.
    received = []
    ros.node.create_subscription(Image, '/overlay_cam/image', received.append, 10)
    images = ros.node.create_publisher(Image, '/cam/image_raw', QoSProfile(depth=10))
    results = ros.node.create_publisher(Classifications, '/my_classifier/classifications', 10)
    for publisher in (images, results):
        assert ros.wait_for_subscriber(publisher, 60), process.log()
    header = Header(stamp=Time(sec=500, nanosec=1), frame_id='camera')
    cup = [Classification(class_name='cup', confidence=0.5)]
    for _ in range(120):  # sent again until answered: discovery may lose the first
        images.publish(image_msg(np.zeros((24, 32, 3), np.uint8), stamp=(500, 1)))
        results.publish(Classifications(header=header, classifications=cup))
        if ros.spin_until(lambda: any(stamp_of(m) == (500, 1) for m in received), 0.5):
            break
    assert any(stamp_of(m) == (500, 1) for m in received), process.log()
    assert ros.spin_until(lambda: (folder / 'frame_500_000000001.png').is_file(), 30), process.log()
    assert process.proc.poll() is None
    assert 'Traceback' not in process.log(), process.log()
