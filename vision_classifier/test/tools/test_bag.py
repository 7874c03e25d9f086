"""
`vision_classifier bag` on recordings the tests write from the sample photos, in both storage formats.

Raw frames in several encodings, JPEG and PNG, a bad frame of each kind: every good frame's result, read back from the
output bag in both formats, equals what a live classifier_node process publishes for the same frame.
"""
import json
import re
import shutil
import signal
import subprocess
import sys

from bag_frames import COMPRESSED, image, RAW, read_bag, run_cli, sample_frames, storage_of, STORE, write_bag
import numpy as np
import pytest
from rclpy.qos import QoSProfile
from rclpy.serialization import deserialize_message
from ros_helpers import stamp_of
from sensor_msgs.msg import CompressedImage, Image
from support import REPO, TEST_DIR
from vision_classifier.core.tflite_model import load_model, ModelConfig
from vision_classifier.tools.bag import FORMATS
from vision_classifier.tools.recording import INTERFACES, STORAGES
from vision_classifier_msgs.msg import Classifications
from vision_msgs.msg import Classification as VisionClassification
from vision_msgs.msg import LabelInfo

NODE = 'vision_classifier.nodes.classifier_node'
RAW_TOPIC, COMPRESSED_TOPIC = '/front/image_raw', '/back/image_raw/compressed'
NAMESPACES = {RAW_TOPIC: '/classifier/front', COMPRESSED_TOPIC: '/classifier/back'}


def live_results(ros, start_node, default_model, frames):
    """
    Return {(topic, stamp): Classifications} of a live classifier_node per topic for each good frame.

    The frames are sent one at a time (its subscription keeps only the newest frame), as their own CDR bytes from the
    recording.
    """
    results = {}
    for topic, transport in ((RAW_TOPIC, 'raw'), (COMPRESSED_TOPIC, 'compressed')):
        name = f'live_{transport}'
        image_topic = topic.removesuffix('/compressed')
        process = start_node(NODE, '-r', f'__node:={name}', '-r', f'image:={image_topic}',
                             '-p', f'model_path:={default_model}', '-p', f'image_transport:={transport}',
                             '-p', 'qos_reliability:=reliable', name=name)
        received = {}
        ros.node.create_subscription(Classifications, f'/{name}/classifications',
                                     lambda m: received.setdefault(stamp_of(m), m), QoSProfile(depth=50))
        msg_class = CompressedImage if transport == 'compressed' else Image
        publisher = ros.node.create_publisher(msg_class, topic, QoSProfile(depth=10))
        assert ros.wait_for_subscriber(publisher, 60), process.log()
        for frame_topic, msgtype, _, msg, good in frames:
            if frame_topic != topic or not good:
                continue
            ros_msg = deserialize_message(bytes(STORE.serialize_cdr(msg, msgtype)), msg_class)
            stamp = stamp_of(ros_msg)
            for _ in range(120):  # until taken: discovery may lose the first
                publisher.publish(ros_msg)
                if ros.spin_until(lambda: stamp in received, 0.5):
                    break
            assert stamp in received, process.log()
            results[(topic, stamp)] = received[stamp]
    return results


def classify_offline(source, out, default_model, *options):
    result = run_cli('bag', source, '--topic', RAW_TOPIC, '--topic', COMPRESSED_TOPIC, '--model', default_model,
                     '--out', out, *options)
    assert result.returncode == 0, result.stdout + result.stderr
    return source, out, result


def test_every_frame_of_both_storage_formats_gets_the_live_nodes_result(ros, start_node, default_model, tmp_path):
    frames = sample_frames(RAW_TOPIC, COMPRESSED_TOPIC)
    live = live_results(ros, start_node, default_model, frames)
    labels = load_model(ModelConfig(default_model)).labels
    mcap, sqlite3 = (write_bag(tmp_path / f'in_{storage}', storage, frames) for storage in ('mcap', 'sqlite3'))
    runs = [classify_offline(mcap, tmp_path / 'out_mcap', default_model),
            classify_offline(sqlite3, tmp_path / 'out_sqlite3', default_model),
            classify_offline(mcap, tmp_path / 'out_both', default_model, '--format', 'sqlite3', '--num-threads', '2')]
    assert [storage_of(out) for _, out, _ in runs] == [{'.mcap'}, {'.db3'}, {'.db3'}]
    for source, out, result in runs:
        assert '1 frame(s) rejected (encoding); the first: /front/image_raw' in result.stdout, result.stdout
        assert '1 frame(s) rejected (compressed); the first: /back/image_raw/compressed' in result.stdout
        assert f'{RAW_TOPIC}: 6 of 7 frames classified' in result.stdout
        written, recorded = read_bag(out), read_bag(source)
        for topic, messages in recorded.items():
            assert written[topic] == messages, f'{topic}: the recording is copied as it is'
        for topic, namespace in NAMESPACES.items():
            good = [(t, msg) for frame_topic, _, t, msg, ok in frames if frame_topic == topic and ok]
            ours = written[f'{namespace}/classifications']
            theirs = written[f'{namespace}/vision/classification']
            assert [t for t, _ in ours] == [t for t, _ in theirs] == [t for t, _ in good], \
                'one result per good frame, at its receive time'
            for (timestamp, msg), (_, data), (_, vision_data) in zip(good, ours, theirs):
                stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
                offline = deserialize_message(data, Classifications)
                assert offline == live[(topic, stamp)], f'{topic} {stamp}'
                assert offline.header.frame_id == msg.header.frame_id and stamp_of(offline) == stamp
                vision = deserialize_message(vision_data, VisionClassification)
                assert vision.header == offline.header
                assert [(h.class_id, h.score) for h in vision.results] == [
                    (str(labels.index(c.class_name)), c.confidence) for c in offline.classifications]
            (info_time, info_data), = written[f'{namespace}/vision/label_info']
            info = deserialize_message(info_data, LabelInfo)
            assert [c.class_name for c in info.class_map] == labels and info_time == good[0][0]


def test_options_set_the_thresholds_and_the_class_id(tmp_path, default_model):
    frames = sample_frames(RAW_TOPIC, COMPRESSED_TOPIC)
    _, out, result = classify_offline(write_bag(tmp_path / 'in', 'mcap', frames), tmp_path / 'out', default_model,
                                      '--max-classifications', '0',
                                      '--label-confidences', 'espresso:0.01', 'cup:0.01', '--class-id', 'label')
    written = read_bag(out)
    for (_, data), (_, vision_data) in zip(written['/classifier/back/classifications'],
                                           written['/classifier/back/vision/classification']):
        names = [c.class_name for c in deserialize_message(data, Classifications).classifications]
        assert set(names) <= {'espresso', 'cup'}
        assert [h.class_id for h in deserialize_message(vision_data, VisionClassification).results] == names


def test_a_cut_recording_is_classified_as_far_as_it_goes(tmp_path, default_model):
    frames = sample_frames(RAW_TOPIC, COMPRESSED_TOPIC)
    for storage, suffix in (('mcap', '.mcap'), ('sqlite3', '.db3')):
        source = write_bag(tmp_path / f'in_{storage}', storage, frames)
        file = next(source.glob(f'*{suffix}'))
        data = file.read_bytes()
        file.write_bytes(data[:len(data) * 6 // 10])  # a power loss: the file ends mid-way
        out = tmp_path / f'out_{storage}'
        result = run_cli('bag', source, '--topic', RAW_TOPIC, '--topic', COMPRESSED_TOPIC, '--model', default_model,
                         '--out', out)
        assert result.returncode == 1, result.stdout + result.stderr
        assert f'error: {file}: cut short (' in result.stderr and 'message(s) read, the last recorded at' \
            in result.stderr, result.stderr
        written = read_bag(out)
        read = {topic: len(written.get(topic, [])) for topic in NAMESPACES}
        assert 0 < sum(read.values()) < len([f for f in frames if f[0] in NAMESPACES]), read
        for topic, namespace in NAMESPACES.items():
            frame_times = [t for t, _ in written.get(topic, [])]
            good = {t for frame_topic, _, t, _, ok in frames if frame_topic == topic and ok}
            assert [t for t, _ in written.get(f'{namespace}/classifications', [])] == \
                [t for t in frame_times if t in good], 'every frame read has its result'


def test_a_missing_topic_and_what_is_no_bag_give_clear_errors(tmp_path, default_model):
    frames = sample_frames(RAW_TOPIC, COMPRESSED_TOPIC)
    source = write_bag(tmp_path / 'in', 'mcap', frames)
    result = run_cli('bag', source, '--topic', '/cam/image_raw', '--model', default_model, '--out', tmp_path / 'o')
    assert result.returncode == 2
    assert (f'error: {source}: no topic /cam/image_raw; it has {COMPRESSED_TOPIC} ({COMPRESSED}, 6 messages), '
            '/chatter (std_msgs/msg/String, 1 message), /front/image_raw (sensor_msgs/msg/Image, 7 messages)'
            in result.stderr), result.stderr
    result = run_cli('bag', source, '--topic', '/chatter', '--model', default_model, '--out', tmp_path / 'o')
    assert result.returncode == 2 and '/chatter is std_msgs/msg/String, not sensor_msgs/msg/Image or' in result.stderr
    assert not (tmp_path / 'o').exists()

    text = tmp_path / 'notes.txt'
    text.write_text('not a bag')
    (tmp_path / 'empty').mkdir()
    fake = tmp_path / 'fake.mcap'
    fake.write_bytes(b'not an mcap file at all')
    for path, cause in ((text, 'not a bag: expected a bag folder'), (tmp_path / 'empty', 'not a bag: no metadata.yaml'),
                        (fake, 'not a readable MCAP bag file'), (tmp_path / 'nothing', 'no such file or folder')):
        result = run_cli('bag', path, '--topic', RAW_TOPIC, '--model', default_model, '--out', tmp_path / 'o')
        assert result.returncode == 2 and f'error: {path}: {cause}' in result.stderr, result.stderr
        assert 'Traceback' not in result.stderr

    result = run_cli('bag', source, '--topic', RAW_TOPIC, '--model', default_model, '--out', source)
    assert result.returncode == 2 and 'exists already, not overwriting' in result.stderr


def test_a_recording_without_metadata_is_read_from_its_storage_file(tmp_path, default_model):
    source = write_bag(tmp_path / 'in', 'mcap', sample_frames(RAW_TOPIC, COMPRESSED_TOPIC))
    (source / 'metadata.yaml').unlink()  # rosbag2 writes it when the recording closes
    result = run_cli('bag', source, '--topic', RAW_TOPIC, '--model', default_model, '--out', tmp_path / 'out')
    assert result.returncode == 0, result.stderr
    assert 'no metadata.yaml (a recording that was not closed?); reading in.mcap' in result.stderr
    shutil.copy(next(source.glob('*.mcap')), tmp_path / 'one.mcap')
    result = run_cli('bag', tmp_path / 'one.mcap', '--topic', RAW_TOPIC, '--model', default_model,
                     '--out', tmp_path / 'out2')
    assert result.returncode == 0 and f'{RAW_TOPIC}: 6 of 7 frames classified' in result.stdout, result.stderr


def test_a_config_with_several_vision_services_needs_service(tmp_path, default_model):
    source = write_bag(tmp_path / 'in', 'mcap', sample_frames(RAW_TOPIC, COMPRESSED_TOPIC))
    config = tmp_path / 'robot.json'
    config.write_text(json.dumps({'services': [
        {'name': 'net', 'type': 'mlmodel', 'model': 'tflite_cpu', 'attributes': {'model_path': default_model}},
        {'name': 'first', 'type': 'vision', 'model': 'mlmodel', 'attributes': {'mlmodel_name': 'net'}},
        {'name': 'second', 'type': 'vision', 'model': 'mlmodel',
         'attributes': {'mlmodel_name': 'net', 'default_minimum_confidence': 0.5, 'max_classifications': 1}}]}))
    result = run_cli('bag', source, '--topic', RAW_TOPIC, '--config', config, '--out', tmp_path / 'out')
    assert result.returncode == 2 and '2 vision services (first, second): choose one with --service' in result.stderr
    result = run_cli('bag', source, '--topic', RAW_TOPIC, '--config', config, '--service', 'third',
                     '--out', tmp_path / 'out')
    assert result.returncode == 2 and 'no vision service named "third" (its vision services: first, second)' \
        in result.stderr
    result = run_cli('bag', source, '--topic', RAW_TOPIC, '--config', config, '--service', 'second',
                     '--out', tmp_path / 'out')
    assert result.returncode == 0, result.stderr
    results = [deserialize_message(data, Classifications) for _, data in
               read_bag(tmp_path / 'out')['/second/classifications']]
    assert len(results) == 6 and all(len(r.classifications) <= 1 for r in results)
    assert all(c.confidence >= 0.5 for r in results for c in r.classifications)


def test_the_bundled_message_definitions_are_the_interfaces_own():
    """Check tools/interfaces: copies of vision_classifier_msgs/msg and vision_msgs (test/interfaces), byte for byte."""
    sources = {'vision_classifier_msgs': REPO / 'vision_classifier_msgs' / 'msg',
               'vision_msgs': TEST_DIR / 'interfaces' / 'vision_msgs' / 'msg'}
    bundled = sorted(INTERFACES.glob('*/msg/*.msg'))
    assert len(bundled) == 6
    for path in bundled:
        assert path.read_bytes() == (sources[path.parts[-3]] / path.name).read_bytes(), path
    assert sorted(set(STORAGES.values())) == sorted(FORMATS)


@pytest.mark.parametrize('stop', [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_with_a_closed_output_where_every_frame_has_its_result(tmp_path, default_model, stop):
    rgb = np.zeros((64, 64, 3), np.uint8)
    frames = [(RAW_TOPIC, RAW, (i + 1) * 10**7, image(rgb, 'rgb8', (i, 0), 'front'), True) for i in range(3000)]
    source, out = write_bag(tmp_path / 'in', 'mcap', frames), tmp_path / 'out'
    process = subprocess.Popen([sys.executable, '-m', 'vision_classifier', 'bag', source, '--topic', RAW_TOPIC,
                                '--model', default_model, '--out', out, '--progress'], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = ''
    while not re.search(r'[1-9]\d*/3000 frames', seen) and process.poll() is None:  # frames classified
        seen += process.stderr.read(1)
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    written = read_bag(out)
    assert [t for t, _ in written.get('/classifier/classifications', [])] == [t for t, _ in written[RAW_TOPIC]]
    if 'interrupted' in stderr:  # else it was done before the signal came
        assert f'interrupted: {out} holds the messages before that' in stderr
        assert 0 < len(written[RAW_TOPIC]) < len(frames)
        assert f'{len(written[RAW_TOPIC])} of {len(written[RAW_TOPIC])} frames classified' in stdout
