"""When the node runs but nothing comes out, /diagnostics and one log line name the cause (issue 16)."""
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import qos_profile_sensor_data, QoSProfile
from sensor_msgs.msg import CompressedImage, Image

NODE = 'vision_classifier.nodes.classifier_node'


def warnings_of(ros, node, process, expected, timeout=120):
    """Return the first WARN message of `node` on /diagnostics holding every text of `expected`."""
    found = []

    def on_diagnostics(array):
        found.extend(s.message for s in array.status
                     if s.hardware_id == f'/{node}' and s.level == DiagnosticStatus.WARN
                     and all(text in s.message for text in expected))
    subscription = ros.node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, 10)
    assert ros.spin_until(lambda: found, timeout), process.log()
    ros.node.destroy_subscription(subscription)
    return found[0]


def test_a_best_effort_camera_against_a_reliable_subscription(ros, start_node, default_model):
    process = start_node(NODE, '-r', '__node:=strict', '-r', 'image:=/be/image_raw',
                         '-p', f'model_path:={default_model}', '-p', 'qos_reliability:=reliable', name='classifier')
    camera = ros.node.create_publisher(Image, '/be/image_raw', qos_profile_sensor_data)  # best_effort, as drivers
    # the publisher by its node and settings: "a node" until discovery has told the node's name
    publisher = f'/{ros.node.get_name()} (best_effort, volatile)'
    message = warnings_of(ros, 'strict', process, [f'/be/image_raw: {publisher} cannot reach this subscription'])
    assert 'the publisher is best_effort, the subscription reliable' in message, message
    assert process.wait_for_log('cannot reach this subscription'), process.log()
    assert camera.get_subscription_count() == 0


def test_a_misspelled_topic_names_the_topic_that_has_the_camera(ros, start_node, default_model):
    process = start_node(NODE, '-r', '__node:=typo', '-r', 'image:=/cam/imag_raw', '-p', f'model_path:={default_model}',
                         name='classifier')
    camera = ros.node.create_publisher(Image, '/cam/image_raw', QoSProfile(depth=1))
    compressed = ros.node.create_publisher(CompressedImage, '/cam/imag_raw/compressed', QoSProfile(depth=1))
    # the similar topics are named once the node has discovered their publishers
    warnings_of(ros, 'typo', process, ['no publisher on /cam/imag_raw for',
                                       '/cam/image_raw has 1 (sensor_msgs/msg/Image)',
                                       '/cam/imag_raw/compressed has 1 (sensor_msgs/msg/CompressedImage)'])
    assert process.wait_for_log('no publisher on /cam/imag_raw for'), process.log()
    assert camera and compressed


def test_a_publisher_of_another_type_is_named(ros, start_node, default_model):
    process = start_node(NODE, '-r', '__node:=typed', '-r', 'image:=/jpeg/image', '-p', f'model_path:={default_model}',
                         name='classifier')
    publisher = ros.node.create_publisher(CompressedImage, '/jpeg/image', QoSProfile(depth=1))
    message = warnings_of(ros, 'typed', process, ['/jpeg/image carries sensor_msgs/msg/CompressedImage'])
    assert 'not sensor_msgs/msg/Image: nothing of it is received' in message and publisher
