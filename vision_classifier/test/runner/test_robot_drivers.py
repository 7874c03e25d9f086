"""
Issue 9's robot: a whole Viam machine config (board, motor, arm) whose cameras are drivers already running.

A best_effort JPEG publisher (as usb_cam's image_transport compressed topic) and a best_effort yuv422 publisher (as
v4l2_camera), both separate from `vision_classifier run`: each is classified with the real model, results and
/diagnostics are on the graph, and run stops with exit 0.
"""
import json
import signal

import cv2
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import send_until, set_parameters
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from support import DEFAULT_MODEL, EXPECTED_TOP, PHOTOS, TIMEOUT
from vision_classifier_msgs.msg import Classifications
from yuv import packed_yuv422

CONFIG = {
    'components': [
        {'name': 'local', 'type': 'board', 'model': 'pi', 'attributes': {}},
        {'name': 'left', 'type': 'motor', 'model': 'gpio', 'attributes': {'board': 'local'}},
        {'name': 'arm', 'type': 'arm', 'model': 'xArm6', 'attributes': {'host': 'arm.local'}},
        {'name': 'usb', 'type': 'camera', 'model': 'ros_topic',
         'attributes': {'topic': '/usb_cam/image_raw/compressed'}},
        {'name': 'v4l2', 'type': 'camera', 'model': 'ros_topic', 'attributes': {'topic': '/v4l2_camera/image_raw'}},
        {'name': 'overlay_cam', 'type': 'camera', 'model': 'transform', 'attributes': {
            'source': 'usb', 'pipeline': [{'type': 'classifications',
                                           'attributes': {'classifier_name': 'usb_classifier'}}]}},
    ],
    'services': [
        {'name': 'net', 'type': 'mlmodel', 'model': 'tflite_cpu', 'attributes': {'model_path': str(DEFAULT_MODEL)}},
        {'name': 'usb_classifier', 'type': 'vision', 'model': 'mlmodel', 'attributes': {'mlmodel_name': 'net'}},
        {'name': 'v4l2_classifier', 'type': 'vision', 'model': 'mlmodel',
         'attributes': {'mlmodel_name': 'net', 'camera_name': 'v4l2'}},
    ],
}


def results_out(status):
    """Return the `results out` count of a classifier's DiagnosticStatus (0 before one is seen)."""
    values = {kv.key: kv.value for kv in status.values} if status else {}
    return int(values.get('results out', 0))


def test_a_whole_robot_config_with_its_own_jpeg_and_yuv422_drivers(ros, start_node, tmp_path):
    config = tmp_path / 'robot.json'
    config.write_text(json.dumps(CONFIG))
    coffee = cv2.imread(str(PHOTOS / 'coffee.png'))
    jpeg = CompressedImage(format='rgb8; jpeg compressed bgr8', data=cv2.imencode('.jpg', coffee)[1].tobytes())
    uyvy = packed_yuv422(cv2.cvtColor(coffee, cv2.COLOR_BGR2RGB), 'UYVY')
    yuv = Image(encoding='yuv422', height=uyvy.shape[0], width=coffee.shape[1], step=uyvy.shape[1],
                data=uyvy.tobytes())
    drivers = [(ros.node.create_publisher(CompressedImage, '/usb_cam/image_raw/compressed', qos_profile_sensor_data),
                jpeg, 'usb_cam'),
               (ros.node.create_publisher(Image, '/v4l2_camera/image_raw', qos_profile_sensor_data), yuv, 'v4l2')]
    results = {'usb_classifier': [], 'v4l2_classifier': []}
    for name, received in results.items():
        ros.node.create_subscription(Classifications, f'/{name}/classifications', received.append, 10)
    annotated, health = [], {}
    ros.node.create_subscription(CompressedImage, '/overlay_cam/image/compressed', annotated.append, 10)
    ros.node.create_subscription(DiagnosticArray, '/diagnostics', lambda array: health.update(
        {status.hardware_id: status for status in array.status if status.name.endswith(': classifier')}), 10)

    run = start_node('vision_classifier', name='run', args=('run', str(config)))
    # frames wait for their results as long as these take (the default, 1 s, may drop every frame on a slow machine)
    assert [r.successful for r in set_parameters(ros, 'overlay_cam', result_timeout=3600.0)] == [True]
    sent = [100]

    def drive():
        sent[0] += 1
        for publisher, msg, frame_id in drivers:
            msg.header = Header(frame_id=frame_id)
            msg.header.stamp.sec = sent[0]
            publisher.publish(msg)
    assert send_until(ros, drive, lambda: all(results.values()) and annotated and all(
        results_out(health.get(name)) for name in ('/usb_classifier', '/v4l2_classifier')), period=0.2), run.log()
    log = run.log()
    for name, received in results.items():
        assert received[-1].classifications[0].class_name in EXPECTED_TOP['coffee.png'], (name, received[-1])
    assert results['usb_classifier'][-1].header.frame_id == 'usb_cam'
    for name in ('/usb_classifier', '/v4l2_classifier'):
        values = {kv.key: kv.value for kv in health[name].values}
        assert int(values['results out']) >= 1 and int(values['images in']) >= 1, values
    assert cv2.imdecode(np.frombuffer(bytes(annotated[0].data), np.uint8), cv2.IMREAD_COLOR).shape == coffee.shape
    for what in ('board "local"', 'motor "left"', 'arm "arm"'):
        assert sum(what in line and 'ignored' in line for line in log.splitlines()) == 1, log
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(TIMEOUT) == 0, run.log()
