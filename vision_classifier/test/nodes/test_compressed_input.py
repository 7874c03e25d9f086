"""
CompressedImage input over real DDS.

A separate best_effort JPEG publisher (as usb_cam's compressed topic) read by the classifier through image_transport's
topic name, bad compressed frames rejected by kind with the next good one classified, and the overlay reading JPEG
and publishing its view as JPEG to whoever subscribes.
"""
import subprocess
import sys

from builtin_interfaces.msg import Time
import cv2
import numpy as np
from rclpy.qos import QoSProfile
from ros_helpers import send_until, stamp_of
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from support import CAT_CLASSES, PHOTOS, REPO, TEST_DIR, TIMEOUT
from vision_classifier.core.compressed import decode_compressed
from vision_classifier_msgs.msg import Classification, Classifications

CLASSIFIER, OVERLAY = 'vision_classifier.nodes.classifier_node', 'vision_classifier.nodes.overlay_node'


def jpeg(photo, quality=90):
    return cv2.imencode('.jpg', cv2.imread(str(PHOTOS / photo)), [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def compressed_msg(data, stamp, image_format='jpeg'):
    return CompressedImage(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id='cam'),
                           format=image_format, data=data)


def test_a_best_effort_jpeg_camera_in_its_own_process_is_classified(ros, start_node, default_model):
    # image:= names the raw topic; the compressed one is <image>/compressed, as image_transport names it
    classifier = start_node(CLASSIFIER, '-r', '__node:=jpeg_classifier', '-r', 'image:=/usb_cam/image_raw',
                            '-p', f'model_path:={default_model}', '-p', 'image_transport:=compressed',
                            '-p', 'qos_reliability:=best_effort', name='classifier')
    received = []
    ros.node.create_subscription(Classifications, '/jpeg_classifier/classifications', received.append, 10)
    assert classifier.wait_for_log('listening on /usb_cam/image_raw/compressed'), classifier.log()
    # a 1280x960 JPEG: decoded scaled down to 320x240 for the 224x224 model
    camera = subprocess.Popen([sys.executable, str(TEST_DIR / 'jpeg_publisher.py'),
                               '/usb_cam/image_raw/compressed', str(PHOTOS / 'coffee.png'), '10', '1280x960'],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert ros.spin_until(lambda: len(received) >= 3), classifier.log()
    finally:
        camera.send_signal(2)
        output = camera.communicate(timeout=TIMEOUT)[0]
    assert camera.returncode == 0 and 'bytes of JPEG on /usb_cam/image_raw/compressed' in output, output
    assert all(r.header.frame_id == 'usb_cam' for r in received)
    assert [r.classifications[0].class_name for r in received] == ['espresso'] * len(received)
    assert len({stamp_of(r) for r in received}) == len(received)


def test_bad_compressed_frames_are_rejected_by_kind_and_the_next_good_one_classified(ros, start_node, default_model):
    # `image/compressed` remapped by itself
    classifier = start_node(CLASSIFIER, '-r', '__node:=jpeg_classifier', '-r', 'image/compressed:=/cam/jpeg',
                            '-p', f'model_path:={default_model}', '-p', 'image_transport:=compressed',
                            name='classifier')
    received = []
    ros.node.create_subscription(Classifications, '/jpeg_classifier/classifications', received.append, 10)
    frames = ros.node.create_publisher(CompressedImage, '/cam/jpeg', QoSProfile(depth=10))
    assert ros.wait_for_subscriber(frames), classifier.log()
    good = jpeg('chelsea.png')
    bomb = bytearray(cv2.imencode('.png', np.zeros((4, 4, 3), np.uint8))[1].tobytes())
    bomb[16:24] = (200000).to_bytes(4, 'big') * 2  # IHDR claims 200000 x 200000
    bad = [(bytes(bomb), 'PNG header claims 200000x200000'), (good[:len(good) // 2], 'JPEG: truncated at'),
           (b'GIF89a' + bytes(100), 'data is neither JPEG nor PNG')]
    for i, (data, cause) in enumerate(bad):  # each until taken: discovery may lose the first
        assert send_until(ros, lambda: frames.publish(compressed_msg(data, (1, i))),
                          lambda: cause in classifier.log()), classifier.log()
    assert send_until(ros, lambda: frames.publish(compressed_msg(good, (2, 0), 'rgb8; jpeg compressed bgr8')),
                      lambda: received), classifier.log()
    assert {stamp_of(r) for r in received} == {(2, 0)}, classifier.log()
    assert received[0].classifications[0].class_name in CAT_CLASSES
    log = classifier.log()
    assert ' too_large faults, ' in log and ' compressed faults, ' in log, log
    assert classifier.proc.poll() is None and 'Traceback' not in log


def test_overlay_reads_jpeg_and_publishes_its_view_as_jpeg_when_subscribed(ros, start_node):
    overlay = start_node(OVERLAY, '-r', '__node:=jpeg_overlay', '-r', 'image:=/cam/image_raw',
                         '-r', 'classifications:=/my_classifier/classifications', '-p', 'image_transport:=compressed',
                         name='overlay')
    frames = ros.node.create_publisher(CompressedImage, '/cam/image_raw/compressed', QoSProfile(depth=10))
    results = ros.node.create_publisher(Classifications, '/my_classifier/classifications', 10)
    raw, compressed = [], []
    ros.node.create_subscription(Image, '/jpeg_overlay/image', raw.append, 10)
    for publisher in (frames, results):
        assert ros.wait_for_subscriber(publisher), overlay.log()
    data = jpeg('coffee.png')
    verdict = [Classification(class_name='espresso', confidence=0.8)]

    def send_frame_and_results(done, stamp):
        def send():
            frames.publish(compressed_msg(data, stamp))
            results.publish(Classifications(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id='cam'),
                                            classifications=verdict))
        return send_until(ros, send, done)

    assert send_frame_and_results(lambda: raw, (5, 0)), overlay.log()
    size = cv2.imread(str(PHOTOS / 'coffee.png')).shape[:2]
    assert raw[0].encoding == 'bgr8' and (raw[0].height, raw[0].width) == size
    # nobody subscribed to ~/image/compressed so far: now someone does
    ros.node.create_subscription(CompressedImage, '/jpeg_overlay/image/compressed', compressed.append, 10)
    assert send_frame_and_results(lambda: (6, 0) in map(stamp_of, compressed), (6, 0)), overlay.log()
    jpeg_view = next(m for m in compressed if stamp_of(m) == (6, 0))
    view = decode_compressed(jpeg_view.format, jpeg_view.data)
    assert jpeg_view.format == 'bgr8; jpeg compressed bgr8'
    assert view.pixels.shape[:2] == (raw[0].height, raw[0].width)


def test_the_classifier_node_decodes_jpeg_at_its_models_size(default_model):
    import rclpy
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import CompressedImage
    from vision_classifier.nodes.classifier_node import ClassifierNode
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = ClassifierNode('scaled_classifier', context=context, parameter_overrides=[
            Parameter('model_path', value=default_model), Parameter('image_transport', value='compressed')])
        msg = CompressedImage(format='jpeg', data=cv2.imencode('.jpg', np.zeros((960, 1280, 3), np.uint8))[1].tobytes())
        assert node.decode_image(msg, 2**26).pixels.shape == (240, 320, 3)
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
