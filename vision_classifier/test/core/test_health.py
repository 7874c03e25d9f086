import numpy as np

from vision_classifier.core.health import ERROR, Health, LATENCY_WINDOW, OK, percentile, WARN


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def rows(report):
    return dict(report.values)


def test_percentile_matches_numpy_linear():
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 10, 999):
        values = list(rng.exponential(0.02, n))
        for q in (0, 50, 95, 100):
            assert abs(percentile(values, q) - np.percentile(values, q)) < 1e-12
    assert percentile([], 50) is None


def test_latency_window_keeps_the_last_1000():
    health = Health()
    for i in range(5000):
        health.result_out(i / 1000)
    assert len(health.latencies) == LATENCY_WINDOW
    report = rows(health.report())
    assert report['latency samples'] == '1000'
    assert report['latency p50 ms'] == f'{percentile(range(4000, 5000), 50):.1f}'


def test_counts_rates_and_levels_per_period():
    clock = Clock()
    health = Health('images', 'results', clock=clock)
    assert health.report().level == OK and health.report().message == 'waiting for images'
    for _ in range(10):
        health.frame_in()
        health.result_out(0.020)
    health.frame_in()
    health.fault('data_length')
    health.frame_in()
    health.fault('encoding')
    clock.now += 2.0
    report = health.report()
    assert report.level == WARN
    assert report.message.startswith('2 fault(s) in the last 2 s (1 data_length, 1 encoding)')
    assert rows(report)['images in'] == '12' and rows(report)['results out'] == '10'
    assert rows(report)['results out per second'] == '5.0' and rows(report)['faults: encoding'] == '1'
    assert rows(report)['latency p50 ms'] == '20.0'
    health.frame_in()
    health.result_out(0.030)
    clock.now += 1.0
    report = health.report()
    assert report.level == OK and report.message == '1.0 results/s, latency p50 20.0 ms'
    assert rows(report)['faults'] == '2'  # totals stay


def test_drops_warn_only_where_the_node_counts_them():
    clock = Clock()
    health = Health(clock=clock)
    health.frame_in()
    health.drop()
    report = health.report()
    assert report.level == WARN and '1 images dropped' in report.message and rows(report)['dropped'] == '1'
    quiet = Health(counts_drops=False, clock=clock)
    quiet.frame_in()
    assert 'dropped' not in rows(quiet.report())


def test_stale_input_warns_and_a_problem_is_an_error():
    clock = Clock()
    health = Health(stale_after=5.0, clock=clock)
    health.frame_in()
    clock.now += 6.0
    assert health.report().level == WARN and 'no images for 6 s' in health.report().message
    report = health.report('source unavailable: /dev/video0 gone', [('source', 'webcam')])
    assert report.level == ERROR and report.message == 'source unavailable: /dev/video0 gone'
    assert rows(report)['source'] == 'webcam'
