"""The classifier node in its own process, over real DDS."""
import os
import signal

import cv2
import pytest
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile
from ros_helpers import call, image_msg, send_until, set_parameters, stamp_of
from sensor_msgs.msg import Image
from support import CAT_CLASSES, fixture_model
from vision_classifier_msgs.msg import Classifications
from vision_classifier_msgs.srv import GetClassifications

NODE = 'vision_classifier.nodes.classifier_node'


@pytest.fixture
def classifier(start_node, ros, default_model):
    process = start_node(NODE, '-r', '__node:=my_classifier', '-r', 'image:=/cam/image_raw',
                         '-p', f'model_path:={default_model}', '-p', 'max_classifications:=3', name='classifier')
    received = []
    ros.node.create_subscription(Classifications, '/my_classifier/classifications', received.append, 10)
    publisher = ros.node.create_publisher(Image, '/cam/image_raw', QoSProfile(depth=10))
    assert ros.wait_for_subscriber(publisher), process.log()
    return process, publisher, received


def publish_until(ros, publisher, received, msgs, done):
    """Publish `msgs` in rounds until `done(received)`; discovery may lose the first round."""
    return send_until(ros, lambda: [publisher.publish(msg) for msg in msgs], lambda: done(received))


def test_topic_results_carry_the_source_header(ros, classifier, photos):
    process, publisher, received = classifier
    coffee = image_msg(photos['coffee.png'], stamp=(1234, 5678), frame_id='front_camera')
    assert publish_until(ros, publisher, received, [coffee], lambda r: r), process.log()
    result = received[0]
    assert stamp_of(result) == (1234, 5678) and result.header.frame_id == 'front_camera'
    assert len(result.classifications) == 3
    assert result.classifications[0].class_name == 'espresso'
    confidences = [c.confidence for c in result.classifications]
    assert confidences == sorted(confidences, reverse=True) and all(0 <= c <= 1 for c in confidences)


def test_640x480_bgr8_with_row_padding(ros, classifier, photos):
    process, publisher, received = classifier
    frame = cv2.resize(photos['chelsea.png'], (640, 480))[:, :, ::-1].copy()
    msg = image_msg(frame, 'bgr8', stamp=(7, 0), pad=64)
    assert publish_until(ros, publisher, received, [msg], lambda r: r), process.log()
    assert received[0].classifications[0].class_name in CAT_CLASSES


def test_bad_images_are_logged_and_the_next_good_one_classified(ros, classifier, photos):
    process, publisher, received = classifier
    truncated = image_msg(photos['coffee.png'], stamp=(1, 0))
    truncated.data = truncated.data[:1000]
    wrong_encoding = image_msg(photos['coffee.png'], encoding='nv12', stamp=(2, 0))
    for bad, cause in [(truncated, 'data has 1000 bytes, but step*height'),
                       (wrong_encoding, "encoding 'nv12' not supported")]:
        assert publish_until(ros, publisher, received, [bad], lambda r: cause in process.log()), process.log()
    good = image_msg(photos['rocket.jpg'], stamp=(3, 0))
    assert publish_until(ros, publisher, received, [good], lambda r: r), process.log()
    assert {stamp_of(r) for r in received} == {(3, 0)}
    assert received[0].classifications[0].class_name == 'missile'
    assert process.proc.poll() is None


def test_service_classifies_and_reports_bad_images(ros, classifier, photos):
    process, _, _ = classifier
    client = ros.node.create_client(GetClassifications, '/my_classifier/get_classifications')
    request = GetClassifications.Request(image=image_msg(photos['chelsea.png'], stamp=(5, 6)), n=2)
    response = call(ros, client, request)
    assert response.success and response.error == ''
    assert stamp_of(response) == (5, 6)
    assert len(response.classifications) == 2 and response.classifications[0].class_name in CAT_CLASSES
    request.image.step = 1
    response = call(ros, client, request)
    assert not response.success and 'step 1 is less than' in response.error
    assert response.classifications == []


def test_thresholds_change_at_run_time(ros, classifier, photos):
    process, publisher, received = classifier

    def set_params(**values):
        return set_parameters(ros, 'my_classifier', **values)

    def classes_of_a_new_frame(second):
        """Send the coffee photo stamped `second` until its result comes (a result of an earlier frame may follow)."""
        coffee = image_msg(photos['coffee.png'], stamp=(second, 0))
        assert publish_until(ros, publisher, received, [coffee],
                             lambda r: any(stamp_of(m) == (second, 0) for m in r)), process.log()
        return [c.class_name for c in next(m for m in received if stamp_of(m) == (second, 0)).classifications]

    results = set_params(default_minimum_confidence=0.5, max_classifications=0)
    assert all(r.successful for r in results)
    assert classes_of_a_new_frame(10) == ['espresso']

    set_params(label_confidences=['CUP:0.01', 'tabby:0.01'])
    assert classes_of_a_new_frame(11) == ['cup']

    set_params(label_confidences=[''])  # `ros2 param set ... "['']"` clears the list
    assert classes_of_a_new_frame(12) == ['espresso'], 'default_minimum_confidence again'

    bad = set_params(default_minimum_confidence=1.5)
    assert not bad[0].successful


@pytest.mark.parametrize('args,message', [
    (('-p', 'model_path:=/nonexistent/model.tflite'), 'model_path /nonexistent/model.tflite: no such file'),
    (('-p', f'model_path:={fixture_model("two_outputs.tflite")}'), '2 outputs and none named "probability"'),
    (('-p', 'model_path:=${packages.no_such_package}/m.tflite'), 'no installed ROS package named "no_such_package"'),
])
def test_start_up_errors_exit_non_zero_without_traceback(start_node, args, message):
    process = start_node(NODE, *args, name='broken')
    assert process.proc.wait(120) == 1
    log = process.log()
    assert message in log and 'Traceback' not in log


def test_the_image_subscription_keeps_the_newest_frame_only(ros):
    """Check each camera's subscription is keep-last 1: a frame coming while busy replaces the waiting one."""
    from vision_classifier.nodes.classifier_node import ClassifierNode
    node = ClassifierNode('depth_check', context=ros.context, parameter_overrides=[
        Parameter('model_path', value=fixture_model('float_nhwc_logits.tflite')),
        Parameter('qos_reliability', value='reliable'),
        Parameter('cameras', value=['front=/front/image_raw', 'back=/back/image_raw transport=compressed'])])
    try:
        profiles = {name: i.subscription.subscription.qos_profile for name, i in node.inputs.items()}
        assert sorted(profiles) == ['back', 'front']
        assert {(q.history, q.depth) for q in profiles.values()} == {(HistoryPolicy.KEEP_LAST, 1)}
    finally:
        node.destroy_node()


def test_a_burst_while_busy_is_answered_in_order_up_to_its_newest_frame(ros, classifier, photos):
    """
    Check a burst that arrives while the classifier cannot take it is answered up to its last frame, in order.

    The classifier process is stopped (SIGSTOP) while the burst is published, so the whole burst waits for it.
    How many frames of the burst are answered depends on how fast frames arrive against how fast it classifies
    (printed); that none is queued behind the newest is the subscription's depth of 1, checked above.
    """
    process, _, received = classifier
    burst = 60
    publisher = ros.node.create_publisher(Image, '/cam/image_raw', QoSProfile(depth=burst))  # keeps the burst
    assert ros.wait_for_subscriber(publisher), process.log()
    small = cv2.resize(photos['coffee.png'], (64, 48))  # cheap to send, a full inference to classify
    assert publish_until(ros, publisher, received, [image_msg(small, stamp=(1, 0))], lambda r: r), process.log()
    os.kill(process.pid, signal.SIGSTOP)
    try:
        for i in range(burst):
            publisher.publish(image_msg(small, stamp=(2, i)))
    finally:
        os.kill(process.pid, signal.SIGCONT)
    newest = (2, burst - 1)
    assert ros.spin_until(lambda: newest in {stamp_of(r) for r in received}), process.log()
    answered = [stamp_of(r) for r in received if stamp_of(r)[0] == 2]
    print(f'\n{len(answered)} of {burst} frames of the burst answered')
    assert answered == sorted(set(answered)) and answered[-1] == newest, answered
