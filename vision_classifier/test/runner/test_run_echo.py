"""`vision_classifier run` prints at most one result line a second per vision service, every result with --echo."""
import json
import math
import re
import subprocess
import sys
import time

from support import REPO, TEST_DIR, TIMEOUT

CONFIG = {
    'components': [{'name': 'cam', 'type': 'camera', 'model': 'fake',
                    'attributes': {'width': 64, 'height': 48, 'frame_rate': 20}}],
    'services': [
        {'name': 'model', 'type': 'mlmodel', 'model': 'tflite_cpu',
         'attributes': {'model_path': str(TEST_DIR / 'fixtures' / 'models' / 'with_metadata.tflite')}},
        {'name': 'vision', 'type': 'vision', 'model': 'mlmodel',
         'attributes': {'mlmodel_name': 'model', 'camera_name': 'cam'}}],
}
RESULT_LINE = re.compile(r'^\[vision\] cam @ (\d+\.\d{3}): \w+ \d\.\d\d', re.M)


def results_msg(stamp, node='cam'):
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header
    from vision_classifier_msgs.msg import Classification, Classifications
    return Classifications(header=Header(stamp=Time(sec=stamp), frame_id=node),
                           classifications=[Classification(class_name='red', confidence=0.5)])


def test_the_watcher_prints_each_vision_services_results_at_most_once_per_echo_period(monkeypatch):
    """Check the rate limit on a clock of the test's own: per vision service, and none with echo_period 0."""
    import rclpy
    from vision_classifier.core.config import NodeSpec, Plan
    from vision_classifier.runner import run as runner

    class Clock:
        now = 100.0

        @classmethod
        def monotonic(cls):
            return cls.now
    monkeypatch.setattr(runner, 'time', Clock)
    plan = Plan(nodes=[NodeSpec('a', 'classifier_node', {}), NodeSpec('b', 'classifier_node', {})])
    arrivals = [(0.0, 'a', 1), (0.5, 'a', 2), (0.5, 'b', 3), (0.99, 'a', 4), (1.0, 'a', 5), (1.2, 'b', 6),
                (1.6, 'b', 7), (2.5, 'a', 8)]  # (seconds, vision service, stamp of the result)
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        for period, printed_stamps in ((1.0, [1, 3, 5, 7, 8]), (0.0, list(range(1, 9)))):
            printed = []
            watcher = runner.Watcher(plan, context, echo=printed.append, echo_period=period)
            try:
                for seconds, name, stamp in arrivals:
                    Clock.now = 100.0 + seconds
                    _, subscription = watcher.subscriptions[name]
                    subscription.callback(results_msg(stamp))  # what the subscription runs on a message
            finally:
                watcher.node.destroy_node()
            expected = {stamp: name for _, name, stamp in arrivals}
            assert printed == [f'[{expected[s]}] cam @ {s}.000: red 0.50' for s in printed_stamps], period
    finally:
        rclpy.try_shutdown(context=context)


def test_results_are_printed_at_most_once_a_second_without_echo(tmp_path):
    config = tmp_path / 'robot.json'
    config.write_text(json.dumps(CONFIG))
    started = time.monotonic()
    result = subprocess.run([sys.executable, '-m', 'vision_classifier', 'run', str(config), '--duration', '4'],
                            capture_output=True, text=True, cwd=REPO, timeout=TIMEOUT)
    lifetime = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    lines = RESULT_LINE.findall(result.stdout)
    print(f'\n{len(lines)} result lines in a run of {lifetime:.1f} s')
    # lines at least a second apart, all printed while the process lived
    assert 1 <= len(lines) <= math.floor(lifetime) + 1, result.stdout


def test_echo_prints_every_result(ros, start_node, tmp_path):
    """Check --echo prints a line for each result the vision service publishes, as this node receives them."""
    from vision_classifier_msgs.msg import Classifications
    config = tmp_path / 'robot.json'
    config.write_text(json.dumps(CONFIG))
    published = []
    ros.node.create_subscription(Classifications, '/vision/classifications', published.append, 1000)
    run = start_node('vision_classifier', name='run', args=['run', str(config), '--echo'])

    def stamps():
        return [f'{m.header.stamp.sec + m.header.stamp.nanosec * 1e-9:.3f}' for m in published]

    def printed():
        return RESULT_LINE.findall(run.log())
    assert ros.spin_until(lambda: len(published) >= 10 and stamps()[9] in printed()), run.log()
    assert run.stop() == 0, run.log()
    received, lines = stamps(), printed()
    # the results of the stretch both saw: this node from its discovery on, the run until it stopped
    first, last = max(received[0], lines[0], key=float), min(received[-1], lines[-1], key=float)
    both = [s for s in received if float(first) <= float(s) <= float(last)]
    assert len(both) >= 9 and [s for s in lines if float(first) <= float(s) <= float(last)] == both, (received, lines)
