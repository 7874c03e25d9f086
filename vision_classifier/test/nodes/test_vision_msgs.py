"""The classifier's vision_msgs output over DDS: Classification, LabelInfo and VisionInfo (issue 16)."""
import os

from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParametersAtomically
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_helpers import call, image_msg, stamp_of
from sensor_msgs.msg import Image
from support import CAT_CLASSES, fixture_model, TEST_DIR
from vision_classifier_msgs.msg import Classifications
from vision_msgs.msg import Classification, LabelInfo, VisionInfo


NODE = 'vision_classifier.nodes.classifier_node'
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)


def publish_until(ros, publisher, msg, done, timeout=120.0):
    for _ in range(int(timeout / 0.3)):
        publisher.publish(msg)
        if ros.spin_until(done, 0.3):
            return True
    return done()


def test_vision_msgs_classification_carries_the_photos_class_and_the_images_header(
        ros, start_node, default_model, photos):
    process = start_node(NODE, '-r', '__node:=std', '-p', f'model_path:={default_model}',
                         '-p', "cameras:=['front=/front/image_raw']", name='classifier')
    everything, front, ours = [], [], []
    ros.node.create_subscription(Classification, '/std/vision/classification', everything.append, 10)
    ros.node.create_subscription(Classification, '/std/front/vision/classification', front.append, 10)
    ros.node.create_subscription(Classifications, '/std/classifications', ours.append, 10)
    publisher = ros.node.create_publisher(Image, '/front/image_raw', 1)
    assert ros.wait_for_subscriber(publisher, 120), process.log()
    msg = image_msg(photos['chelsea.png'], stamp=(1234, 5678), frame_id='front_optical_frame')
    assert publish_until(ros, publisher, msg, lambda: everything and front and ours), process.log()
    labels = []
    ros.node.create_subscription(LabelInfo, '/std/vision/label_info', labels.append, LATCHED)
    assert ros.spin_until(lambda: labels, 60), 'LabelInfo is latched'
    names = {c.class_id: c.class_name for c in labels[0].class_map}
    for result in (everything[0], front[0]):
        assert stamp_of(result) == (1234, 5678) and result.header.frame_id == 'front_optical_frame'
        assert names[int(result.results[0].class_id)] in CAT_CLASSES, 'class_id is the label index by default'
        scores = [h.score for h in result.results]
        assert scores == sorted(scores, reverse=True) and len(scores) == 5, 'best first, max_classifications'
    assert [(names[int(h.class_id)], h.score) for h in everything[0].results] == \
        [(c.class_name, c.confidence) for c in ours[0].classifications], 'the same results as ours'


def test_a_late_subscriber_gets_label_info_and_a_model_swap_publishes_a_new_version(ros, start_node,
                                                                                    default_model):
    process = start_node(NODE, '-r', '__node:=std', '-p', f'model_path:={default_model}',
                         '-p', 'default_minimum_confidence:=0.25', name='classifier')
    assert process.wait_for_log('listening on'), process.log()
    labels, infos = [], []
    ros.node.create_subscription(LabelInfo, '/std/vision/label_info', labels.append, LATCHED)
    ros.node.create_subscription(VisionInfo, '/std/vision/vision_info', infos.append, LATCHED)
    assert ros.spin_until(lambda: labels and infos, 120), process.log()
    class_map = labels[0].class_map
    assert len(class_map) == 1000 and [c.class_id for c in class_map] == list(range(1000))
    assert class_map[967].class_name == 'espresso' and abs(labels[0].threshold - 0.25) < 1e-6
    assert infos[0].method == default_model and infos[0].database_version == 1
    assert 'metadata' in infos[0].database_location and default_model in infos[0].database_location
    small, small_labels = fixture_model('float_nhwc_logits.tflite'), str(TEST_DIR / 'fixtures' / 'labels4.txt')
    swap = ros.node.create_client(SetParametersAtomically, '/std/set_parameters_atomically')
    result = call(ros, swap, SetParametersAtomically.Request(parameters=[
        ParameterMsg(name=name, value=ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value))
        for name, value in (('model_path', small), ('label_path', small_labels))]))
    assert result.result.successful, result.result.reason
    assert ros.spin_until(lambda: any(i.database_version == 2 for i in infos), 60), [i.database_version for i in infos]
    assert ros.spin_until(lambda: len(labels[-1].class_map) == 4, 60)
    assert infos[-1].method == small and infos[-1].database_location == small_labels


def test_class_id_may_be_the_label_and_the_node_runs_without_vision_msgs(
        ros, start_node, default_model, photos, tmp_path):
    labelled = start_node(NODE, '-r', '__node:=by_label', '-r', 'image:=/l/image_raw', '-p',
                          f'model_path:={default_model}', '-p', 'vision_msgs_class_id:=label', name='labelled')
    got = []
    ros.node.create_subscription(Classification, '/by_label/vision/classification', got.append, 10)
    publisher = ros.node.create_publisher(Image, '/l/image_raw', 1)
    assert ros.wait_for_subscriber(publisher, 120), labelled.log()
    assert publish_until(ros, publisher, image_msg(photos['coffee.png'], stamp=(1, 2)), lambda: got), labelled.log()
    assert got[0].results[0].class_id == 'espresso'

    hide = tmp_path / 'hide'
    hide.mkdir()
    (hide / 'sitecustomize.py').write_text("import sys\nsys.modules['vision_msgs'] = None  # not installed\n")
    os.environ['PYTHONPATH'] = f'{hide}:{os.environ.get("PYTHONPATH", "")}'
    try:
        plain = start_node(NODE, '-r', '__node:=plain', '-r', 'image:=/p/image_raw', '-p',
                           f'model_path:={default_model}', name='plain')
    finally:
        os.environ['PYTHONPATH'] = os.environ['PYTHONPATH'].split(':', 1)[1]
    ours = []
    ros.node.create_subscription(Classifications, '/plain/classifications', ours.append, 10)
    publisher = ros.node.create_publisher(Image, '/p/image_raw', 1)
    assert ros.wait_for_subscriber(publisher, 120), plain.log()
    assert publish_until(ros, publisher, image_msg(photos['coffee.png'], stamp=(3, 4)), lambda: ours), plain.log()
    assert plain.log().count('vision_msgs is not installed: no vision_msgs output') == 1
    assert ros.node.count_publishers('/plain/vision/classification') == 0
