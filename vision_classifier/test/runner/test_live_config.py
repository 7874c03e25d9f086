"""`vision_classifier run CONFIG` applies edits of CONFIG while it runs; FileWatch notices edits."""
import json
import os
from pathlib import Path
import re
import threading
import time
import urllib.request

from support import DEFAULT_MODEL, fixture_model, PHOTOS, TIMEOUT
from vision_classifier.core.file_watch import FileWatch
from watchdog.events import FileSystemEventHandler

COLORS = fixture_model('with_metadata.tflite')  # 4 classes named in its metadata
COLOR_LABELS = {'red', 'green', 'blue', 'gray'}
ITEM = r'[^,]+ \d\.\d\d'  # a label and its confidence
# A result line: `[node] photos @ <stamp>: label 0.73, label 0.12` or `(none)`; other lines are not results
RESULT = re.compile(rf'\[(\w+)\] photos @ (\d+\.\d{{3}}): ({ITEM}(?:, {ITEM})*|\(none\))')
CONTROL_PAGE = re.compile(r'control page: (http://\S+/)')


def save(path, config, in_place=False):
    """Write the config in place, or as an editor does: a new file renamed over the old one."""
    text = json.dumps(config, indent=2) if isinstance(config, dict) else config
    if in_place:
        path.write_text(text)
    else:
        temp = path.with_name(path.name + '.swp')
        temp.write_text(text)
        os.replace(temp, path)


def robot(model=str(DEFAULT_MODEL), **vision_attributes):
    return {
        'components': [{'name': 'photos', 'type': 'camera', 'model': 'image_folder',
                        'attributes': {'folder_path': str(PHOTOS), 'frame_rate': 10}}],
        'services': [
            {'name': 'net', 'type': 'mlmodel', 'model': 'tflite_cpu', 'attributes': {'model_path': model}},
            {'name': 'my_classifier', 'type': 'vision', 'model': 'mlmodel',
             'attributes': {'mlmodel_name': 'net', 'camera_name': 'photos', **vision_attributes}}],
    }


class RunLog:
    """The output of the running command: lines, and results as (node, stamp, [(label, confidence)])."""

    def __init__(self, process):
        self.process = process

    def lines(self):
        return self.process.log().splitlines()

    def wait(self, found, what, timeout=TIMEOUT):
        """Return the first truthy found(lines), waiting for it while the command runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.proc.poll() is None:
            value = found(self.lines())
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f'waited for {what}:\n{self.process.log()}')

    def wait_line(self, text, start=0):
        """Return the index of the first line from `start` on holding `text`."""
        return self.wait(lambda lines: next((i + 1 for i, line in enumerate(lines[start:], start) if text in line),
                                            None), text) - 1

    @staticmethod
    def results(lines, node='my_classifier', since=0.0):
        """Return (stamp, [(label, confidence)]) of the result lines of `node` of frames taken after `since`."""
        found = []
        for line in lines:
            match = RESULT.fullmatch(line)
            if match and match[1] == node and float(match[2]) > since:
                pairs = [] if match[3] == '(none)' else [c.rsplit(' ', 1) for c in match[3].split(', ')]
                found.append((float(match[2]), [(label, float(conf)) for label, conf in pairs]))
        return found

    def wait_results(self, count, node='my_classifier', since=0.0):
        """Return `count` results of frames captured after `since` (a wall-clock time, as camera stamps are)."""
        return self.wait(lambda lines: (lambda r: r if len(r) >= count else None)(self.results(lines, node, since)),
                         f'{count} results of {node} after {since}')


def control_page(url):
    """Return the names of the cameras and of the vision services with results that the control page shows."""
    with urllib.request.urlopen(url + 'status.json', timeout=TIMEOUT) as response:
        status = json.load(response)
    return ({c['name'] for c in status['cameras']},
            {v['name'] for v in status['classifiers'] if v['classifications']})


def labels(results):
    return {label for _, pairs in results for label, _ in pairs}


def test_run_applies_edits_of_its_config_without_restarting(tmp_path, start_node, monkeypatch):
    monkeypatch.setenv('PYTHONUNBUFFERED', '1')
    config_file = tmp_path / 'robot.json'
    save(config_file, robot())
    run = start_node('vision_classifier', args=['run', str(config_file), '--echo', '--web', '127.0.0.1:0'],
                     name='run')
    log = RunLog(run)
    first = log.wait_results(2)
    url = log.wait(lambda lines: next((m[1] for m in map(CONTROL_PAGE.fullmatch, lines) if m), None),
                   'the control page')
    log.wait(lambda _: control_page(url) == ({'photos'}, {'my_classifier'}), 'my_classifier on the page')
    assert any(confidence < 0.5 for _, pairs in first for _, confidence in pairs)

    # a threshold: a parameter of the running node
    save(config_file, robot(default_minimum_confidence=0.5), in_place=True)
    log.wait_line('robot.json: my_classifier: default_minimum_confidence 0.0 -> 0.5')
    filtered = log.wait_results(3, since=time.time())
    assert all(confidence >= 0.5 for _, pairs in filtered for _, confidence in pairs), filtered

    # another model: loaded beside the old one, which classifies the frames until the swap
    edited = time.time()
    save(config_file, robot(COLORS))
    log.wait_line(f'model: {DEFAULT_MODEL} -> {COLORS} (4 classes, input [1, 8, 8, 3] float32)')
    swapped = time.time()
    assert labels(log.wait_results(3, since=swapped)) <= COLOR_LABELS
    results = log.results(log.lines(), since=edited)
    new_model = [bool(pairs) and labels([(stamp, pairs)]) <= COLOR_LABELS for stamp, pairs in results]  # (none): 0.5
    print(f'\n{new_model.count(False)} results of the old model after the edit, until the new one was swapped in')
    assert new_model[-1] is True, results          # the new model in the end
    assert new_model == sorted(new_model), results  # and never the old one after it

    # broken edits change nothing and say why
    broken = [('{"components": [', 'robot.json: invalid JSON at line 1, column 17'),
              (robot(str(tmp_path / 'none.tflite')), f'model_path: no such file {tmp_path / "none.tflite"}')]
    corrupt = tmp_path / 'corrupt.tflite'
    corrupt.write_bytes(Path(COLORS).read_bytes()[:300])
    broken.append((robot(str(corrupt)), f'my_classifier: model_path {corrupt}: cannot load'))
    for count, (config, problem) in enumerate(broken, 1):
        save(config_file, config)
        log.wait_line(problem)
        log.wait(lambda lines: sum('robot.json: not applied; the running nodes are unchanged' in line
                                   for line in lines) == count, f'refusal {count}')
    assert labels(log.wait_results(3, since=time.time())) <= COLOR_LABELS

    # a second vision service starts a node; the running ones are untouched
    second = robot(COLORS)
    second['services'] += [
        {'name': 'quant', 'type': 'mlmodel', 'model': 'tflite_cpu',
         'attributes': {'model_path': fixture_model('uint8_quant.tflite')}},
        {'name': 'second', 'type': 'vision', 'model': 'mlmodel',
         'attributes': {'mlmodel_name': 'quant', 'camera_name': 'photos'}}]
    save(config_file, second)
    added = log.wait_line('robot.json: added second (classifier_node)')
    now = time.time()
    assert labels(log.wait_results(2, 'second', since=now)) <= {'1', '2', '3', '4'}
    assert labels(log.wait_results(2, since=now)) <= COLOR_LABELS
    assert [line for line in log.lines()[added + 1:] if line.startswith(str(config_file))] == []
    log.wait(lambda _: control_page(url) == ({'photos'}, {'my_classifier', 'second'}), 'second on the page')

    # and removing it stops that node: a result of it printed later is of a frame taken before
    save(config_file, robot(COLORS))
    removed = log.wait_line('robot.json: removed second')
    removal = time.time()
    log.wait(lambda _: control_page(url) == ({'photos'}, {'my_classifier'}), 'second gone from the page')
    log.wait_results(3, since=time.time())
    late = log.results(log.lines()[removed:], 'second')
    assert all(stamp < removal for stamp, _ in late), (removal, late)

    output = run.log()
    assert output.count('listening on /photos/image_raw') == 2  # my_classifier and second started once each
    assert output.count('[photos]: image_folder') == 1          # the camera was never restarted

    # a camera setting that is not a run-time parameter restarts that camera
    slower = robot(COLORS)
    slower['components'][0]['attributes']['frame_rate'] = 5
    save(config_file, slower)
    log.wait_line('robot.json: replaced photos (frame_rate changed)')
    assert labels(log.wait_results(2, since=time.time())) <= COLOR_LABELS
    assert run.log().count('[photos]: image_folder') == 2
    assert run.stop() == 0
    output = run.log_path.read_text()
    assert 'Traceback' not in output and 'ERROR' not in output


class Barrier(FileSystemEventHandler):
    """Sees the creation of `path`: the events before it have been handed to every handler of the observer."""

    def __init__(self, path):
        self.path, self.seen = str(path), threading.Event()

    def on_created(self, event):
        if event.src_path == self.path:
            self.seen.set()


def test_file_watch_sees_writes_and_renames_of_its_file_only(tmp_path):
    path = tmp_path / 'robot.json'
    path.write_text('{}')
    watch = FileWatch(path, quiet=0.3)
    try:
        def changed():
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                if watch.changed():
                    return True
                time.sleep(0.02)
            return False

        path.write_text('{"a": 1}')
        assert changed()
        assert not watch.changed()  # once per edit
        save(path, {'b': 2})        # a new file renamed over it
        assert changed()
        path.read_text()            # reading it, or writing a file beside it, is no edit
        (tmp_path / 'other.json').write_text('{}')
        # once the watch has had those events (they come in order, before the barrier's) and its quiet time has
        # passed, it would say changed if it had taken them for an edit
        barrier = Barrier(tmp_path / 'barrier')
        watch._observer.schedule(barrier, str(tmp_path))
        (tmp_path / 'barrier').touch()
        assert barrier.seen.wait(TIMEOUT)
        time.sleep(watch.quiet)
        assert not watch.changed()
        path.write_text('{"c": 3}')  # and a real edit is seen, once
        assert changed()
        assert not watch.changed()
    finally:
        watch.stop()
