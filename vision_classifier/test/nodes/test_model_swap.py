"""`ros2 param set /my_classifier model_path ...` (a SetParameters call over DDS) swaps the model of a running
classifier node; a bad model or label file is refused with the cause and the old model keeps serving."""
from pathlib import Path

import pytest
from rclpy.parameter import Parameter, parameter_value_to_python
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image
from vision_classifier_msgs.msg import Classifications

from support import DEFAULT_MODEL, fixture_model, FIXTURES
from ros_helpers import image_msg, stamp_of

NODE = 'vision_classifier.nodes.classifier_node'
COLORS = fixture_model('with_metadata.tflite')  # 4 classes, labels in its metadata
COLOR_LABELS = {'red', 'green', 'blue', 'gray'}
LABELS4 = str(FIXTURES / 'labels4.txt')


class Classifier:
    """A classifier node in its own process, with all results (max_classifications 0) and its parameter client."""

    def __init__(self, ros, start_node):
        self.ros = ros
        self.process = start_node(NODE, '-r', '__node:=my_classifier', '-r', 'image:=/cam/image_raw',
                                  '-p', f'model_path:={DEFAULT_MODEL}', '-p', 'max_classifications:=0',
                                  name='classifier')
        self.results = {}
        ros.node.create_subscription(Classifications, '/my_classifier/classifications',
                                     lambda msg: self.results.setdefault(stamp_of(msg), msg), 10)
        self.publisher = ros.node.create_publisher(Image, '/cam/image_raw', QoSProfile(depth=10))
        self.params = AsyncParameterClient(ros.node, 'my_classifier')
        assert ros.wait_for_subscriber(self.publisher) and self.params.wait_for_services(30), self.process.log()
        self.next_stamp = 1

    def classes(self, pixels):
        """Class names, best first, of a new frame (a stamp of its own, published until its result comes)."""
        stamp, self.next_stamp = (self.next_stamp, 0), self.next_stamp + 1
        msg = image_msg(pixels, stamp=stamp)
        for _ in range(60):
            self.publisher.publish(msg)
            if self.ros.spin_until(lambda: stamp in self.results, 0.5):
                return [c.class_name for c in self.results[stamp].classifications]
        raise AssertionError(f'no result for frame {stamp}:\n{self.process.log()}')

    def set(self, name, value):
        """SetParameters over DDS, as `ros2 param set` calls it; returns the SetParametersResult."""
        future = self.params.set_parameters([Parameter(name, value=value)])
        assert self.ros.spin_until(future.done), self.process.log()
        return future.result().results[0]

    def get(self, name):
        future = self.params.get_parameters([name])
        assert self.ros.spin_until(future.done)
        return parameter_value_to_python(future.result().values[0])


@pytest.fixture
def classifier(ros, start_node):
    return Classifier(ros, start_node)


def test_model_path_label_path_and_num_threads_swap_the_model_while_running(classifier, photos):
    before = classifier.classes(photos['coffee.png'])
    assert len(before) == 1000 and before[0] == 'espresso'

    result = classifier.set('model_path', COLORS)
    assert result.successful, result.reason
    assert set(classifier.classes(photos['coffee.png'])) == COLOR_LABELS
    assert classifier.get('model_path') == COLORS
    assert classifier.process.wait_for_log(
        f'model: {DEFAULT_MODEL} -> {COLORS} (4 classes, input [1, 8, 8, 3] float32)'), classifier.process.log()

    assert classifier.set('label_path', LABELS4).successful
    assert set(classifier.classes(photos['coffee.png'])) == {'alpha', 'beta', 'gamma', 'delta'}

    assert classifier.set('num_threads', 2).successful
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
        result = classifier.set(name, value)
        assert not result.successful and cause in result.reason, (name, value, result.reason)
    assert classifier.get('model_path') == str(DEFAULT_MODEL) and classifier.get('label_path') == ''
    after = classifier.classes(photos['coffee.png'])
    assert len(after) == 1000 and after[0] == 'espresso'
    assert 'model: ' not in classifier.process.log()

    # a model and its labels together (SetParametersAtomically), where the labels alone were refused above
    def set_both(model, labels):
        future = classifier.params.set_parameters_atomically([Parameter('model_path', value=str(model)),
                                                              Parameter('label_path', value=labels)])
        assert classifier.ros.spin_until(future.done)
        return future.result().result
    assert set_both(fixture_model('float_nhwc_logits.tflite'), LABELS4).successful
    assert set(classifier.classes(photos['coffee.png'])) == {'alpha', 'beta', 'gamma', 'delta'}
    assert 'but the model outputs 1000 values' in classifier.set('model_path', str(DEFAULT_MODEL)).reason
    assert set_both(DEFAULT_MODEL, '').successful
    assert classifier.classes(photos['coffee.png'])[0] == 'espresso'
