import pytest
from support import fixture_model, FIXTURES
from vision_classifier.core.labels import LabelError, numbered_labels, parse_labels, read_label_file
from vision_classifier.core.tflite_model import ModelConfig, ModelError, TfliteCpuModel


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


def model_with_files(*files):
    """Return a model file with a zip of `files` appended, as tflite_support packs associated files."""
    import io
    import zipfile
    data = io.BytesIO(open(fixture_model('float_nhwc_logits.tflite'), 'rb').read())
    with zipfile.ZipFile(data, 'a') as archive:
        for name, text in files:
            archive.writestr(name, text)
    return data.getvalue()


def test_labels_from_metadata_take_the_named_file_else_the_only_txt():
    from vision_classifier.core.labels import labels_from_metadata
    from vision_classifier.core.tflite_metadata import ModelMetadata, packed_files
    model = model_with_files(('notes.txt', 'x\ny\n'), ('labels.txt', 'a\nb\n'))
    named = ModelMetadata(label_file_names=('labels.txt',), packed_files=packed_files(model))
    assert labels_from_metadata(model, named) == ['a', 'b']
    only = model_with_files(('Classes.TXT', 'c\nd\n'), ('vocab.json', '{}'))
    assert labels_from_metadata(only, ModelMetadata(packed_files=packed_files(only))) == ['c', 'd']
    assert labels_from_metadata(model, ModelMetadata(packed_files=packed_files(model))) is None, 'which of two?'
    missing = ModelMetadata(label_file_names=('gone.txt',), packed_files=packed_files(only))
    assert labels_from_metadata(only, missing) == ['c', 'd']


def test_label_file_errors_name_the_path_and_the_cause(tmp_path):
    with pytest.raises(LabelError, match=r'^label_path /nonexistent/nope.txt: cannot read: No such file or '
                                         r'directory$'):
        read_label_file('/nonexistent/nope.txt')
    latin = tmp_path / 'latin.txt'
    latin.write_bytes(b'caf\xe9\n')
    with pytest.raises(LabelError, match=rf'^label_path {latin}: not UTF-8 text \(invalid continuation byte at '
                                         r'byte 3\)$'):
        read_label_file(latin)
