"""`vision_classifier doctor`: what each running node sees, and why nothing comes out (issue 16)."""
import json
import subprocess
import sys

from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image

from support import DEFAULT_CONFIG, PACKAGES_DIR, REPO


def doctor(*args):
    return subprocess.run([sys.executable, '-m', 'vision_classifier', 'doctor', *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300)


def test_doctor_names_the_topic_a_misspelled_input_should_have(ros, start_node, default_model):
    classifier = start_node('vision_classifier.nodes.classifier_node', '-r', '__node:=typo_classifier',
                            '-r', 'image:=/front/imag_raw', '-p', f'model_path:={default_model}', name='classifier')
    camera = ros.node.create_publisher(Image, '/front/image_raw', QoSProfile(depth=1))
    assert classifier.wait_for_log('listening on'), classifier.log()
    assert ros.spin_until(lambda: ros.node.count_publishers('/front/image_raw'), 60) and camera
    assert ros.spin_until(lambda: ros.node.count_subscribers('/front/imag_raw'), 120), \
        'the subscription, made once qos_reliability auto gives up waiting for a publisher'
    result = doctor('--seconds', '4')
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'typo_classifier (classifier): /diagnostics' in result.stdout
    assert '  in  /front/imag_raw (sensor_msgs/msg/Image' in result.stdout, result.stdout
    assert 'problem: no publisher on /front/imag_raw; /front/image_raw has 1 (sensor_msgs/msg/Image)' in \
        result.stdout, result.stdout


def test_doctor_checks_the_nodes_of_a_config_and_finds_the_demo_sound(tmp_path, start_node):
    run = start_node('vision_classifier', name='run', args=['run', str(DEFAULT_CONFIG), '--packages-dir',
                                                            str(PACKAGES_DIR)])
    assert run.wait_for_log('[my_classifier] photos @', 120), run.log()
    result = doctor(str(DEFAULT_CONFIG), '--packages-dir', str(PACKAGES_DIR), '--seconds', '4')
    assert result.returncode == 0, result.stdout + result.stderr + run.log()
    lines = result.stdout.splitlines()
    assert lines[0].startswith('my_classifier (classifier): /diagnostics OK'), result.stdout
    assert '  in  /photos/image_raw (sensor_msgs/msg/Image, reliable): publishers: /photos (reliable, volatile)' \
        in lines, result.stdout
    assert any(line.startswith('overlay_cam (overlay): /diagnostics') for line in lines)
    assert lines[-1] == 'no problem found'
    config = json.loads(DEFAULT_CONFIG.read_text())
    config['components'].append({'name': 'gone', 'type': 'camera', 'model': 'fake'})
    (tmp_path / 'robot.json').write_text(json.dumps(config))
    result = doctor(str(tmp_path / 'robot.json'), '--packages-dir', str(PACKAGES_DIR), '--seconds', '2')
    assert result.returncode == 1 and 'gone (camera): not running' in result.stdout, result.stdout


def test_doctor_says_a_managed_node_waits_for_its_manager(start_node, default_model):
    classifier = start_node('vision_classifier.nodes.classifier_node', '-r', '__node:=waiting_classifier',
                            '-p', f'model_path:={default_model}', '-p', 'autostart:=false', name='classifier')
    result = doctor('--seconds', '4')
    assert result.returncode == 1, result.stdout + result.stderr + classifier.log()
    assert ('problem: waiting_classifier: unconfigured (a managed node: ros2 lifecycle set /waiting_classifier '
            'configure, then activate)') in result.stdout, result.stdout
