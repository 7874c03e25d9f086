"""
Every node: its image publisher is reliable, and Ctrl-C stops it cleanly with exit status 0.

A reliable publisher also serves best_effort subscribers (README, "Large images").
"""
import signal
import subprocess
import sys

import pytest
from rclpy.qos import ReliabilityPolicy
from support import TIMEOUT

NODES = {  # name: (module, arguments, image topic, the log line once it runs)
    'life_cam': ('vision_classifier.nodes.camera_node',
                 ['-r', 'image_raw:=/life_cam/image_raw', '-p', 'source_type:=fake', '-p', 'width:=64', '-p',
                  'height:=48'],
                 '/life_cam/image_raw', ' fps on /life_cam/image_raw'),
    'life_overlay': ('vision_classifier.nodes.overlay_node', ['-r', 'image:=/life_cam/image_raw'],
                     '/life_overlay/image', 'publishing /life_overlay/image'),
}


def test_image_publishers_are_reliable_and_ctrl_c_exits_0(ros, start_node, default_model):
    processes = {name: start_node(module, '-r', f'__node:={name}', *args, name=name)
                 for name, (module, args, _, _) in NODES.items()}
    processes['life_classifier'] = start_node(
        'vision_classifier.nodes.classifier_node', '-r', '__node:=life_classifier', '-r', 'image:=/life_cam/image_raw',
        '-p', f'model_path:={default_model}', name='life_classifier')
    for name, (_, _, topic, started) in NODES.items():
        assert processes[name].wait_for_log(started), processes[name].log()
        assert ros.spin_until(lambda: ros.node.get_publishers_info_by_topic(topic)), topic
        qos = ros.node.get_publishers_info_by_topic(topic)[0].qos_profile
        assert qos.reliability == ReliabilityPolicy.RELIABLE, topic  # the graph does not carry the depth
    assert processes['life_classifier'].wait_for_log('listening on /life_cam/image_raw')
    for process in processes.values():
        process.proc.send_signal(signal.SIGINT)
    for name, process in processes.items():
        assert process.proc.wait(TIMEOUT) == 0, process.log()
        assert 'Traceback' not in process.log() and 'terminate called' not in process.log(), process.log()


INTERRUPTED_WHILE_STARTING = """
import os, signal, sys, time
from vision_classifier.nodes.lifecycle import ManagedNode
from vision_classifier.nodes.main import run_node


class Interrupted(ManagedNode):
    NODE_NAME = 'interrupted'

    def __init__(self):
        super().__init__(self.NODE_NAME)
        self.autostart()

    def {step}(self):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the node starts
        while self.context.ok():  # rclpy's handler shuts the context down
            time.sleep(0.01)


sys.exit(run_node(Interrupted))
"""


@pytest.mark.parametrize('step', ['configure', 'activate'])
def test_ctrl_c_while_a_node_starts_is_a_clean_stop_not_a_failed_start(step):
    """Ctrl-C may land while autostart configures or activates: exit 0, no 'cannot start'."""
    run = subprocess.run([sys.executable, '-c', INTERRUPTED_WHILE_STARTING.replace('{step}', step)],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert run.returncode == 0 and 'cannot start' not in run.stderr, run.stdout + run.stderr
    assert 'Traceback' not in run.stderr, run.stderr
