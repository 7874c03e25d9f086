"""The bench's report: a table, a verdict in words, a plot and one JSON object."""
from importlib import metadata
import os
from pathlib import Path

import numpy as np

from vision_classifier.bench.measure import pct
from vision_classifier.core.fastdds import profile_in


def litert_version():
    for name in ('ai-edge-litert', 'tflite-runtime'):
        try:
            return f'{name} {metadata.version(name)}'
        except metadata.PackageNotFoundError:
            pass
    return 'unknown'


def device():
    cpu = ''
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            key, _, value = line.partition(':')
            if key.strip() in ('model name', 'Hardware', 'Model') and value.strip():
                cpu = value.strip()
                break
    except OSError:
        pass
    return {'cpu': cpu or 'unknown', 'cores': os.cpu_count(), 'litert': litert_version()}


def rmw():
    """Return the RMW implementation and the Fast DDS profile file in use, if any (large images depend on it)."""
    from rclpy.utilities import get_rmw_implementation_identifier
    return {'implementation': get_rmw_implementation_identifier(),
            'fastdds_profiles_file': profile_in(os.environ)}


def plot(path, setting, e2e, flooded):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), constrained_layout=True)
    top.plot(*zip(*e2e['series']), '.', markersize=3)
    top.set(title=f'End to end over DDS: {setting}', xlabel='time (s)', ylabel='latency (ms)',
            yscale='log')  # log: the bulk and the outliers both readable
    if flooded['series']:
        bottom.plot(*zip(*flooded['series']), '.', markersize=3)
    bottom.set(title=f'Flood: {flooded["published"]} frames published, {flooded["results"]} results',
               xlabel='time (s)', ylabel='latency (ms)', yscale='log')
    for axes in (top, bottom):
        for axis in (axes.yaxis.set_major_formatter, axes.yaxis.set_minor_formatter):
            axis(FuncFormatter(lambda value, _: f'{value:g}'))
    if flooded['rss']:
        memory = bottom.twinx()
        times, mb = zip(*flooded['rss'])
        memory.plot(times, mb, color='tab:red')
        memory.set_ylim(min(mb) - 1, max(max(mb), min(mb) + 10) + 1)  # a 10 MB span at least: noise looks small
        memory.set_ylabel('classifier VmRSS (MB)', color='tab:red')
    fig.savefig(path, dpi=100)
    plt.close(fig)


def rounded(value, digits=3):
    return None if value is None else round(float(value), digits)


KEEPS_UP = 0.98  # a camera is kept up with when at least this share of its frames gets a result


def pace(e2e, work_ms, invoke_ms, num_threads, threads):
    """
    Say in words whether the classifier kept up with the camera, from what was measured (results against frames).

    Adds what other num_threads would change, from the sweep: the node's work with the invoke time of that many
    threads.
    """
    frames, results, fps_in = e2e['frames_in'], e2e['results_out'], e2e['fps_in']
    period = 1000.0 / fps_in if fps_in > 0 else float('inf')
    if results >= KEEPS_UP * frames:
        words = (f'inference keeps up with the camera: {results} results for {frames} frames ({fps_in:.1f} fps), '
                 f'{work_ms:.1f} ms of work per frame with num_threads={num_threads}.')
    else:
        words = (f'inference is slower than the camera: {results} results for {frames} frames '
                 f'({e2e["fps_out"]:.1f} of {fps_in:.1f} frames/s classified, {work_ms:.1f} ms of work per frame '
                 f'with num_threads={num_threads}); the classifier skips the others (it always takes the newest '
                 'frame).')
    options = []
    same = threads.get(str(num_threads))
    for n, invoke_n in threads.items():
        # the sweep's invoke time relative to its own at num_threads (runs minutes apart differ under load)
        estimate = max(work_ms - invoke_ms + (invoke_ms * invoke_n / same if same else invoke_n), 1e-3)
        verdict = 'would keep up' if estimate <= period else 'slower than the camera'
        options.append(f'num_threads={n}: ~{estimate:.1f} ms per frame, ~{1000 / estimate:.0f} fps ({verdict})')
    if len(threads) > 1:
        words += ' ' + '; '.join(options) + '.'
    else:
        words += ' (--threads-max N shows what more threads would change.)'
    return words


def summary(model_path, setting, invoke, node, threads, e2e, flooded, plot_path, invoke_cpu_ms):
    rss = [mb for _, mb in flooded['rss']]
    # Growth is counted from 2 s into the flood: connecting maps the publisher's shared-memory segment once.
    settled = [mb for t, mb in flooded['rss'] if t >= 2.0] or rss
    threads_ms = {str(n): rounded(np.median(t)) for n, t in threads.items()}
    invoke_ms, node_ms = rounded(np.median(invoke)), rounded(np.median(node))
    return {
        **setting,
        'invoke_ms': invoke_ms, 'invoke_mean_ms': rounded(np.mean(invoke)),
        'node_ms': node_ms, 'node_mean_ms': rounded(np.mean(node)),
        'e2e_p50_ms': rounded(pct(e2e['latency'], 50)), 'e2e_p95_ms': rounded(pct(e2e['latency'], 95)),
        'e2e_p99_ms': rounded(pct(e2e['latency'], 99)),
        'fps_in': rounded(e2e['fps_in'], 2), 'fps_out': rounded(e2e['fps_out'], 2),
        'frames_in': e2e['frames_in'], 'results_out': e2e['results_out'], 'dropped': e2e['dropped'],
        'stale': e2e['late'] + e2e['out_of_order'], 'late': e2e['late'], 'out_of_order': e2e['out_of_order'],
        'keeps_up': e2e['results_out'] >= KEEPS_UP * e2e['frames_in'],
        'pace': pace(e2e, node_ms, invoke_ms, setting['num_threads'], threads_ms),
        'invoke_cpu_ms': rounded(invoke_cpu_ms), 'cpu_ms_per_result': rounded(e2e['cpu_ms_per_result']),
        'flood_p50_ms': rounded(pct(flooded['latency'], 50)), 'flood_p99_ms': rounded(pct(flooded['latency'], 99)),
        'flood_published': flooded['published'], 'flood_publish_failed': flooded['failed'],
        'flood_results': flooded['results'], 'flood_out_of_order': flooded['out_of_order'],
        'flood_published_fps': rounded(flooded['published'] / flooded['seconds'], 1),
        'rss_before_flood_mb': rounded(rss[0] if rss else None, 1),
        'rss_start_mb': rounded(settled[0] if settled else None, 1),
        'rss_end_mb': rounded(settled[-1] if settled else None, 1),
        'rss_max_mb': rounded(max(rss) if rss else None, 1),
        'threads': threads_ms,
        'device': device(), 'model': model_path, 'rmw': rmw(), 'plot': plot_path or None,
    }


def describe_setting(s):
    source = (f'{s["cameras"]} cameras at {s["fps"]:g} fps' if s.get('cameras') else
              f'camera on {s["topic"]}' if s['topic'] else f'{s["fps"]:g} fps')
    return f'{s["size"]} {s["encoding"]}, {source}, num_threads={s["num_threads"]}'


def header(s):
    """Return the first line of a report: model, setting, machine, RMW."""
    return (f'vision_classifier bench: {Path(s["model"]).name}, {describe_setting(s)}; {s["device"]["cpu"]}, '
            f'{s["device"]["cores"]} cores, {s["device"]["litert"]}; {s["rmw"]["implementation"]}, Fast DDS '
            f'profile: {s["rmw"]["fastdds_profiles_file"] or "none"}')


def table(s):
    def ms(value):
        return '-' if value is None else f'{value:8.2f} ms'
    invoke, p50 = s['invoke_ms'], s['e2e_p50_ms']
    flood_p99, rss_growth = s['flood_p99_ms'], (s['rss_end_mb'] or 0) - (s['rss_start_mb'] or 0)
    goal = {True: 'ok', False: 'MISSED'}
    cpu = s['cpu_ms_per_result']
    rows = [
        header(s),
        '',
        f'1 LiteRT invoke, {s["num_threads"]} thread(s)     median {ms(invoke)}  mean {ms(s["invoke_mean_ms"])}',
        f'2 classifications_for()          median {ms(s["node_ms"])}  mean {ms(s["node_mean_ms"])}  '
        f'2/1 = {s["node_ms"] / invoke:.2f}  (goal <= 1.05: {goal[s["node_ms"] <= 1.05 * invoke]})',
        f'3 end to end over DDS            p50 {ms(p50)}  p95 {ms(s["e2e_p95_ms"])}  p99 {ms(s["e2e_p99_ms"])}  '
        f'3/1 = {p50 / invoke:.2f}  (goal p50 <= invoke + 1.5 ms: {goal[p50 <= invoke + 1.5]})',
        f'                                 classifier CPU per result {ms(cpu)}  = '
        f'{cpu / s["invoke_cpu_ms"]:.2f} x the invoke\'s {s["invoke_cpu_ms"]:.2f} ms  '
        f'(goal <= 1.15: {goal[cpu <= 1.15 * s["invoke_cpu_ms"]]})',
        f'                                 frames in {s["frames_in"]} ({s["fps_in"]:.1f}/s), results '
        f'{s["results_out"]} ({s["fps_out"]:.1f}/s), dropped {s["dropped"]}, stale {s["stale"]}  '
        f'(goal none dropped or stale: {goal[not s["dropped"] and not s["stale"]]})',
    ]
    if s['topic'] or not s['flood_published']:
        rows.append('4 flood                          skipped' + (
            ': --topic measures a running camera' if s['topic'] else ''))
    else:
        rows += [
            f'4 flood                          p50 {ms(s["flood_p50_ms"])}  p99 {ms(flood_p99)}  '
            f'(goal p99 <= 3 x p50 of 3: {goal[flood_p99 is not None and flood_p99 <= 3 * p50]})',
            f'                                 published {s["flood_published"]} ({s["flood_published_fps"]:.0f}/s), '
            f'{s["flood_publish_failed"]} publish() calls failed, results {s["flood_results"]}',
            f'                                 classifier RSS {s["rss_before_flood_mb"]} before, '
            f'{s["rss_start_mb"]} at 2 s -> {s["rss_end_mb"]} MB at the end '
            f'(max {s["rss_max_mb"]})  (goal growth < 5 MB: {goal[rss_growth < 5]})',
        ]
    rows += ['5 num_threads                    ' + ',  '.join(
        f'{n}: {t:.2f} ms ({1000 / t:.1f} fps)' for n, t in s['threads'].items()), '', s['pace']]
    if s['plot']:
        rows.append(f'plot: {s["plot"]}')
    return '\n'.join(rows)
