"""`bench --cameras N`: both designs measured against the same cameras, and how a camera's frames are counted."""
import json
import os
import signal
import subprocess
import sys

from support import REPO, TIMEOUT
from vision_classifier.bench.cameras import count_at


def test_a_count_between_two_printed_counts_is_interpolated():
    counts = [(1_000, 0), (2_000, 30), (3_000, 60)]
    assert count_at(counts, 1_500) == 15 and count_at(counts, 2_000) == 30 and count_at(counts, 2_900) == 57
    assert count_at(counts, 500) == 0 and count_at(counts, 9_000) == 60 and count_at([], 1_000) == 0


def test_one_node_for_two_cameras_against_a_node_each(default_model):
    result = subprocess.run(
        [sys.executable, '-m', 'vision_classifier', 'bench', '--cameras', '2', '--fps', '5', '--seconds', '2',
         '--warmup', '0.5', '--iterations', '10', '--domain-id', os.environ['ROS_DOMAIN_ID']],
        capture_output=True, text=True, cwd=REPO, timeout=4 * TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    s = json.loads(result.stdout.strip().splitlines()[-1])
    one, each = s['designs']
    assert (s['cameras'], one['design'], each['design']) == (2, 'one', 'each')
    assert (one['processes'], each['processes']) == (1, 2)
    for design in (one, each):
        assert sorted(design['cameras']) == ['cam0', 'cam1']
        for c in design['cameras'].values():
            assert c['results'] > 0 and c['p50_ms'] <= c['p95_ms']
            assert c['results'] <= c['frames_per_s'] * design['seconds'] + 2, 'a result per frame at most'
        assert 0 <= design['shm_mb'] < design['rss_mb']
        assert design['cpu_ms_per_result'] > 0 and set(design['goals']) == {
            'fair', 'total >= 0.95 / invoke', 'cpu <= 1.15 x invoke'}
    assert each['rss_mb'] > 1.5 * one['rss_mb'], 'two processes hold two models, one holds one'
    assert 'one node for all cameras:' in result.stdout and '2 nodes, one camera each:' in result.stdout


def test_the_bench_camera_stops_on_sigint_even_when_started_with_it_ignored(ros, tmp_path):
    """A shell's background job starts its children with SIGINT ignored; the bench still stops its cameras so."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    got = []
    ros.node.create_subscription(Image, '/sigint_cam/image_raw', got.append,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    log = tmp_path / 'camera.log'
    with open(log, 'w') as out:
        camera = subprocess.Popen(
            [sys.executable, '-m', 'vision_classifier.bench.publisher', '/sigint_cam/image_raw', '--fps', '5',
             '--size', '64x48'], stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert ros.spin_until(lambda: got), log.read_text()
        camera.send_signal(signal.SIGINT)
        assert camera.wait(TIMEOUT) == 0, log.read_text()
    finally:
        camera.kill()
        camera.wait()
    assert 'published' in json.loads(log.read_text().splitlines()[-1]), 'its report, written on the way out'
