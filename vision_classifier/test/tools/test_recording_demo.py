"""
A recording of the demo camera, classified offline, gives the live classifier's results.

The demo (`vision_classifier run` of config/default.json) is recorded by this test from a live subscription as `ros2
bag record` writes it (the serialized messages at their receive time), and classified offline with the same config:
every frame has a result, equal to the live classifier's for the same frame (matched by header stamp and frame_id),
in the output bag read back in both storage formats.
"""
import time

from bag_frames import read_bag, run_cli, storage_of, STORE
from rclpy.qos import QoSProfile
from rclpy.serialization import deserialize_message
from ros_helpers import stamp_of
from rosbags.rosbag2 import StoragePlugin, Writer
from sensor_msgs.msg import Image
from support import DEFAULT_CONFIG, EXPECTED_TOP, TIMEOUT
from vision_classifier_msgs.msg import Classifications

CAMERA = '/photos/image_raw'
FRAMES = 8  # two rounds of the four photos


def record(ros, path, wanted):
    """Record the camera into a new MCAP bag until `wanted` frames are in; return the (stamp, frame_id) of each."""
    seen = []
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection(CAMERA, 'sensor_msgs/msg/Image', typestore=STORE)

        def on_frame(data):
            if len(seen) < wanted:
                writer.write(connection, time.time_ns(), data)
                msg = deserialize_message(data, Image)
                seen.append((stamp_of(msg), msg.header.frame_id))
        subscription = ros.node.create_subscription(Image, CAMERA, on_frame, QoSProfile(depth=10), raw=True)
        assert ros.spin_until(lambda: len(seen) >= wanted, 120), f'{len(seen)} frames recorded'
        ros.node.destroy_subscription(subscription)
    return seen


def test_the_demo_camera_recorded_and_classified_offline_matches_the_live_classifier(ros, start_node, tmp_path):
    live = {}
    ros.node.create_subscription(Classifications, '/my_classifier/classifications',
                                 lambda m: live.setdefault((stamp_of(m), m.header.frame_id), m), QoSProfile(depth=50))
    demo = start_node('vision_classifier', name='demo', args=('run', str(DEFAULT_CONFIG)))
    recorded = record(ros, tmp_path / 'demo', FRAMES)
    # the live results of the recorded frames: results come in order, so once a frame after the last recorded one
    # has its result, a recorded frame without one was skipped (keep-last 1: how many depends on the machine)
    last = max(stamp for stamp, _ in recorded)
    assert ros.spin_until(lambda: any(stamp > last for stamp, _ in list(live)), TIMEOUT), demo.log()
    assert demo.stop() == 0
    matched = [frame for frame in recorded if frame in live]
    assert matched, demo.log()

    for storage in ('mcap', 'sqlite3'):
        out = tmp_path / f'classified_{storage}'
        result = run_cli('bag', tmp_path / 'demo', '--topic', CAMERA, '--config', DEFAULT_CONFIG, '--format', storage,
                         '--out', out)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f'{CAMERA}: {FRAMES} of {FRAMES} frames classified: results on /my_classifier/classifications' \
            in result.stdout, result.stdout
        assert storage_of(out) == {'.mcap' if storage == 'mcap' else '.db3'}
        written = read_bag(out)
        frames, results = written[CAMERA], written['/my_classifier/classifications']
        assert [t for t, _ in results] == [t for t, _ in frames], 'every frame has its result, at its time'
        offline = {}
        for _, data in results:
            msg = deserialize_message(data, Classifications)
            offline[(stamp_of(msg), msg.header.frame_id)] = msg
        assert sorted(offline) == sorted(recorded)
        for frame in matched:
            assert offline[frame] == live[frame], frame
        tops = {m.classifications[0].class_name for m in offline.values()}
        assert all(tops & expected for expected in EXPECTED_TOP.values()), tops
