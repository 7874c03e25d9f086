"""
Model and label faults: each stops the classifier node and `classify` at start with one clear line.

The node's line names the node as it runs, here `__node:=my_classifier`.

Every case stops a ClassifierNode and the `classify` command (exit 2), both created in this process, naming the
cause; four of them run the node's own process too (exit 1, one line, no traceback; test_cli.py runs the command's).
"""
from pathlib import Path

import pytest
from support import DEFAULT_MODEL, fixture_model, FIXTURES, PHOTOS, TIMEOUT
from vision_classifier import cli

NODE = 'vision_classifier.nodes.classifier_node'
SMALL = fixture_model('float_nhwc_logits.tflite')  # 4 outputs, no metadata
LABELS4 = FIXTURES / 'labels4.txt'


def _write(path, data):
    path.write_bytes(data)
    return path


def _without_zipped_labels(tmp):
    """with_metadata.tflite cut where its zipped labels.txt begins: the flatbuffer intact, its metadata naming it."""
    data = Path(fixture_model('with_metadata.tflite')).read_bytes()
    return _write(tmp / 'cut.tflite', data[:data.index(b'PK\x03\x04')])


def fault(model, message, labels='', threads='', cli=None):
    """Return a start-up fault: model_path, label_path, num_threads; the node's message and the CLI's if other."""
    return {'model': model, 'labels': labels, 'threads': threads, 'message': message, 'cli': cli or message}


TRUNCATED = 'cannot load: The model is not a valid Flatbuffer buffer'
NO_LABELS_COPY = 'but the model holds no readable copy (truncated file?); set label_path'
CASES = {  # name -> tmp_path -> fault
    'missing_model': lambda t: fault(t / 'none.tflite', f'model_path {t / "none.tflite"}: no such file'),
    'empty_model': lambda t: fault(_write(t / 'empty.tflite', b''),
                                   f'model_path {t / "empty.tflite"}: not a TFLite model (empty file)'),
    'truncated_model': lambda t: fault(_write(t / 'half.tflite', Path(SMALL).read_bytes()[:400]),
                                       f'model_path {t / "half.tflite"}: {TRUNCATED}'),
    'truncated_default_model': lambda t: fault(
        _write(t / 'tail.tflite', DEFAULT_MODEL.read_bytes()[:-100]),
        f'model_path {t / "tail.tflite"}: the metadata names the labels file labels_without_background.txt, '
        + NO_LABELS_COPY),
    'model_without_its_zipped_labels': lambda t: fault(
        _without_zipped_labels(t), f'model_path {t / "cut.tflite"}: the metadata names the labels file labels.txt, '
                                   + NO_LABELS_COPY),
    'png_as_model': lambda t: fault(PHOTOS / 'coffee.png',
                                    f'model_path {PHOTOS / "coffee.png"}: not a TFLite model (no TFL3 identifier)'),
    'tfl3_identifier_then_junk': lambda t: fault(_write(t / 'junk.tflite', b'\0\0\0\0TFL3' + bytes(range(256)) * 4),
                                                 f'model_path {t / "junk.tflite"}: {TRUNCATED}'),
    'directory_as_model': lambda t: fault(t, f'model_path {t}: is a directory, not a model file'),
    # A regular file that cannot be read, even as root (reading address 0 of the reader's own memory).
    'unreadable_model': lambda t: fault('/proc/self/mem', 'model_path /proc/self/mem: cannot read: Input/output error'),
    'no_outputs': lambda t: fault(fixture_model('no_outputs.tflite'),
                                  'the model has no output: expected one classification output'),
    'two_outputs': lambda t: fault(fixture_model('two_outputs.tflite'),
                                   '2 outputs and none named "probability": expected one classification output'),
    'too_few_labels': lambda t: fault(SMALL, f'label_path {t / "l.txt"}: 3 labels, but the model outputs 4 values',
                                      labels=_write(t / 'l.txt', b'red\ngreen\nblue\n')),
    'labels_of_another_model': lambda t: fault(
        DEFAULT_MODEL, f'label_path {LABELS4}: 4 labels, but the model outputs 1000 values', labels=LABELS4),
    'empty_labels': lambda t: fault(SMALL, f'label_path {t / "l.txt"}: 0 labels, but the model outputs 4 values',
                                    labels=_write(t / 'l.txt', b'\n\n')),
    'missing_labels': lambda t: fault(SMALL, f'label_path {t / "none.txt"}: cannot read: No such file or directory',
                                      labels=t / 'none.txt'),
    'directory_as_labels': lambda t: fault(SMALL, f'label_path {t}: cannot read: Is a directory', labels=t),
    'labels_not_utf8': lambda t: fault(
        SMALL, f'label_path {t / "l.txt"}: not UTF-8 text (invalid start byte at byte 6)',
        labels=_write(t / 'l.txt', 'red\ngr\xfcn\n'.encode('latin-1'))),
    'num_threads_0': lambda t: fault(SMALL, 'Parameter num_threads out of range. Min: 1, Max: 256, value: 0',
                                     threads='0', cli='num_threads: expected an integer of at least 1, got 0'),
    'num_threads_-1': lambda t: fault(SMALL, 'Parameter num_threads out of range. Min: 1, Max: 256, value: -1',
                                      threads='-1', cli='num_threads: expected an integer of at least 1, got -1'),
    'num_threads_text': lambda t: fault(
        SMALL, "parameter num_threads: expected an integer, got 'abc'",
        threads='abc', cli="argument --threads: invalid int value: 'abc'"),
}


def classify_cli(capsys, *args):
    """`vision_classifier classify coffee.png ARGS` in this process: (exit status, stdout, stderr)."""
    try:
        status = cli.main(['classify', str(PHOTOS / 'coffee.png'), *args])
    except SystemExit as e:  # argparse
        status = e.code
    out = capsys.readouterr()
    return status, out.out, out.err


def node_args(f):
    args = ['-p', f'model_path:={f["model"]}']
    if f['labels']:
        args += ['-p', f'label_path:={f["labels"]}']
    if f['threads']:
        args += ['-p', f'num_threads:={f["threads"]}']
    return args


def start_in_process(ros, f):
    """
    Return the error a ClassifierNode created in this process with the fault's parameters stops with.

    The parameters are given as `-p` gives them (strings parsed as YAML).
    """
    import yaml
    from rclpy.exceptions import ParameterException
    from rclpy.parameter import Parameter
    from vision_classifier.nodes.classifier_node import ClassifierNode
    from vision_classifier.nodes.main import StartupError
    overrides = [Parameter('model_path', value=str(f['model']))]
    if f['labels']:
        overrides.append(Parameter('label_path', value=str(f['labels'])))
    if f['threads']:
        overrides.append(Parameter('num_threads', value=yaml.safe_load(f['threads'])))
    with pytest.raises((StartupError, ParameterException)) as stopped:
        ClassifierNode(context=ros.context, parameter_overrides=overrides)
    return str(stopped.value)


@pytest.mark.parametrize('case', CASES)
def test_fault_stops_node_and_cli_at_start_naming_the_cause(ros, tmp_path, capsys, case):
    f = CASES[case](tmp_path)
    assert f['message'] in start_in_process(ros, f)
    cli_args = ['--model', str(f['model'])]
    if f['labels']:
        cli_args += ['--labels', str(f['labels'])]
    if f['threads']:
        cli_args += ['--threads', f['threads']]
    status, out, err = classify_cli(capsys, *cli_args)
    assert status == 2 and f['cli'] in err, err
    assert 'Traceback' not in err and out == '', err


@pytest.mark.parametrize('case', ['missing_model', 'labels_of_another_model', 'num_threads_0', 'num_threads_text'])
def test_the_node_process_exits_1_with_one_line_naming_the_cause(start_node, tmp_path, case):
    """As the cases above (in this process), through the node's own process: exit 1, one line, no traceback."""
    f = CASES[case](tmp_path)
    node = start_node(NODE, '-r', '__node:=my_classifier', *node_args(f), name='classifier')
    assert node.proc.wait(TIMEOUT) == 1
    log = node.log()
    reasons = [line for line in log.splitlines() if line.startswith('[my_classifier] cannot start: ')]
    assert len(reasons) == 1 and f['message'] in reasons[0], log
    assert 'Traceback' not in log, log


def test_control_the_same_model_with_good_labels_and_threads_starts(start_node, capsys):
    """The faults above are faults: the small model with a matching labels file and 2 threads works."""
    node = start_node(NODE, '-p', f'model_path:={SMALL}', '-p', f'label_path:={LABELS4}', '-p', 'num_threads:=2',
                      name='classifier')
    status, out, err = classify_cli(capsys, '--model', SMALL, '--labels', str(LABELS4), '--threads', '2', '--n', '4')
    assert status == 0 and out.count(': ') == 4, err
    assert node.wait_for_log('4 classes, input [1, 8, 8, 3] float32, 2 thread(s)'), node.log()
    assert node.proc.poll() is None


def test_corrupt_metadata_never_crashes_the_load(tmp_path, default_model):
    """
    Check a model whose metadata is damaged gives its labels or a clear error, never a traceback.

    LiteRT ignores the metadata buffer, so such a model still loads.
    """
    import struct

    import numpy as np
    from vision_classifier.core.tflite_model import ModelConfig, ModelError, TfliteCpuModel
    data = bytearray(open(default_model, 'rb').read())
    start = data.find(b'M001') - 4  # the metadata flatbuffer (file identifier M001) inside its buffer
    length = struct.unpack('<I', data[start - 4:start])[0]
    rng = np.random.default_rng(11)
    outcomes = set()
    for _ in range(60):
        damaged = bytearray(data)
        for offset in rng.integers(start, start + length, 2):
            damaged[offset] ^= 0xFF
        path = tmp_path / 'damaged.tflite'
        path.write_bytes(damaged)
        try:
            outcomes.add(len(TfliteCpuModel(ModelConfig(str(path))).labels))
        except ModelError as e:
            assert 'damaged.tflite' in str(e)
            outcomes.add('error')
    assert outcomes <= {1000, 'error'}
