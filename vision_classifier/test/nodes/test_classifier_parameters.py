"""
The classifier node's parameters that change what it accepts and computes, each through a real node over DDS.

qos_reliability, max_image_bytes (at start and at run time), input_image_*, packages_dir.
"""
import shutil

import numpy as np
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import call, image_msg, send_until, set_parameters, stamp_of
from sensor_msgs.msg import Image
from support import fixture_model, FIXTURES
from vision_classifier.core.tflite_model import ModelConfig, TfliteCpuModel
from vision_classifier.core.vision import VisionService
from vision_classifier_msgs.msg import Classifications
from vision_classifier_msgs.srv import GetClassifications

NODE = 'vision_classifier.nodes.classifier_node'
MODEL = fixture_model('float_nhwc_logits.tflite')  # tiny and fast: these tests are about parameters
LABELS = str(FIXTURES / 'labels4.txt')


def start(start_node, name, *params):
    args = [a for p in (f'model_path:={MODEL}', f'label_path:={LABELS}', *params) for a in ('-p', p)]
    return start_node(NODE, '-r', f'__node:={name}', '-r', f'image:=/{name}/image', *args, name=name)


def pixels(seed=0, height=32, width=32):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def set_params(ros, node_name, **values):
    return [r.successful for r in set_parameters(ros, node_name, **values)]


def test_qos_reliability_best_effort_receives_a_best_effort_camera_and_reliable_warns(ros, start_node):
    reliable = start(start_node, 'qos_reliable', 'qos_reliability:=reliable')
    best_effort = start(start_node, 'qos_best_effort', 'qos_reliability:=best_effort')
    results = {name: [] for name in ('qos_reliable', 'qos_best_effort')}
    camera_qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)  # as a sensor-data camera driver
    cameras = {}
    for name, received in results.items():
        ros.node.create_subscription(Classifications, f'/{name}/classifications', received.append, 10)
        cameras[name] = ros.node.create_publisher(Image, f'/{name}/image', camera_qos)
    assert reliable.wait_for_log('listening on') and best_effort.wait_for_log('listening on')

    sent = [0]

    def send():
        sent[0] += 1
        for camera in cameras.values():
            camera.publish(image_msg(pixels(), stamp=(1, sent[0])))

    def send_until_done(done):
        return send_until(ros, send, done, period=0.2)
    assert send_until_done(lambda: results['qos_best_effort']), best_effort.log()
    top = results['qos_best_effort'][0].classifications[0].class_name
    assert top == 'delta', 'a mid-gray image: the fourth (gray) class'
    assert send_until_done(lambda: 'has incompatible QoS' in reliable.log()), reliable.log()
    warning = next(line for line in reliable.log().splitlines() if 'incompatible QoS' in line)
    assert '/qos_reliable/image' in warning and 'RELIABILITY' in warning.upper()
    assert 'qos_reliability:=best_effort' in warning, 'the warning names the fix'
    assert results['qos_reliable'] == [], 'a reliable subscription cannot match a best_effort publisher'


def test_max_image_bytes_at_start_and_at_run_time(ros, start_node):
    process = start(start_node, 'small_images', 'max_image_bytes:=1000')
    client = ros.node.create_client(GetClassifications, '/small_images/get_classifications')
    request = GetClassifications.Request(image=image_msg(pixels(), stamp=(3, 0)), n=1)  # 32x32 rgb8: 3072 bytes
    response = call(ros, client, request)
    assert not response.success and 'claimed size 96x32 = 3072 bytes is over max_image_bytes 1000' in response.error
    received = []
    ros.node.create_subscription(Classifications, '/small_images/classifications', received.append, 10)
    camera = ros.node.create_publisher(Image, '/small_images/image', QoSProfile(depth=1))
    assert ros.wait_for_subscriber(camera)
    send_until(ros, lambda: camera.publish(request.image), lambda: 'too_large faults' in process.log(), period=0.2)
    assert 'over max_image_bytes 1000 (1 too_large faults' in process.log(), process.log()

    assert set_params(ros, 'small_images', max_image_bytes=3072) == [True]
    assert call(ros, client, request).success, 'a frame of exactly max_image_bytes is accepted'
    assert send_until(ros, lambda: camera.publish(request.image), lambda: received) and stamp_of(received[0]) == (3, 0)
    assert set_params(ros, 'small_images', max_image_bytes=3071) == [True]
    assert 'over max_image_bytes 3071' in call(ros, client, request).error
    assert set_params(ros, 'small_images', max_image_bytes=0) == [False], 'at least 1'


def test_input_image_parameters_and_packages_dir(ros, start_node, tmp_path):
    """
    Check a model and labels found through ${packages.<name>} in packages_dir, with input normalization and order.

    The node's answer is the in-process model's with the same settings, not the defaults'.
    """
    package = tmp_path / 'packages' / 'colours'
    package.mkdir(parents=True)
    shutil.copy(MODEL, package / 'm.tflite')
    shutil.copy(LABELS, package / 'labels.txt')
    mean, std = [0.1, 0.5, 0.9], [0.2, 0.3, 0.4]
    process = start_node(NODE, '-r', '__node:=tuned', '-p', f'packages_dir:={tmp_path / "packages"}',
                         '-p', 'model_path:=${packages.colours}/m.tflite', '-p', 'label_path:=${packages.colours}/'
                         'labels.txt', '-p', f'input_image_mean_value:={mean}', '-p', f'input_image_std_dev:={std}',
                         '-p', 'input_image_bgr:=true', name='tuned')
    image = pixels(5, 8, 8)
    response = call(ros, ros.node.create_client(GetClassifications, '/tuned/get_classifications'),
                    GetClassifications.Request(image=image_msg(image), n=0))
    assert response.success, process.log()
    got = [(c.class_name, c.confidence) for c in response.classifications]

    def in_process(**settings):
        config = ModelConfig(model_path=MODEL, label_path=LABELS, **settings)
        return [(c.class_name, c.confidence) for c in VisionService(TfliteCpuModel(config)).classify(image)]
    expected = in_process(input_image_mean_value=tuple(mean), input_image_std_dev=tuple(std), input_image_bgr=True)
    assert [n for n, _ in got] == [n for n, _ in expected]
    np.testing.assert_allclose([c for _, c in got], [c for _, c in expected], rtol=1e-6)
    for other in (in_process(), in_process(input_image_mean_value=tuple(mean), input_image_std_dev=tuple(std))):
        assert not np.allclose([c for _, c in sorted(got)], [c for _, c in sorted(other)], atol=1e-4)
