"""`vision_classifier bench` with short durations: what the README claims of it, on the user's setting."""
import json
import os
import subprocess
import sys

import pytest

from support import REPO


KEYS = {'invoke_ms', 'node_ms', 'e2e_p50_ms', 'e2e_p95_ms', 'e2e_p99_ms', 'fps_in', 'fps_out', 'stale',
        'flood_p99_ms', 'rss_start_mb', 'rss_end_mb', 'threads', 'device', 'pace', 'keeps_up', 'size', 'encoding'}
FRAME_MB = 640 * 480 * 3 / 2**20


def bench(*args):
    """Run the bench in this test's own domain (a random one could be another test worker's)."""
    domain = () if '--topic' in args else ('--domain-id', os.environ['ROS_DOMAIN_ID'])
    result = subprocess.run([sys.executable, '-m', 'vision_classifier', 'bench', '--iterations', '10', *domain, *args],
                            capture_output=True, text=True, cwd=REPO, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stdout


def test_at_a_rate_the_model_keeps_up_with_no_result_is_stale_and_a_flood_leaves_memory_flat(default_model, tmp_path):
    plot = tmp_path / 'latency.png'
    s, table = bench('--seconds', '1.5', '--warmup', '0.5', '--flood-seconds', '2.5', '--threads-max', '1', '--fps',
                     '5', '--plot', str(plot))
    assert KEYS <= s.keys() and (s['size'], s['encoding'], s['num_threads']) == ('640x480', 'rgb8', 1)
    assert s['results_out'] > 0 and s['stale'] == 0 and s['out_of_order'] == 0, 'every result fresh, in order'
    assert s['keeps_up'] and 'inference keeps up with the camera' in table
    assert s['e2e_p50_ms'] <= s['e2e_p95_ms'] <= s['e2e_p99_ms']
    assert s['e2e_p50_ms'] >= s['invoke_ms'] * 0.5, 'end to end includes an inference'
    # The flood offers far more frames than the model takes: the newest is taken, nothing queues.
    assert s['flood_published'] > 3 * s['flood_results'] > 0 and s['flood_out_of_order'] == 0
    growth = s['rss_max_mb'] - s['rss_before_flood_mb']
    print(f'\nclassifier RSS {s["rss_before_flood_mb"]} MB before the flood, max {s["rss_max_mb"]} MB')
    assert growth < 20 * FRAME_MB, f'{growth:.1f} MB: a backlog of frames in memory'
    assert list(s['threads']) == ['1'] and s['threads']['1'] > 0
    assert s['device']['cores'] >= 1 and s['device']['litert']
    assert plot.stat().st_size > 0


def test_topic_measures_a_camera_already_running_and_says_it_is_faster_than_the_model(default_model, start_node):
    """
    Measure with --topic: no camera or flood started; size, encoding and rate are read from the topic.

    At 200 fps the model cannot keep up: the bench says so, with what each num_threads would change.
    """
    camera = start_node('vision_classifier.nodes.camera_node', '-r', '__node:=cam',
                        '-r', 'image_raw:=/bench_cam/image_raw',
                        '-p', 'source_type:=fake', '-p', 'width:=320', '-p', 'height:=240', '-p', 'frame_rate:=200.0',
                        name='camera')
    s, table = bench('--topic', '/bench_cam/image_raw', '--seconds', '1', '--warmup', '0.5', '--threads-max', '2',
                     '--encoding', 'mono8', '--plot', '')  # --encoding is ignored: the topic's own is measured
    assert (s['topic'], s['size'], s['encoding']) == ('/bench_cam/image_raw', '320x240', 'rgb8'), camera.log()
    assert s['frames_in'] > 0 and s['results_out'] > 0 and s['e2e_p50_ms'] > 0
    assert s['flood_published'] == 0 and 'skipped: --topic measures a running camera' in table
    assert not s['keeps_up'] and 'inference is slower than the camera' in table
    assert 'num_threads=1: ~' in s['pace'] and 'num_threads=2: ~' in s['pace']


@pytest.mark.parametrize('encoding', ['yuv422', 'jpeg'])  # yuv422_yuy2 differs only in byte order
def test_other_inputs_are_measured_end_to_end(default_model, encoding):
    """yuv422 frames and JPEG (sensor_msgs/CompressedImage) through the classifier, as a robot's driver sends them."""
    s, _ = bench('--encoding', encoding, '--size', '320x240', '--seconds', '1', '--warmup', '0.5', '--flood-seconds',
                 '0', '--threads-max', '1', '--plot', '')
    assert s['encoding'] == encoding and s['size'] == '320x240' and s['results_out'] > 0
