"""
`ros2 param set /my_classifier model_path ...` (a SetParameters call over DDS) swaps the model of a running node.

A bad model or label file is refused with the cause and the old model keeps serving.
"""
from pathlib import Path

import pytest
from rclpy.qos import QoSProfile
from ros_helpers import get_parameter, image_msg, send_until, set_parameters, set_parameters_atomically, stamp_of
from sensor_msgs.msg import Image
from support import DEFAULT_MODEL, fixture_model, FIXTURES
from vision_classifier_msgs.msg import Classifications

NODE = 'vision_classifier.nodes.classifier_node'
COLORS = fixture_model('with_metadata.tflite')  # 4 classes, labels in its metadata
COLOR_LABELS = {'red', 'green', 'blue', 'gray'}
LABELS4 = str(FIXTURES / 'labels4.txt')


class Classifier:
    """A classifier node in its own process, with all results (max_classifications 0), and its parameters."""

    def __init__(self, ros, start_node):
        self.ros = ros
        self.process = start_node(NODE, '-r', '__node:=my_classifier', '-r', 'image:=/cam/image_raw',
                                  '-p', f'model_path:={DEFAULT_MODEL}', '-p', 'max_classifications:=0',
                                  name='classifier')
        self.results = {}
        ros.node.create_subscription(Classifications, '/my_classifier/classifications',
                                     lambda msg: self.results.setdefault(stamp_of(msg), msg), 10)
        self.publisher = ros.node.create_publisher(Image, '/cam/image_raw', QoSProfile(depth=10))
        assert ros.wait_for_subscriber(self.publisher), self.process.log()
        self.next_stamp = 1

    def classes(self, pixels):
        """Return the class names, best first, of a new frame (a stamp of its own, sent until its result comes)."""
        stamp, self.next_stamp = (self.next_stamp, 0), self.next_stamp + 1
        msg = image_msg(pixels, stamp=stamp)
        assert send_until(self.ros, lambda: self.publisher.publish(msg), lambda: stamp in self.results), \
            f'no result for frame {stamp}:\n{self.process.log()}'
        return [c.class_name for c in self.results[stamp].classifications]

    def set_param(self, name, value):
        """Set a parameter over DDS, as `ros2 param set` does; return the SetParametersResult."""
        result, = set_parameters(self.ros, 'my_classifier', **{name: value})
        return result

    def set_both(self, model, labels):
        """Set model and labels together (SetParametersAtomically); return the SetParametersResult."""
        return set_parameters_atomically(self.ros, 'my_classifier', model_path=str(model), label_path=labels)

    def get_param(self, name):
        return get_parameter(self.ros, 'my_classifier', name)


@pytest.fixture
def classifier(ros, start_node):
    return Classifier(ros, start_node)


def test_model_path_label_path_and_num_threads_swap_the_model_while_running(classifier, photos):
    before = classifier.classes(photos['coffee.png'])
    assert len(before) == 1000 and before[0] == 'espresso'

    result = classifier.set_param('model_path', COLORS)
    assert result.successful, result.reason
    assert set(classifier.classes(photos['coffee.png'])) == COLOR_LABELS
    assert classifier.get_param('model_path') == COLORS
    assert classifier.process.wait_for_log(
        f'model: {DEFAULT_MODEL} -> {COLORS} (4 classes, input [1, 8, 8, 3] float32)'), classifier.process.log()

    assert classifier.set_param('label_path', LABELS4).successful
    assert set(classifier.classes(photos['coffee.png'])) == {'alpha', 'beta', 'gamma', 'delta'}

    assert classifier.set_param('num_threads', 2).successful
    assert set(classifier.classes(photos['coffee.png'])) == {'alpha', 'beta', 'gamma', 'delta'}
    assert classifier.process.wait_for_log(f'{COLORS}, labels {LABELS4}, 2 threads (4 classes'), \
        classifier.process.log()
    assert classifier.process.proc.poll() is None


def test_a_bad_model_or_labels_is_refused_with_the_cause_and_the_old_model_keeps_serving(classifier, photos,
                                                                                         tmp_path):
    corrupt = tmp_path / 'corrupt.tflite'
    corrupt.write_bytes(Path(DEFAULT_MODEL).read_bytes()[:4000])
    refusals = [
        ('model_path', str(tmp_path / 'none.tflite'), f'model_path {tmp_path / "none.tflite"}: no such file'),
        ('model_path', str(corrupt), f'model_path {corrupt}: cannot load: '),
        ('model_path', fixture_model('two_outputs.tflite'), '2 outputs and none named "probability"'),
        ('label_path', LABELS4, f'label_path {LABELS4}: 4 labels, but the model outputs 1000 values'),
        ('num_threads', 0, 'out of range'),
    ]
    for name, value, cause in refusals:
        result = classifier.set_param(name, value)
        assert not result.successful and cause in result.reason, (name, value, result.reason)
    assert classifier.get_param('model_path') == str(DEFAULT_MODEL) and classifier.get_param('label_path') == ''
    after = classifier.classes(photos['coffee.png'])
    assert len(after) == 1000 and after[0] == 'espresso'
    assert 'model: ' not in classifier.process.log()

    # a model and its labels together (SetParametersAtomically), where the labels alone were refused above
    assert classifier.set_both(fixture_model('float_nhwc_logits.tflite'), LABELS4).successful
    assert set(classifier.classes(photos['coffee.png'])) == {'alpha', 'beta', 'gamma', 'delta'}
    assert 'but the model outputs 1000 values' in classifier.set_param('model_path', str(DEFAULT_MODEL)).reason
    assert classifier.set_both(DEFAULT_MODEL, '').successful
    assert classifier.classes(photos['coffee.png'])[0] == 'espresso'
