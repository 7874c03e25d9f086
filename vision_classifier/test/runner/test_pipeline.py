"""The default config end to end: one process runs it, this one receives its topics over DDS."""
import subprocess
import sys

import numpy as np
from rclpy.qos import QoSProfile
from ros_helpers import set_parameters, stamp_of
from sensor_msgs.msg import Image
from support import EXPECTED_TOP, PACKAGE, REPO, TIMEOUT
from vision_classifier.core.image_encoding import decode_msg
from vision_classifier_msgs.msg import Classifications

COFFEE_CAT_MISSILE = set().union(*EXPECTED_TOP.values())


def pixels(msg):
    return decode_msg(msg).pixels.copy()


def test_default_config_classifies_the_photos_and_annotates_them(ros, start_node, tmp_path):
    process = start_node('vision_classifier', name='pipeline', args=(
        'run', str(PACKAGE / 'config' / 'default.json'), '--save-dir', str(tmp_path / 'frames')))
    results, sources, annotated = {}, {}, {}
    qos = QoSProfile(depth=10)
    ros.node.create_subscription(Classifications, '/my_classifier/classifications',
                                 lambda m: results.setdefault(stamp_of(m), m), qos)
    ros.node.create_subscription(Image, '/photos/image_raw', lambda m: sources.setdefault(stamp_of(m), m), qos)
    ros.node.create_subscription(Image, '/overlay_cam/image', lambda m: annotated.setdefault(stamp_of(m), m), qos)

    # frames wait for their results as long as these take (the default, 1 s, may drop every frame on a slow machine)
    assert [r.successful for r in set_parameters(ros, 'overlay_cam', result_timeout=3600.0)] == [True]

    def seen_all_photos():
        tops = {m.classifications[0].class_name for m in results.values() if m.classifications}
        return all(tops & expected for expected in EXPECTED_TOP.values()) and set(annotated) & set(sources)
    assert ros.spin_until(seen_all_photos), process.log()

    for stamp in set(annotated) & set(sources):
        source, drawn = pixels(sources[stamp]), pixels(annotated[stamp])
        assert source.shape == drawn.shape
        text_region = (slice(20, 130), slice(20, 300))
        assert np.abs(source[text_region].astype(int) - drawn[text_region]).sum() > 1000
        assert np.array_equal(source[200:, 320:], drawn[200:, 320:]), 'only the text region changes'
        assert annotated[stamp].header.frame_id == 'photos'
    # the overlay publishes a frame, then writes it
    assert ros.spin_until(lambda: list((tmp_path / 'frames' / 'overlay_cam').glob('frame_*.png'))), \
        'annotated frames are written'


def test_run_with_a_wrong_config_lists_every_problem_and_starts_nothing(tmp_path):
    config = tmp_path / 'robot.json'
    config.write_text('{"services": [{"name": "v", "type": "vision", "model": "mlmodel", '
                      '"attributes": {"mlmodel_name": "x"}}], "components": [{"name": "c", "type": "camera", '
                      '"model": "fake", "attributes": {"frame_rate": "fast"}}]}')
    result = subprocess.run([sys.executable, '-m', 'vision_classifier', 'run', str(config)], capture_output=True,
                            text=True, timeout=TIMEOUT, cwd=REPO)
    assert result.returncode == 2
    assert 'services[0].attributes.mlmodel_name: no mlmodel service named "x"' in result.stderr
    assert 'components[0].attributes.frame_rate: expected a number above 0, got "fast"' in result.stderr
    assert 'Traceback' not in result.stderr and '[INFO]' not in result.stderr + result.stdout
