"""qos_reliability auto: the classifier and overlay subscribe as their topic's publishers offer, over real DDS."""
import re

import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import image_msg, send_until
from sensor_msgs.msg import CompressedImage, Image
from support import fixture_model
from vision_classifier_msgs.msg import Classifications

CLASSIFIER = 'vision_classifier.nodes.classifier_node'
RED = np.zeros((32, 32, 3), np.uint8) + np.uint8([255, 0, 0])


def start_classifier(start_node, topic, *params):
    return start_node(CLASSIFIER, '-r', '__node:=auto_classifier', '-r', f'image:={topic}',
                      '-p', f'model_path:={fixture_model("float_nhwc_logits.tflite")}', *params, name='classifier')


def publisher(ros, msg_type, topic, reliability):
    return ros.node.create_publisher(msg_type, topic, QoSProfile(depth=1, reliability=reliability))


def classified(ros, process, pub):
    """Publish frames until the classifier answers one; its results prove the subscription matched."""
    received = []
    ros.node.create_subscription(Classifications, '/auto_classifier/classifications', received.append, 10)
    return send_until(ros, lambda: pub.publish(image_msg(RED)), lambda: received)


@pytest.mark.parametrize('offered,chosen', [(ReliabilityPolicy.BEST_EFFORT, 'best_effort'),
                                            (ReliabilityPolicy.RELIABLE, 'reliable')])
def test_auto_takes_the_reliability_of_the_publishers(ros, start_node, offered, chosen):
    topic = f'/driver_{chosen}/image_raw'
    pub = publisher(ros, Image, topic, offered)  # before the node, as a camera driver already running
    process = start_classifier(start_node, topic)
    name = re.escape(ros.node.get_name())
    reason = r'1 of 1 publisher\(s\) best_effort' if chosen == 'best_effort' else r'1 publisher\(s\), all reliable'
    if chosen == 'reliable':  # or the default, when discovery took longer than the node waits (5 s)
        reason = rf'({reason}|no sensor_msgs/msg/Image publisher within 5 s: the default; watching for best_effort ' \
                 r'publishers)'
    expected = rf'{topic}: {chosen} \(qos_reliability auto: {reason}(: /{name})?\)'  # the node's name when known
    assert process.wait_for_log(f'{topic}: {chosen} (qos_reliability auto'), process.log()
    assert re.search(expected, process.log()), process.log()
    assert classified(ros, process, pub), process.log()


def test_one_best_effort_publisher_among_reliable_ones_makes_it_best_effort(ros, start_node):
    from rclpy import create_node
    topic = '/mixed/image_raw'
    other = create_node('reliable_camera', context=ros.context)
    try:
        other.create_publisher(Image, topic, QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        pub = publisher(ros, Image, topic, ReliabilityPolicy.BEST_EFFORT)
        process = start_classifier(start_node, topic)
        # discovery may tell the best_effort publisher first (1 of 1): the choice is the same
        assert process.wait_for_log(f'{topic}: best_effort (qos_reliability auto: 1 of '), process.log()
        assert re.search(r'1 of [12] publisher\(s\) best_effort', process.log()), process.log()
        assert classified(ros, process, pub), process.log()
    finally:
        other.destroy_node()


def test_auto_without_a_publisher_takes_reliable_then_a_late_best_effort_one(ros, start_node):
    process = start_classifier(start_node, '/late/image_raw')
    assert process.wait_for_log('/late/image_raw: reliable (qos_reliability auto: no sensor_msgs/msg/Image '
                                'publisher within 5 s: the default; watching for best_effort publishers)'), \
        process.log()
    pub = publisher(ros, Image, '/late/image_raw', ReliabilityPolicy.BEST_EFFORT)  # a driver started later
    assert process.wait_for_log('/late/image_raw: best_effort (qos_reliability auto: 1 of 1 publisher(s) '
                                'best_effort'), process.log()
    assert classified(ros, process, pub), process.log()
    assert 'incompatible' not in process.log()


def test_a_topic_of_another_type_is_named_with_the_fix(ros, start_node):
    publisher(ros, CompressedImage, '/jpeg/image', ReliabilityPolicy.BEST_EFFORT)
    process = start_classifier(start_node, '/jpeg/image')
    assert process.wait_for_log('/jpeg/image carries sensor_msgs/msg/CompressedImage, not sensor_msgs/msg/Image'), \
        process.log()
    assert '"format"' in process.log()


def test_a_set_reliability_is_used_as_it_is(ros, start_node):
    pub = publisher(ros, Image, '/fixed/image_raw', ReliabilityPolicy.BEST_EFFORT)
    process = start_classifier(start_node, '/fixed/image_raw', '-p', 'qos_reliability:=best_effort')
    assert classified(ros, process, pub), process.log()
    assert 'qos_reliability auto' not in process.log()
