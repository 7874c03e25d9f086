"""Rate-limited reporting of repeated faults, counted per kind."""
from collections import Counter
import time


class FaultLog:
    """Counts faults per kind; `report` says whether to log now (once per `period` seconds per kind)."""

    def __init__(self, period=5.0, clock=time.monotonic):
        self.period = period
        self.clock = clock
        self.counts = Counter()
        self._last = {}

    def report(self, kind):
        self.counts[kind] += 1
        now = self.clock()
        if now - self._last.get(kind, -float('inf')) >= self.period:
            self._last[kind] = now
            return True
        return False

    @property
    def total(self):
        return sum(self.counts.values())
