"""Live reconfiguration: edits of the config file applied to the running nodes of `vision_classifier run`."""
import dataclasses
from pathlib import Path
import sys

from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException

from vision_classifier.core.file_watch import FileWatch
from vision_classifier.core.output import write_line
from vision_classifier.core.reconfigure import check_models, diff
from vision_classifier.nodes.factory import create_node
from vision_classifier.nodes.main import StartupError
from vision_classifier.nodes.parameters import typed_parameter


def log(line):
    write_line(line, sys.stderr)


class LiveConfig:
    """
    Watches the config file and applies its edits to the running nodes.

    On a change it translates and checks the config (a config with problems changes nothing), then applies
    reconfigure.diff to the running nodes: parameters set (a model swapped by its classifier), nodes added, removed
    or replaced, the others untouched. Each change is logged in one line.
    """

    def __init__(self, path, load_config, plan, threads, watcher, spin, followers=()):
        self.path, self.load_config, self.plan = Path(path), load_config, plan
        self.threads, self.watcher = threads, watcher  # `threads`: run()'s NodeThreads, kept current
        self.spin = spin  # node -> its NodeThread
        self.followers = followers  # (node, follow(node, plan) -> problem or None): nodes that show the config
        self.text = self._read()
        try:
            self.watch = FileWatch(path)
        except OSError as e:
            self.watch = None
            log(f'{path}: cannot watch for changes ({e.strerror or e}); edits need a restart')

    def _read(self):
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    def poll(self):
        if self.watch is None or not self.watch.changed():
            return
        text = self._read()
        if text == self.text:
            return
        self.text = text
        plan = self.load_config()
        if plan is None:
            log(f'{self.path}: not applied; the running nodes are unchanged')
            return
        self.apply(plan)

    def nodes(self):
        return [thread.node for thread in self.threads]

    def _thread(self, name):
        return next(t for t in self.threads if t.node is not self.watcher.node and t.node.get_name() == name)

    def _node(self, name):
        return self._thread(name).node

    def _stop(self, name):
        thread = self._thread(name)
        thread.stop()
        self.threads.remove(thread)
        thread.node.destroy_node()

    def _start(self, node):
        self.threads.append(self.spin(node))

    def apply(self, new):
        changes = diff(self.plan, new)
        if not changes:
            log(f'{self.path}: no changes to apply')
            return
        problems = check_models(changes, new)
        if problems:
            log(f'{self.path}: {len(problems)} problem(s):\n' + '\n'.join(f'  {p}' for p in problems))
            log(f'{self.path}: not applied; the running nodes are unchanged')
            return
        applied = {spec.name: spec for spec in self.plan.nodes}
        for name in changes.remove + [spec.name for spec in changes.replace]:
            self._stop(name)
            del applied[name]
            if name in changes.remove:
                self._log_lines(changes, name)
        for name, values in changes.parameters.items():
            node = self._node(name)
            try:
                result = node.set_parameters_atomically([typed_parameter(node, k, v) for k, v in values.items()])
            except (ParameterException, TypeError) as e:
                result = SetParametersResult(successful=False, reason=str(e))
            if result.successful:
                applied[name] = new.node(name)
                self._log_lines(changes, name)
            else:
                log(f'{self.path}: {name}: not changed: {result.reason}')
        for spec in changes.add + changes.replace:
            try:
                node = create_node(spec, self.watcher.node.context)
            except (StartupError, ParameterException) as e:
                log(f'{self.path}: {spec.name}: cannot start: {e}')
                continue
            self._start(node)
            applied[spec.name] = spec
            self._log_lines(changes, spec.name)
        self.plan = dataclasses.replace(new, nodes=[applied[spec.name] for spec in new.nodes if spec.name in applied])
        self._paused(self.watcher.node, lambda: self.watcher.follow(self.plan))
        for node, follow in self.followers:
            self._paused(node, lambda node=node, follow=follow: self._follow(node, follow))

    def _paused(self, node, change):
        """change() while `node` does not spin: its subscriptions change."""
        thread = next(t for t in self.threads if t.node is node)
        thread.stop()
        self.threads.remove(thread)
        change()
        self._start(node)

    def _follow(self, node, follow):
        problem = follow(node, self.plan)
        if problem:
            log(f'{self.path}: {node.get_name()} not changed: {problem}')

    def _log_lines(self, changes, name):
        for line in changes.lines_of(name):
            log(f'{self.path}: {line}')

    def stop(self):
        if self.watch is not None:
            self.watch.stop()
