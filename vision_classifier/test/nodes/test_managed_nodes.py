"""Managed nodes driven through their lifecycle services, as nav2's lifecycle_manager drives them (issue 16)."""
from pathlib import Path

from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from ros_helpers import call
from sensor_msgs.msg import Image
from vision_classifier_msgs.msg import Classifications


CAMERA, CLASSIFIER = 'vision_classifier.nodes.camera_node', 'vision_classifier.nodes.classifier_node'


def cpu_seconds(pid):
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


class Managed:
    """A node's lifecycle services, called as a lifecycle manager calls them."""

    def __init__(self, ros, name):
        self.ros = ros
        self.change = ros.node.create_client(ChangeState, f'/{name}/change_state')
        self.get = ros.node.create_client(GetState, f'/{name}/get_state')

    def state(self):
        return call(self.ros, self.get, GetState.Request()).current_state.id

    def transition(self, transition_id):
        return call(self.ros, self.change, ChangeState.Request(transition=Transition(id=transition_id))).success


def test_configure_activate_deactivate_activate_cleanup_shutdown_with_results_only_while_active(
        ros, start_node, default_model):
    camera = start_node(CAMERA, '-r', '__node:=cam', '-r', 'image_raw:=/cam/image_raw', '-p', 'source_type:=fake',
                        '-p', 'frame_rate:=30.0', '-p', 'width:=640', '-p', 'height:=480', name='camera')
    classifier = start_node(CLASSIFIER, '-r', '__node:=managed', '-r', 'image:=/cam/image_raw',
                            '-p', f'model_path:={default_model}', '-p', 'autostart:=false', name='classifier')
    frames, results = [], []
    ros.node.create_subscription(Image, '/cam/image_raw', frames.append, 1)
    ros.node.create_subscription(Classifications, '/managed/classifications', results.append, 10)
    node = Managed(ros, 'managed')

    def image_subscribers():
        return [i for i in ros.node.get_subscriptions_info_by_topic('/cam/image_raw') if i.node_name == 'managed']

    def after_frames(count):
        """Wait for `count` more camera frames: the camera's own clock, whatever the machine's speed."""
        seen = len(frames)
        assert ros.spin_until(lambda: len(frames) >= seen + count, 120), camera.log()

    assert node.state() == State.PRIMARY_STATE_UNCONFIGURED
    after_frames(10)
    assert not results and not image_subscribers(), 'unconfigured: no subscription'
    assert 'efficientnet_lite0.tflite' not in classifier.log(), 'the model loads at configure'
    assert not node.transition(Transition.TRANSITION_ACTIVATE), 'activate from unconfigured is refused'
    assert node.state() == State.PRIMARY_STATE_UNCONFIGURED

    assert node.transition(Transition.TRANSITION_CONFIGURE), classifier.log()
    assert node.state() == State.PRIMARY_STATE_INACTIVE and '1000 classes' in classifier.log()
    after_frames(10)
    assert not results and not image_subscribers(), 'inactive: no subscription'

    assert node.transition(Transition.TRANSITION_ACTIVATE)
    assert ros.spin_until(lambda: len(results) >= 3, 120), classifier.log()
    active_cpu = cpu_seconds(classifier.pid)
    after_frames(30)
    active_cpu = cpu_seconds(classifier.pid) - active_cpu

    assert node.transition(Transition.TRANSITION_DEACTIVATE)
    assert ros.spin_until(lambda: not image_subscribers(), 60), 'deactivate unsubscribes'
    ros.spin_until(lambda: False, 0.5)  # results already under way arrive
    count, inactive_cpu = len(results), cpu_seconds(classifier.pid)
    after_frames(30)
    inactive_cpu = cpu_seconds(classifier.pid) - inactive_cpu
    assert len(results) == count, 'no results while inactive'
    print(f'\nclassifier CPU over 30 frames of a 30 fps camera: active {active_cpu:.2f} s, '
          f'inactive {inactive_cpu:.2f} s')

    assert node.transition(Transition.TRANSITION_ACTIVATE)
    assert ros.spin_until(lambda: len(results) > count, 120), 'results again once active'
    assert node.transition(Transition.TRANSITION_DEACTIVATE)
    assert node.transition(Transition.TRANSITION_CLEANUP)
    assert node.state() == State.PRIMARY_STATE_UNCONFIGURED
    assert node.transition(Transition.TRANSITION_UNCONFIGURED_SHUTDOWN)
    assert node.state() == State.PRIMARY_STATE_FINALIZED
    assert 'Traceback' not in classifier.log()


def test_each_node_starts_unconfigured_without_autostart_and_comes_up_when_told(ros, start_node):
    """Camera, overlay and control page too: configure and activate through the services, as a manager does."""
    names = {'mcam': start_node(CAMERA, '-r', '__node:=mcam', '-r', 'image_raw:=/mcam/image_raw', '-p',
                                'source_type:=fake', '-p', 'autostart:=false',
                                name='mcam'),
             'mover': start_node('vision_classifier.nodes.overlay_node', '-r', '__node:=mover', '-r',
                                 'image:=/mcam/image_raw', '-p', 'autostart:=false', name='mover'),
             'mweb': start_node('vision_classifier.web.node', '-r', '__node:=mweb', '-p', 'port:=0',
                                '-p', 'autostart:=false', name='mweb')}
    for name, process in names.items():
        node = Managed(ros, name)
        assert node.state() == State.PRIMARY_STATE_UNCONFIGURED, process.log()
        assert node.transition(Transition.TRANSITION_CONFIGURE), process.log()
        assert node.transition(Transition.TRANSITION_ACTIVATE), process.log()
        assert node.state() == State.PRIMARY_STATE_ACTIVE
    assert names['mweb'].wait_for_log('control page on http://127.0.0.1:'), names['mweb'].log()
    frames = []
    ros.node.create_subscription(Image, '/mcam/image_raw', frames.append, 1)
    assert ros.spin_until(lambda: frames, 120), names['mcam'].log()
    for name, process in names.items():
        assert Managed(ros, name).transition(Transition.TRANSITION_DEACTIVATE), process.log()
        assert process.stop() == 0 and 'Traceback' not in process.log(), process.log()
