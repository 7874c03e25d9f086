"""One classifier node, one model, several cameras (issue 15), over real DDS."""
import time

import pytest
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import QoSProfile
from ros_helpers import call, image_msg, stamp_of
from sensor_msgs.msg import Image
from support import EXPECTED_TOP, TIMEOUT
from vision_classifier_msgs.msg import Classifications
from vision_classifier_msgs.srv import GetClassificationsFromCamera


NODE = 'vision_classifier.nodes.classifier_node'
PHOTO_OF = {'a': 'coffee.png', 'b': 'chelsea.png', 'c': 'rocket.jpg'}


def cameras_parameter(*entries):
    return 'cameras:=[' + ','.join(f"'{e}'" for e in entries) + ']'


class Topics:
    """Results received per topic, and image publishers, in the test's node."""

    def __init__(self, ros):
        self.ros, self.received, self.publishers = ros, {}, {}

    def listen(self, topic):
        self.received[topic] = []
        self.ros.node.create_subscription(Classifications, topic, self.received[topic].append, 100)
        return self.received[topic]

    def publisher(self, topic):
        self.publishers[topic] = self.ros.node.create_publisher(Image, topic, QoSProfile(depth=1))
        return self.publishers[topic]

    def publish_until(self, frames, done, timeout=120.0):
        """Publish {topic: msg} in rounds until done() holds: a subscription may miss the first rounds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for topic, msg in frames.items():
                self.publishers[topic].publish(msg)
            if self.ros.spin_until(done, 0.3):
                return True
        return done()


@pytest.fixture
def three_cameras(start_node, ros, default_model, photos):
    process = start_node(NODE, '-r', '__node:=cls', '-p', f'model_path:={default_model}',
                         '-p', cameras_parameter('a=/a/image_raw', 'b=/b/image_raw', 'c=/c/image_raw'),
                         '-p', "other_cameras:=['d=/d/image_raw']", '-p', f'camera_request_timeout:={TIMEOUT:.1f}',
                         name='classifier')
    topics = Topics(ros)
    frames = {}
    for camera, photo in PHOTO_OF.items():
        publisher = topics.publisher(f'/{camera}/image_raw')
        assert ros.wait_for_subscriber(publisher, 120), process.log()
        frames[f'/{camera}/image_raw'] = image_msg(photos[photo], stamp=(10, ord(camera)), frame_id=camera)
    return process, topics, frames


def test_each_camera_gets_its_own_class_on_its_own_topic_and_all_on_the_node_topic(ros, three_cameras):
    process, topics, frames = three_cameras
    own = {camera: topics.listen(f'/cls/{camera}/classifications') for camera in PHOTO_OF}
    everything = topics.listen('/cls/classifications')
    assert topics.publish_until(frames, lambda: all(own.values())), process.log()
    for camera, results in own.items():
        assert {r.header.frame_id for r in results} == {camera}, 'each topic carries its own camera only'
        assert results[0].classifications[0].class_name in EXPECTED_TOP[PHOTO_OF[camera]]
        assert stamp_of(results[0]) == (10, ord(camera))
    ros.spin_until(lambda: {r.header.frame_id for r in everything} == set(PHOTO_OF), 60)
    assert {r.header.frame_id for r in everything} == set(PHOTO_OF)
    assert 'model:' not in process.log() and process.log().count('efficientnet_lite0.tflite:') == 1


def test_get_classifications_from_camera_takes_any_camera_and_names_them_when_unknown(ros, three_cameras, photos):
    process, topics, frames = three_cameras
    client = ros.node.create_client(GetClassificationsFromCamera, '/cls/get_classifications_from_camera')
    topics.publisher('/d/image_raw')
    topics.publisher('/e/image_raw')
    frames['/d/image_raw'] = image_msg(photos['chelsea.png'], stamp=(20, 1), frame_id='d')
    frames['/e/image_raw'] = image_msg(photos['rocket.jpg'], stamp=(20, 2), frame_id='e')
    # first a call answered at once, resent until it is: then the service's answers reach this client
    response = call(ros, client, GetClassificationsFromCamera.Request(camera_name='zzz', n=1))
    assert not response.success
    assert response.error.startswith('unknown camera "zzz": this vision service classifies cameras "a" (topic '
                                     '/a/image_raw), "b" (topic /b/image_raw), "c" (topic /c/image_raw)')
    assert '"d"' in response.error
    for camera, expected in (('b', 'chelsea.png'), ('d', 'chelsea.png'), ('/e/image_raw', 'rocket.jpg')):
        future = client.call_async(GetClassificationsFromCamera.Request(camera_name=camera, n=1))
        assert topics.publish_until(frames, future.done), (camera, process.log())
        response = future.result()
        assert response.success, response.error
        assert response.classifications[0].class_name in EXPECTED_TOP[expected], camera
    assert 'camera "d" (/d/image_raw) subscribed on demand' in process.log()


def set_cameras(ros, node, *entries):
    client = ros.node.create_client(SetParameters, f'/{node}/set_parameters')
    value = ParameterValue(type=ParameterType.PARAMETER_STRING_ARRAY, string_array_value=list(entries))
    return call(ros, client, SetParameters.Request(parameters=[ParameterMsg(name='cameras', value=value)]))


def test_cameras_set_at_run_time_are_added_and_removed_without_a_model_reload(ros, three_cameras, photos):
    process, topics, frames = three_cameras
    result = set_cameras(ros, 'cls', 'b=/b/image_raw', 'c=/c/image_raw', 'd=/d/image_raw')
    assert result.results[0].successful, result.results[0].reason
    assert process.wait_for_log('cameras: b, c, d'), process.log()
    d = topics.listen('/cls/d/classifications')
    topics.publisher('/d/image_raw')
    frames['/d/image_raw'] = image_msg(photos['coffee.png'], stamp=(30, 4), frame_id='d')
    assert topics.publish_until(frames, lambda: d), process.log()
    assert d[0].classifications[0].class_name == 'espresso'
    assert ros.spin_until(lambda: ros.node.count_publishers('/cls/a/classifications') == 0, 60), 'a removed'
    assert 'model:' not in process.log(), 'the model is never reloaded for a change of cameras'
    bad = set_cameras(ros, 'cls', 'b=/b/image_raw', 'b=/x/image_raw')
    assert not bad.results[0].successful and 'b named more than once' in bad.results[0].reason


def test_a_slow_camera_gets_every_frame_classified_beside_a_flooding_one(ros, start_node, default_model, photos):
    """
    Check that each of 20 frames a camera sends at 2 fps is classified while another camera floods the node.

    A frame is sent only once the one before has its result: a camera starved by the flood would wait for ever,
    at any machine speed.
    """
    process = start_node(NODE, '-r', '__node:=fair', '-p', f'model_path:={default_model}',
                         '-p', cameras_parameter('flood=/flood/image_raw', 'slow=/slow/image_raw'), name='classifier')
    flood = start_node('vision_classifier.bench.publisher', name='flood',
                       args=['/flood/image_raw', '--fps', '0', '--size', '320x240'])
    topics = Topics(ros)
    slow_results = topics.listen('/fair/slow/classifications')
    flood_results = topics.listen('/fair/flood/classifications')
    slow = topics.publisher('/slow/image_raw')
    assert ros.wait_for_subscriber(slow, 120), process.log()
    assert ros.spin_until(lambda: len(flood_results) >= 10, 120), (process.log(), flood.log())
    sent = []
    for i in range(20):  # at most 2 fps, and each frame only once the one before has its result
        started = time.monotonic()
        slow.publish(image_msg(photos['coffee.png'], stamp=(40, i), frame_id='slow'))
        sent.append((40, i))
        assert ros.spin_until(lambda: len(slow_results) == len(sent), 120), \
            (sent, [stamp_of(r) for r in slow_results], process.log())
        ros.spin_until(lambda: time.monotonic() - started >= 0.5, 1.0)
    assert [stamp_of(r) for r in slow_results] == sent, 'each once, in order'
    assert all(r.classifications[0].class_name == 'espresso' for r in slow_results)
    flood_before = len(flood_results)
    assert ros.spin_until(lambda: len(flood_results) > flood_before, 60), 'the flood is served too'
