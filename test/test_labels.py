import pytest

from conftest import FIXTURES, fixture_model
from vision_classifier.labels import LabelError, numbered_labels, parse_labels, read_label_file
from vision_classifier.tflite_model import ModelConfig, ModelError, TfliteCpuModel


def test_label_file_trims_whitespace_and_skips_blank_lines():
    assert read_label_file(FIXTURES / 'labels4.txt') == ['alpha', 'beta', 'gamma', 'delta']


def test_parse_labels_keeps_order_and_handles_crlf():
    assert parse_labels('b\r\na\r\n\r\n c \r\n') == ['b', 'a', 'c']


def test_unreadable_label_file_names_path():
    with pytest.raises(LabelError, match='nope.txt: cannot read'):
        read_label_file('/nonexistent/nope.txt')


def test_label_path_overrides_model_metadata():
    model = TfliteCpuModel(ModelConfig(fixture_model('with_metadata.tflite'), str(FIXTURES / 'labels4.txt')))
    assert model.labels == ['alpha', 'beta', 'gamma', 'delta']


def test_labels_from_model_metadata():
    assert TfliteCpuModel(ModelConfig(fixture_model('with_metadata.tflite'))).labels == \
        ['red', 'green', 'blue', 'gray']


def test_labels_fall_back_to_numbers_from_one():
    assert TfliteCpuModel(ModelConfig(fixture_model('float_nhwc_logits.tflite'))).labels == ['1', '2', '3', '4']
    assert numbered_labels(3) == ['1', '2', '3']


def test_real_model_labels_come_from_its_metadata(default_model):
    labels = TfliteCpuModel(ModelConfig(default_model)).labels
    assert len(labels) == 1000
    assert labels[0] == 'tench' and 'espresso' in labels


def test_label_count_mismatch_names_both_numbers(tmp_path):
    labels = tmp_path / 'five.txt'
    labels.write_text('a\nb\nc\nd\ne\n')
    with pytest.raises(ModelError, match=r'five.txt: 5 labels, but the model outputs 4 values'):
        TfliteCpuModel(ModelConfig(fixture_model('float_nhwc_logits.tflite'), str(labels)))
