"""Run every node of a translated config in one process, on one executor (for machines without ros2 launch)."""
import sys
import threading
import time
from pathlib import Path

import rclpy
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from vision_classifier_msgs.msg import Classifications

from .config import Plan
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
    """Prints each classifier's results and counts annotated frames; `done` once `frames` annotated."""

    def __init__(self, plan, context, frames=0, echo=print):
        self.node = rclpy.create_node('vision_classifier_watcher', context=context)
        self.annotated = 0
        self.frames = frames
        self.done = threading.Event()
        self.echo = echo
        self.subscriptions = {}  # node name -> (kind, subscription)
        self.follow(plan)

    def follow(self, plan):
        """Subscribe to the plan's classifiers and overlays; unsubscribe from nodes no longer in it."""
        wanted = {spec.name: spec.kind for spec in plan.nodes if spec.kind in ('classifier', 'overlay')}
        for name in [n for n, (kind, _) in self.subscriptions.items() if wanted.get(n) != kind]:
            self.node.destroy_subscription(self.subscriptions.pop(name)[1])
        for name, kind in wanted.items():
            if name in self.subscriptions:
                continue
            if kind == 'classifier':
                subscription = self.node.create_subscription(
                    Classifications, f'/{name}/classifications',
                    lambda msg, name=name: self.echo(f'[{name}] {format_result(msg)}'), 10)
            else:
                subscription = self.node.create_subscription(Image, f'/{name}/image', self._on_annotated, 10)
            self.subscriptions[name] = (kind, subscription)

    def _on_annotated(self, _msg):
        self.annotated += 1
        if self.frames and self.annotated >= self.frames:
            self.done.set()


def run(plan, frames=0, duration=0.0, echo=print, args=None, config_path=None, load_config=None):
    """Spin all nodes of `plan` until Ctrl-C, `frames` annotated frames or `duration` seconds; returns an exit code.

    With `config_path`, edits of that file are applied while running: `load_config()` gives the new Plan (or None
    for a config with problems, which it reports); see LiveConfig."""
    context = rclpy.Context()
    rclpy.init(args=args, context=context)
    nodes, executor, failure, live, spinner = [], None, [], None, None

    def spin():
        try:
            executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        except Exception as e:  # a callback failed: stop, report, exit non-zero
            failure.append(e)

    try:
        for spec in plan.nodes:
            nodes.append(create_node(spec, context))
        watcher = Watcher(plan, context, frames, echo)
        nodes.append(watcher.node)
        executor = MultiThreadedExecutor(num_threads=max(2, len(nodes)), context=context)
        for node in nodes:
            executor.add_node(node)
        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        if config_path:
            live = LiveConfig(config_path, load_config, plan, nodes, executor, watcher)
        deadline = time.monotonic() + duration if duration else None
        while not watcher.done.wait(0.1) and spinner.is_alive():
            if deadline and time.monotonic() > deadline:
                break
            if live:
                live.poll()
    except (StartupError, ParameterException) as e:
        print(f'cannot start: {e}', file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if live:
            live.stop()
        if executor is not None:
            executor.shutdown()
        if spinner is not None:
            spinner.join(10)  # a thread still in rclpy's wait when Python exits aborts the process
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=context)
    if failure:
        print(f'stopped: {type(failure[0]).__name__}: {failure[0]}', file=sys.stderr)
        return 1
    return 0


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

    def __init__(self, path, load_config, plan, nodes, executor, watcher):
        self.path, self.load_config, self.plan = Path(path), load_config, plan
        self.nodes, self.executor, self.watcher = nodes, executor, watcher  # `nodes`: run()'s list, kept current
        self.text = self._read()
        self._cycled = threading.Event()
        self._cycle_guard = watcher.node.create_guard_condition(self._cycled.set)
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

    def _node(self, name):
        return next(node for node in self.nodes if node is not self.watcher.node and node.get_name() == name)

    def _executor_cycle(self, timeout=5.0):
        """Returns once the executor has run a callback of a wait set built after this call."""
        self._cycled.clear()
        self._cycle_guard.trigger()
        self._cycled.wait(timeout)

    def _stop(self, node, timeout=10.0):
        """Remove a node from the spinning executor and destroy it safely: each of its callback groups is taken
        for good (a callback in progress finishes, no new one starts), and the executor has built two wait sets
        without it (rclpy's executor fails on entities destroyed while it builds a wait set of them)."""
        self.executor.remove_node(node)
        entities = [*node.subscriptions, *node.timers, *node.services, *node.clients, *node.guards, *node.waitables]
        groups = {entity.callback_group: entity for entity in entities if entity.callback_group is not None}
        deadline = time.monotonic() + timeout
        for group, entity in groups.items():
            while not group.beginning_execution(entity) and time.monotonic() < deadline:
                time.sleep(0.005)
        self._executor_cycle()
        self._executor_cycle()
        node.destroy_node()

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
            node = self._node(name)
            self._stop(node)
            self.nodes.remove(node)
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
                node = create_node(spec, self.executor.context)
            except (StartupError, ParameterException) as e:
                log(f'{self.path}: {spec.name}: cannot start: {e}')
                continue
            self.nodes.append(node)
            self.executor.add_node(node)
            applied[spec.name] = spec
            self._log_lines(changes, spec.name)
        self.plan = Plan([applied[spec.name] for spec in new.nodes if spec.name in applied], new.warnings)
        self.watcher.follow(self.plan)

    def _log_lines(self, changes, name):
        for line in changes.lines_of(name):
            log(f'{self.path}: {line}')

    def stop(self):
        if self.watch is not None:
            self.watch.stop()
