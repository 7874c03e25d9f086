"""Run every node of a translated config in one process (for machines without ros2 launch), applying edits of the
config file while it runs."""
import dataclasses
import signal
import sys
import threading
import time
from pathlib import Path

import rclpy
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from vision_classifier_msgs.msg import Classifications

from .file_watch import FileWatch
from .reconfigure import check_models, diff
from .ros_common import StartupError


def node_classes():
    from .camera_node import CameraNode
    from .classifier_node import ClassifierNode
    from .overlay_node import OverlayNode
    return {'camera_node': CameraNode, 'classifier_node': ClassifierNode, 'overlay_node': OverlayNode}


def create_node(spec, context=None):
    """The node of a NodeSpec, with its parameters and remappings, as `ros2 launch` would start it."""
    remaps = [arg for source, target in spec.remappings for arg in ('-r', f'{source}:={target}')]
    return node_classes()[spec.executable](
        spec.name, context=context, cli_args=['--ros-args', *remaps],
        parameter_overrides=[Parameter(key, value=value) for key, value in spec.parameters.items()])


def format_result(msg):
    stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
    found = ', '.join(f'{c.class_name} {c.confidence:.2f}' for c in msg.classifications) or '(none)'
    return f'{msg.header.frame_id or "image"} @ {stamp:.3f}: {found}'


class Watcher:
    """Prints each classifier's results (at most one line per `echo_period` seconds per classifier; 0: every
    result) and counts annotated frames; `done` once `frames` annotated."""

    def __init__(self, plan, context, frames=0, echo=print, on_done=None, echo_period=1.0):
        self.node = rclpy.create_node('vision_classifier_watcher', context=context)
        self.annotated = 0
        self.frames = frames
        self.done = threading.Event()
        self.on_done = on_done
        self.echo, self.echo_period, self.echoed = echo, echo_period, {}
        self.subscriptions = {}  # node name -> (kind, subscription)
        self.follow(plan)

    def follow(self, plan):
        """Subscribe to the plan's classifiers and overlays; unsubscribe from nodes no longer in it. Not while the
        node spins."""
        wanted = {spec.name: spec.kind for spec in plan.nodes if spec.kind in ('classifier', 'overlay')}
        for name in [n for n, (kind, _) in self.subscriptions.items() if wanted.get(n) != kind]:
            self.node.destroy_subscription(self.subscriptions.pop(name)[1])
        for name, kind in wanted.items():
            if name in self.subscriptions:
                continue
            if kind == 'classifier':
                subscription = self.node.create_subscription(
                    Classifications, f'/{name}/classifications', lambda msg, name=name: self._on_results(name, msg),
                    10)
            else:
                subscription = self.node.create_subscription(Image, f'/{name}/image', self._on_annotated, 10)
            self.subscriptions[name] = (kind, subscription)

    def _on_results(self, name, msg):
        now = time.monotonic()
        if now - self.echoed.get(name, -float('inf')) >= self.echo_period:
            self.echoed[name] = now
            self.echo(f'[{name}] {format_result(msg)}')

    def _on_annotated(self, _msg):
        self.annotated += 1
        if self.frames and self.annotated >= self.frames:
            self.done.set()
            if self.on_done:
                self.on_done()


class NodeThread:
    """A node spun by a single-threaded executor of its own in a thread of its own, as in a process of its own:
    nodes work in parallel, each node's callbacks one at a time. `stop()` ends the spinning (a callback in progress
    finishes) and joins the thread; then the node may be changed or destroyed safely. A callback that raises, or a
    shut-down context, sets `stop_all`."""

    def __init__(self, node, stop_all, failures):
        self.node, self.stop_all, self.failures = node, stop_all, failures
        self.executor = SingleThreadedExecutor(context=node.context)
        self.executor.add_node(node)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._spin, name=node.get_name())
        self.thread.start()

    def _spin(self):
        try:
            while not self.stopping.is_set() and not self.stop_all.is_set() and self.node.context.ok():
                self.executor.spin_once(timeout_sec=0.1)
        except ExternalShutdownException:
            pass
        except Exception as e:  # a callback failed: stop, report, exit non-zero
            self.failures.append(e)
        finally:
            if not self.stopping.is_set():
                self.stop_all.set()

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.executor.shutdown()


def run(plan, frames=0, duration=0.0, echo=print, args=None, echo_period=1.0, config_path=None, load_config=None,
        web=None):
    """Spin all nodes of `plan` until Ctrl-C, SIGTERM, `frames` annotated frames or `duration` seconds; returns
    an exit code.

    Each node spins in a NodeThread. Stopping goes in order: every thread finishes its callback and is joined,
    then the nodes are destroyed (consumers first) and the context shut down last, so no callback runs on a
    destroyed node or a shut-down context. (rclpy's MultiThreadedExecutor.shutdown() destroys its guard condition
    before its worker threads end, and a callback still queued then fails.) SIGINT and SIGTERM only ask for that
    stop: rclpy installs no signal handlers for a context of our own.

    With `config_path`, edits of that file are applied while running: `load_config()` gives the new Plan (or None
    for a config with problems, which it reports); see LiveConfig. With `web` = (host, port), a web node serves the
    control page too, following the config's edits."""
    stop = threading.Event()
    previous = _catch_stop_signals(stop)
    context = rclpy.Context()
    rclpy.init(args=args, context=context)
    nodes, threads, failures, live, web_node = [], [], [], None, None
    try:
        for spec in plan.nodes:
            nodes.append(create_node(spec, context))
        watcher = Watcher(plan, context, frames, echo, on_done=stop.set, echo_period=echo_period)
        nodes.append(watcher.node)
        if web:
            from .web_node import create_web_node
            web_node = create_web_node(plan, *web, context=context)
            nodes.append(web_node)
            print(f'control page: {web_node.server.url}', flush=True)
        threads.extend(NodeThread(node, stop, failures) for node in nodes)
        if config_path:
            live = LiveConfig(config_path, load_config, plan, threads, watcher,
                              lambda node: NodeThread(node, stop, failures), web_node)
        print(f'running {len(plan.nodes)} node(s): {", ".join(s.name for s in plan.nodes)} (Ctrl-C to stop)',
              flush=True)
        deadline = time.monotonic() + duration if duration > 0 else None
        while not stop.wait(0.1) and (deadline is None or time.monotonic() < deadline):
            if live:
                live.poll()
    except (StartupError, ParameterException) as e:
        print(f'[{_starting(plan, nodes)}] cannot start: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the handlers were in place, or off the main thread
        pass
    finally:
        stop.set()
        if live:
            live.stop()
        for thread in threads:
            thread.stop()
        for node in reversed(live.nodes() if live else nodes):
            node.destroy_node()
        rclpy.try_shutdown(context=context)
        _restore_signals(previous)
    if failures:
        print(f'stopped: {type(failures[0]).__name__}: {failures[0]}', file=sys.stderr)
        return 1
    return 0


def _starting(plan, nodes):
    """The config's name of the node being created when creation failed."""
    return plan.nodes[len(nodes)].name if len(nodes) < len(plan.nodes) else 'vision_classifier_watcher'


def _catch_stop_signals(stop):
    """SIGINT and SIGTERM set `stop` (only the main thread may install handlers); returns the previous ones."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signals(previous):
    for sig, handler in previous.items():
        signal.signal(sig, handler)


# --- Live reconfiguration: edits of the config file applied to the running nodes -------------------------------

def log(line):
    print(line, file=sys.stderr, flush=True)


def typed_parameter(node, name, value):
    """A Parameter of the type `node` declared (so [] is an empty string or double array, not a byte array)."""
    return Parameter(name, Parameter.Type(node.describe_parameter(name).type), value)


class LiveConfig:
    """Watches the config file; on a change translates and checks it (a config with problems changes nothing),
    then applies reconfigure.diff to the running nodes: parameters set (a model swapped by its classifier), nodes
    added, removed or replaced, the others untouched. Each change is logged in one line."""

    def __init__(self, path, load_config, plan, threads, watcher, spin, web_node=None):
        self.path, self.load_config, self.plan = Path(path), load_config, plan
        self.threads, self.watcher = threads, watcher  # `threads`: run()'s NodeThreads, kept current
        self.spin = spin  # node -> its NodeThread
        self.web_node = web_node
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
        if self.web_node is not None:
            self._paused(self.web_node, self._show_on_web)

    def _paused(self, node, change):
        """change() while `node` does not spin: its subscriptions change."""
        thread = next(t for t in self.threads if t.node is node)
        thread.stop()
        self.threads.remove(thread)
        change()
        self._start(node)

    def _show_on_web(self):
        from .web_node import SHOWN, web_parameters
        values = web_parameters(self.plan)
        result = self.web_node.set_parameters_atomically(
            [typed_parameter(self.web_node, name, values.get(name, [])) for name in SHOWN])
        if not result.successful:
            log(f'{self.path}: control page not changed: {result.reason}')

    def _log_lines(self, changes, name):
        for line in changes.lines_of(name):
            log(f'{self.path}: {line}')

    def stop(self):
        if self.watch is not None:
            self.watch.stop()
