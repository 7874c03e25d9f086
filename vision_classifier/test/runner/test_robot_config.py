"""
A whole Viam machine config (board, motor, arm) with a `ros_topic` camera fed by a separate best_effort driver.

`vision_classifier run` classifies the driver's frames and stops cleanly.
"""
import json
import signal

import numpy as np
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import image_msg, send_until, set_parameters, stamp_of
from sensor_msgs.msg import Image
from support import fixture_model, TIMEOUT
from vision_classifier_msgs.msg import Classifications

RED = np.zeros((32, 32, 3), np.uint8) + np.uint8([255, 0, 0])


def robot_config(folder):
    (folder / 'labels.txt').write_text('red\ngreen\nblue\ngray\n')
    return {
        'components': [
            {'name': 'local', 'type': 'board', 'model': 'pi', 'attributes': {}},
            {'name': 'left', 'type': 'motor', 'model': 'gpio', 'attributes': {'board': 'local'}},
            {'name': 'arm', 'type': 'arm', 'model': 'xArm6', 'attributes': {'host': '10.0.0.2'}},
            {'name': 'front', 'type': 'camera', 'model': 'ros_topic', 'attributes': {'topic': '/usb_cam/image_raw'}},
            {'name': 'overlay_cam', 'type': 'camera', 'model': 'transform', 'attributes': {
                'source': 'front', 'pipeline': [{'type': 'classifications',
                                                 'attributes': {'classifier_name': 'my_classifier'}}]}},
        ],
        'services': [
            {'name': 'model', 'type': 'mlmodel', 'model': 'tflite_cpu',
             'attributes': {'model_path': fixture_model('float_nhwc_logits.tflite'), 'label_path': 'labels.txt'}},
            {'name': 'my_classifier', 'type': 'vision', 'model': 'mlmodel', 'attributes': {'mlmodel_name': 'model'}},
            {'name': 'nav', 'type': 'navigation', 'model': 'builtin'},
        ],
    }


def test_whole_config_with_a_best_effort_driver_topic(ros, start_node, tmp_path):
    config = tmp_path / 'robot.json'
    config.write_text(json.dumps(robot_config(tmp_path)))
    driver = ros.node.create_publisher(Image, '/usb_cam/image_raw', qos_profile_sensor_data)  # as usb_cam
    results, annotated = [], []
    ros.node.create_subscription(Classifications, '/my_classifier/classifications', results.append, 10)
    ros.node.create_subscription(Image, '/overlay_cam/image', annotated.append, 10)
    run = start_node('vision_classifier', name='run', args=('run', str(config)))
    # frames wait for their results as long as these take (the default, 1 s, may drop every frame on a slow machine)
    assert [r.successful for r in set_parameters(ros, 'overlay_cam', result_timeout=3600.0)] == [True]
    sent = [100]

    def drive():
        sent[0] += 1
        driver.publish(image_msg(RED, stamp=(sent[0], 0), frame_id='usb_cam'))
    assert send_until(ros, drive, lambda: results and annotated), run.log()
    log = run.log()
    assert results[0].classifications[0].class_name == 'red' and results[0].header.frame_id == 'usb_cam'
    # the annotated frame may come before its result does: they are two topics
    assert ros.spin_until(lambda: stamp_of(annotated[0]) in {stamp_of(r) for r in results}), \
        'drawn on the frame it was computed from'
    for what in ('board "local"', 'motor "left"', 'arm "arm"', 'navigation "nav"'):
        assert sum(what in line and 'ignored' in line for line in log.splitlines()) == 1, log
    assert log.count('/usb_cam/image_raw: best_effort (qos_reliability auto') == 2, log  # classifier and overlay
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(TIMEOUT) == 0, run.log()
