"""
What a node reports about itself on /diagnostics.

Counts, rates, latency percentiles, faults by kind, a level and a message. Pure bookkeeping (no rclpy);
`diagnostics.py` publishes it.
"""
from collections import Counter, deque
from dataclasses import dataclass, field
import time

OK, WARN, ERROR = 0, 1, 2
LATENCY_WINDOW = 1000


def percentile(values, q):
    """Return the q-th percentile of `values` (q: 0..100), linear between the closest ranks; None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Report:
    level: int
    message: str
    values: list = field(default_factory=list)   # [(key, text)]


class Health:
    """
    Count what comes in, what goes out, what was dropped, and faults per kind.

    Drops are counted when the node can know them (`counts_drops`). The latencies of the last `window` outputs are
    kept. `report()` sums it up and starts a new period: rates and warnings cover the period since the previous
    report.
    """

    def __init__(self, inputs='images', outputs='results', counts_drops=True, window=LATENCY_WINDOW,
                 stale_after=5.0, clock=time.monotonic, drops='dropped', drops_warn=True):
        self.inputs, self.outputs, self.counts_drops, self.drops = inputs, outputs, counts_drops, drops
        self.drops_warn = drops_warn  # False where dropping is by design (a busy model skips to the newest frame)
        self.clock = clock
        self.stale_after = stale_after
        self.received = self.published = self.dropped = 0
        self.faults = Counter()
        self.latencies = deque(maxlen=window)
        self.last_received = None
        self._start = clock()
        self._at_start = (0, 0, 0, Counter())

    def frame_in(self):
        self.received += 1
        self.last_received = self.clock()

    def result_out(self, latency=None):
        """Count one output; `latency` in seconds from the image's stamp, when known."""
        self.published += 1
        if latency is not None:
            self.latencies.append(latency)

    def drop(self, count=1):
        self.dropped += count

    def fault(self, kind):
        self.faults[kind] += 1

    def report(self, problem=None, values=(), warnings=()):
        """
        Return the Report of the period since the last one.

        ERROR with `problem` (a text) when given; WARN with `warnings` (texts: why nothing comes in), on faults or
        drops in the period, or when inputs stopped coming; else OK. `values` are more (key, text) rows.
        """
        now = self.clock()
        seconds = max(now - self._start, 1e-9)
        received, published, dropped, faults = self._at_start
        new_faults = self.faults - faults
        new_in, new_out, new_dropped = self.received - received, self.published - published, self.dropped - dropped
        self._start, self._at_start = now, (self.received, self.published, self.dropped, Counter(self.faults))

        p50, p95 = percentile(self.latencies, 50), percentile(self.latencies, 95)
        rows = [(f'{self.inputs} in', str(self.received)), (f'{self.outputs} out', str(self.published))]
        if self.counts_drops:
            rows.append((self.drops, str(self.dropped)))
        rows += [('faults', str(sum(self.faults.values()))),
                 (f'{self.inputs} in per second', f'{new_in / seconds:.1f}'),
                 (f'{self.outputs} out per second', f'{new_out / seconds:.1f}'),
                 ('latency p50 ms', _ms(p50)), ('latency p95 ms', _ms(p95)),
                 ('latency samples', str(len(self.latencies)))]
        rows += [(f'faults: {kind}', str(count)) for kind, count in sorted(self.faults.items())]
        rows += list(values)

        summary = f'{new_out / seconds:.1f} {self.outputs}/s'
        if p50 is not None:
            summary += f', latency p50 {p50 * 1000:.1f} ms'
        if problem:
            return Report(ERROR, problem, rows)
        warnings = list(warnings)
        if new_faults:
            kinds = ', '.join(f'{count} {kind}' for kind, count in sorted(new_faults.items()))
            warnings.append(f'{sum(new_faults.values())} fault(s) in the last {seconds:.0f} s ({kinds})')
        if self.counts_drops and self.drops_warn and new_dropped:
            warnings.append(f'{new_dropped} {self.inputs} {self.drops} in the last {seconds:.0f} s')
        if self.last_received is not None and now - self.last_received > self.stale_after:
            warnings.append(f'no {self.inputs} for {now - self.last_received:.0f} s')
        if warnings:
            return Report(WARN, '; '.join(warnings + [summary]), rows)
        if not self.received:
            return Report(OK, f'waiting for {self.inputs}', rows)
        return Report(OK, summary, rows)


def _ms(seconds):
    return '' if seconds is None else f'{seconds * 1000:.1f}'
