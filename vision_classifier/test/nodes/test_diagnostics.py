"""
/diagnostics over real DDS, each node in its own process.

The classifier's counts after N good and M bad frames, the overlay's drops and the camera's frames.
"""
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
from rclpy.qos import QoSProfile
from ros_helpers import image_msg, send_until, stamp_of
from sensor_msgs.msg import Image
from support import fixture_model
from vision_classifier_msgs.msg import Classifications

GOOD, BAD = 6, 3
NAME = 'diag_classifier: classifier'


class Statuses:
    """Every DiagnosticStatus seen on /diagnostics, by name."""

    def __init__(self, ros):
        self.ros, self.by_name = ros, {}
        ros.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_array, 100)

    def _on_array(self, msg):
        for status in msg.status:
            self.by_name.setdefault(status.name, []).append(status)

    def wait(self, name, predicate):
        """Return the first status of `name` for which predicate(values) holds."""
        def found():
            return next((s for s in self.by_name.get(name, []) if predicate(values(s))), None)
        assert self.ros.spin_until(lambda: found() is not None), self.by_name.get(name, [])[-1:]
        return found()


def values(status):
    return {kv.key: kv.value for kv in status.values}


def test_classifier_reports_frames_results_faults_latency_and_its_model(ros, start_node):
    statuses = Statuses(ros)
    process = start_node('vision_classifier.nodes.classifier_node', '-r', '__node:=diag_classifier',
                         '-r', 'image:=/diag/image', '-p', f'model_path:={fixture_model("with_metadata.tflite")}',
                         name='classifier')
    images = ros.node.create_publisher(Image, '/diag/image', QoSProfile(depth=10))
    received = []  # every result: the classifier's publisher keeps 10, this subscription more
    ros.node.create_subscription(Classifications, '/diag_classifier/classifications', received.append, 1000)
    assert ros.wait_for_subscriber(images), process.log()
    first = statuses.wait(NAME, lambda v: True)
    assert first.level == DiagnosticStatus.OK and first.message == 'waiting for images'
    assert first.hardware_id == '/diag_classifier'
    rng = np.random.default_rng(5)
    warm_up = image_msg(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), stamp=(1, 0))
    assert send_until(ros, lambda: images.publish(warm_up), lambda: received), process.log()  # discovery matched
    for i in range(GOOD):  # each answered before the next is sent: none replaced unseen
        images.publish(image_msg(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), stamp=(10 + i, 0)))
        assert ros.spin_until(lambda: (10 + i, 0) in map(stamp_of, received)), process.log()
    for i in range(BAD):  # each counted before the next is sent
        bad = image_msg(np.zeros((8, 8, 3), np.uint8), stamp=(50 + i, 0))
        bad.data = bad.data[:10]
        images.publish(bad)
        status = statuses.wait(NAME, lambda v: v['faults'] == str(i + 1))
    v = values(status)
    # Copies of the warm-up frame the node took were all answered before the first good frame (one writer, one
    # reader, in order); the others were replaced in its keep-last-1 subscription, never seen.
    warm = sum(stamp_of(r) == (1, 0) for r in received)
    assert sorted(stamp_of(r) for r in received if r.header.stamp.sec >= 10) == [(10 + i, 0) for i in range(GOOD)]
    assert (int(v['images in']), int(v['results out']), int(v['faults'])) == (warm + GOOD + BAD, warm + GOOD, BAD), v
    assert 'dropped' not in v  # frames a keep-last-1 subscription replaced never reach the node
    assert v['latency samples'] == str(warm + GOOD) and float(v['latency p95 ms']) >= float(v['latency p50 ms']) > 0
    assert (v['input shape'], v['input dtype'], v['classes']) == ('[1, 8, 8, 3]', 'float32', '4')
    assert v['model'].endswith('with_metadata.tflite') and v['topic'] == '/diag/image'
    assert status.level == DiagnosticStatus.WARN and '1 data_length' in status.message  # its period had a fault
    later = statuses.wait(NAME, lambda v: v['faults'] == str(BAD)
                          and v.get('images in per second') == '0.0')
    assert later.level == DiagnosticStatus.OK


def test_camera_and_overlay_report_frames_and_drops(ros, start_node):
    statuses = Statuses(ros)
    start_node('vision_classifier.nodes.camera_node', '-r', '__node:=diag_cam', '-r', 'image_raw:=/diag/image_raw',
               '-p', 'source_type:=fake',
               '-p', 'width:=64', '-p', 'height:=48', '-p', 'frame_rate:=20', name='camera')
    # no classifier publishes results: every frame waits result_timeout, then is dropped
    start_node('vision_classifier.nodes.overlay_node', '-r', '__node:=diag_overlay', '-r', 'image:=/diag/image_raw',
               '-p', 'result_timeout:=0.1', name='overlay')
    camera = statuses.wait('diag_cam: camera', lambda v: int(v['images out']) >= 5)
    assert camera.level == DiagnosticStatus.OK and values(camera)['topic'] == '/diag/image_raw'
    overlay = statuses.wait('diag_overlay: overlay', lambda v: int(v['dropped']) >= 3)
    v = values(overlay)
    assert int(v['images in']) >= int(v['dropped']) >= 3 and v['images out'] == '0'
    assert overlay.level == DiagnosticStatus.WARN and 'images dropped' in overlay.message
