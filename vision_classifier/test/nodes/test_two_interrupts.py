"""Ctrl-C in a terminal under `ros2 launch` reaches each node twice (from the terminal and from launch)."""
import signal
import time

import pytest


@pytest.mark.parametrize('gap', [0.0, 0.01, 0.05, 0.2])
def test_a_node_told_twice_to_stop_still_stops_cleanly(start_node, default_model, gap):
    """Whenever the second SIGINT lands (before, during or after the clean-up), the node exits 0 quietly."""
    process = start_node('vision_classifier.nodes.classifier_node', '-r', '__node:=twice',
                         '-p', f'model_path:={default_model}', name='classifier')
    assert process.wait_for_log('listening on'), process.log()
    process.proc.send_signal(signal.SIGINT)
    time.sleep(gap)  # the stimulus, not an assertion
    process.proc.send_signal(signal.SIGINT)
    assert process.proc.wait(120) == 0, process.log()
    assert 'Traceback' not in process.log() and 'KeyboardInterrupt' not in process.log(), process.log()
