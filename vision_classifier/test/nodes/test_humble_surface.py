"""
Our nodes and client library on Humble's rclpy, as test/humble_surface.py presents it, over real DDS.

Camera, classifier and overlay each run in a process where rclpy lacks what its humble branch lacks
(rclpy.event_handler, Node.add_pre_set_parameters_callback, Subscription.get_publisher_count, message info for
subscription callbacks, ...); the overlay's middleware also lacks incompatible-QoS events. So is the process of a
program using the client library. The test speaks to them through topics and services only.
"""
import json
import os
import subprocess
import sys

import numpy as np
from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.parameter import Parameter
from ros_helpers import call, stamp_of
from sensor_msgs.msg import Image
from support import DEFAULT_MODEL, PHOTOS, REPO, TEST_DIR
from vision_classifier.core.image_encoding import decode_msg
from vision_classifier.core.processes import Process
from vision_classifier_msgs.msg import Classifications
from vision_classifier_msgs.srv import GetClassificationsFromCamera

COFFEE = PHOTOS / 'coffee.png'
CLIENT_PROGRAM = """
import json
import rclpy
from vision_classifier.client import Camera, VisionClient
rclpy.init()
node = rclpy.create_node('humble_client')
image = Camera(node, 'hcam').get_image(timeout=90.0)
vision = VisionClient(node, 'hclassifier')
print(json.dumps({
    'image': [image.height, image.width, image.header.frame_id],
    'classified': [c.class_name for c in vision.get_classifications(image, n=3, timeout=90.0)],
    'from_camera': [c.class_name for c in vision.get_classifications_from_camera('hcam', n=1, timeout=90.0)]}))
node.destroy_node()
rclpy.shutdown()
"""

PENDING_SHUTDOWN_PROGRAM = """
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.task import Future
from vision_classifier.nodes import compat
rclpy.init()
node = rclpy.create_node('pending')
never, started = Future(), []

async def wait():  # as the classifier's get_classifications_from_camera waits for a frame
    timer.cancel()
    started.append(True)
    await never
timer = node.create_timer(0.01, wait)
executor = SingleThreadedExecutor()
executor.add_node(node)
while not started:
    executor.spin_once(timeout_sec=1.0)
print('all callbacks ended:', compat.shutdown_executor(executor))
"""


def surface_env(**extra):
    """Return this process's environment, with humble_surface importable."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(TEST_DIR), os.environ.get('PYTHONPATH')])),
                **extra)


def test_nodes_and_client_on_humbles_rclpy(ros, tmp_path, photos):
    started = []

    def start(module, name, *ros_args, **env):
        started.append(Process('humble_surface', (module, '--ros-args', '-r', f'__node:={name}', *ros_args),
                               tmp_path / f'{name}.log', env=surface_env(**env), cwd=REPO))
        return started[-1]

    def logs():
        return '\n'.join(f'--- {p.name}\n{p.tail(30)}' for p in started)

    try:
        start('vision_classifier.nodes.classifier_node', 'hclassifier', '-r', 'image:=/hcam/image_raw',
              '-p', f'model_path:={DEFAULT_MODEL}', '-p', 'qos_reliability:=best_effort')
        overlay = start('vision_classifier.nodes.overlay_node', 'hoverlay', '-r', 'image:=/hcam/image_raw',
                        '-r', 'classifications:=/hclassifier/classifications',
                        HUMBLE_SURFACE_UNSUPPORTED_EVENTS='incompatible_qos')
        assert overlay.wait_for_log('does not report subscription events', 90), logs()

        # No camera yet: the waiting request ends with the cause (a count of publishers, Humble has no
        # Subscription.get_publisher_count).
        from_camera = ros.node.create_client(GetClassificationsFromCamera,
                                             '/hclassifier/get_classifications_from_camera')
        answer = call(ros, from_camera, GetClassificationsFromCamera.Request(camera_name='hcam', n=1), 120, 30)
        assert not answer.success and 'no publisher on /hcam/image_raw' in answer.error, answer.error + logs()

        # `ros2 param set /hclassifier default_minimum_confidence 0`: an integer for a float, converted.
        integer = Parameter('default_minimum_confidence', value=0).to_parameter_msg()
        assert integer.value.type == ParameterType.PARAMETER_INTEGER
        result = call(ros, ros.node.create_client(SetParameters, '/hclassifier/set_parameters'),
                      SetParameters.Request(parameters=[integer])).results[0]
        assert result.successful, result.reason
        value = call(ros, ros.node.create_client(GetParameters, '/hclassifier/get_parameters'),
                     GetParameters.Request(names=['default_minimum_confidence'])).values[0]
        assert (value.type, value.double_value) == (ParameterType.PARAMETER_DOUBLE, 0.0)

        classified, annotated = [], []
        ros.node.create_subscription(Classifications, '/hclassifier/classifications', classified.append, 10)
        ros.node.create_subscription(Image, '/hoverlay/image', annotated.append, 10)
        start('vision_classifier.nodes.camera_node', 'hcam', '-r', 'image_raw:=/hcam/image_raw',
              '-p', 'source_type:=image_file', '-p', f'source_path:={COFFEE}', '-p', 'frame_rate:=5.0')
        assert ros.spin_until(lambda: classified and annotated, 120), logs()
        result = classified[0]
        assert result.header.frame_id == 'hcam' and result.classifications[0].class_name == 'espresso', result
        assert ros.spin_until(lambda: {stamp_of(m) for m in annotated} & {stamp_of(m) for m in classified}, 60), \
            'an annotated frame of a classified one'
        drawn = decode_msg(annotated[-1]).pixels
        assert drawn.shape == photos['coffee.png'].shape and not np.array_equal(drawn, photos['coffee.png'])

        client = subprocess.run([sys.executable, '-c', 'import humble_surface\nhumble_surface.apply()\n' +
                                 CLIENT_PROGRAM], capture_output=True, text=True, env=surface_env(), cwd=REPO,
                                timeout=300)
        assert client.returncode == 0, client.stderr + logs()
        out = json.loads(client.stdout)
        assert out['image'] == [*photos['coffee.png'].shape[:2], 'hcam']
        assert out['classified'][0] == 'espresso' and len(out['classified']) == 3
        assert out['from_camera'] == ['espresso']
    finally:
        codes = {p.name: p.stop() for p in started}
    assert codes == dict.fromkeys(codes, 0), f'exit codes {codes}\n{logs()}'
    assert 'Traceback' not in logs()


def test_an_executor_shuts_down_while_a_callback_awaits(tmp_path):
    """
    Shut an executor down while a coroutine callback is suspended in an await.

    Humble's Executor.shutdown() waits for it: for ever, unless given the timeout compat.shutdown_executor gives.
    """
    program = subprocess.run([sys.executable, '-c', 'import humble_surface\nhumble_surface.apply()\n' +
                              PENDING_SHUTDOWN_PROGRAM], capture_output=True, text=True, env=surface_env(),
                             cwd=REPO, timeout=120)
    assert program.returncode == 0, program.stderr
    assert program.stdout == 'all callbacks ended: False\n'
