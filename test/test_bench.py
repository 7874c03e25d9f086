"""`vision_classifier bench` with tiny durations: the last line is JSON with every key and sane values."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.ros

KEYS = {'invoke_ms', 'node_ms', 'e2e_p50_ms', 'e2e_p95_ms', 'e2e_p99_ms', 'fps_in', 'fps_out', 'stale',
        'flood_p99_ms', 'rss_start_mb', 'rss_end_mb', 'threads', 'device'}


def test_bench_prints_a_json_summary_last(default_model, tmp_path):
    plot = tmp_path / 'latency.png'
    result = subprocess.run(
        [sys.executable, '-m', 'vision_classifier', 'bench', '--seconds', '2', '--warmup', '1', '--flood-seconds', '2',
         '--threads-max', '1', '--iterations', '10', '--plot', str(plot)],
        capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert KEYS <= summary.keys()
    for key in ('invoke_ms', 'node_ms', 'e2e_p50_ms', 'fps_in', 'fps_out', 'flood_p99_ms', 'rss_start_mb',
                'rss_end_mb'):
        assert summary[key] > 0, key
    assert summary['e2e_p50_ms'] <= summary['e2e_p95_ms'] <= summary['e2e_p99_ms']
    assert summary['results_out'] + summary['dropped'] == summary['frames_in']
    assert summary['e2e_p50_ms'] >= summary['invoke_ms'] * 0.5, 'end to end includes an inference'
    assert list(summary['threads']) == ['1'] and summary['threads']['1'] > 0
    assert summary['device']['cores'] >= 1 and summary['device']['litert']
    assert plot.stat().st_size > 0
