from vision_classifier.core.rate_limit import FaultLog


def test_each_kind_is_reported_once_per_period_and_all_are_counted():
    now = [0.0]
    log = FaultLog(period=5.0, clock=lambda: now[0])
    assert [log.report('step'), log.report('step'), log.report('encoding')] == [True, False, True]
    now[0] = 5.0
    assert log.report('step') is True
    assert log.counts == {'step': 3, 'encoding': 1} and log.total == 4
