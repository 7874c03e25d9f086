"""Run every node of a translated config in one process (for machines without ros2 launch)."""
import dataclasses
import signal
import sys
import threading
import time

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from sensor_msgs.msg import Image

from vision_classifier.core.output import write_line
from vision_classifier.nodes import compat
from vision_classifier.nodes.factory import create_node
from vision_classifier.nodes.main import StartupError
from vision_classifier.runner.live_config import LiveConfig
from vision_classifier_msgs.msg import Classifications

WATCHER = 'vision_classifier_watcher'
MAX_ECHOED = 1024


def format_result(msg):
    stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
    found = ', '.join(f'{c.class_name} {c.confidence:.2f}' for c in msg.classifications) or '(none)'
    return f'{msg.header.frame_id or "image"} @ {stamp:.3f}: {found}'


class Watcher:
    """
    Prints each classifier's results and counts annotated frames; `done` once `frames` annotated.

    At most one line per `echo_period` seconds per classifier (0: every result).
    """

    def __init__(self, plan, context, frames=0, echo=write_line, on_done=None, echo_period=1.0):
        self.node = rclpy.create_node(WATCHER, context=context)
        self.annotated = 0
        self.frames = frames
        self.done = threading.Event()
        self.on_done = on_done
        self.echo, self.echo_period, self.echoed = echo, echo_period, {}
        self.subscriptions = {}  # node name -> (kind, subscription)
        self.follow(plan)

    def follow(self, plan):
        """
        Subscribe to the plan's classifiers and overlays; unsubscribe from nodes no longer in it.

        Not while the node spins.
        """
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
        key = name, msg.header.frame_id  # a line a second for each camera of a vision service
        if now - self.echoed.get(key, -float('inf')) >= self.echo_period:
            if len(self.echoed) >= MAX_ECHOED:  # frame_ids are the publishers' to choose: bounded
                self.echoed.clear()
            self.echoed[key] = now
            self.echo(f'[{name}] {format_result(msg)}')

    def _on_annotated(self, _msg):
        self.annotated += 1
        if self.frames and self.annotated >= self.frames:
            self.done.set()
            if self.on_done:
                self.on_done()


class NodeThread:
    """
    A node spun by a single-threaded executor of its own in a thread of its own, as in a process of its own.

    Nodes work in parallel, each node's callbacks one at a time. `stop()` ends the spinning (a callback in progress
    finishes) and joins the thread; then the node may be changed or destroyed safely. A callback that raises, or a
    shut-down context, sets `stop_all`.
    """

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
        compat.shutdown_executor(self.executor)


@dataclasses.dataclass
class Extra:
    """
    A node run beside the config's nodes (the control page).

    `create(plan, context)` makes it, `follow(node, plan)` shows it a config edit (returns a problem text or None).
    """

    name: str
    create: object
    follow: object = None


def run(plan, frames=0, duration=0.0, echo=write_line, args=None, echo_period=1.0, config_path=None,
        load_config=None, extras=()):
    """
    Spin all nodes of `plan` until Ctrl-C, SIGTERM, `frames` annotated frames or `duration` seconds.

    Return an exit code.

    Each node spins in a NodeThread. Stopping goes in order: every thread finishes its callback and is joined,
    then the nodes are destroyed (consumers first) and the context shut down last, so no callback runs on a
    destroyed node or a shut-down context. (rclpy's MultiThreadedExecutor.shutdown() destroys its guard condition
    before its worker threads end, and a callback still queued then fails.) SIGINT and SIGTERM only ask for that
    stop: rclpy installs no signal handlers for a context of our own.

    With `config_path`, edits of that file are applied while running: `load_config()` gives the new Plan (or None
    for a config with problems, which it reports); see LiveConfig. `extras` (Extra) run beside the config's nodes
    and follow its edits.
    """
    stop = threading.Event()
    requested = []  # the stop signals received: a signal handler only records (Event.set could deadlock there)
    previous = _catch_stop_signals(requested)
    context = rclpy.Context()
    rclpy.init(args=args, context=context)
    nodes, threads, failures, live, starting = [], [], [], None, None
    try:
        for spec in plan.nodes:
            starting = spec.name
            nodes.append(create_node(spec, context))
        starting = WATCHER
        watcher = Watcher(plan, context, frames, echo, on_done=stop.set, echo_period=echo_period)
        nodes.append(watcher.node)
        followers = []
        for extra in extras:
            starting = extra.name
            node = extra.create(plan, context)
            nodes.append(node)
            if extra.follow:
                followers.append((node, extra.follow))
        starting = None
        threads.extend(NodeThread(node, stop, failures) for node in nodes)
        if config_path:
            live = LiveConfig(config_path, load_config, plan, threads, watcher,
                              lambda node: NodeThread(node, stop, failures), followers)
        write_line(f'running {len(plan.nodes)} node(s): {", ".join(s.name for s in plan.nodes)} (Ctrl-C to stop)')
        deadline = time.monotonic() + duration if duration > 0 else None
        while not (stop.is_set() or requested) and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.1)
            if live:
                live.poll()
    except (StartupError, ParameterException) as e:
        write_line(f'[{starting}] cannot start: {e}', sys.stderr)
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
        write_line(f'stopped: {type(failures[0]).__name__}: {failures[0]}', sys.stderr)
        return 1
    return 0


def _catch_stop_signals(requested):
    """
    Make SIGINT and SIGTERM append to `requested`, and return the previous handlers.

    Only the main thread may install handlers. The handler takes no lock: one taken while the main thread held it
    (an Event's, in its wait) would wait for ever.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, lambda signum, _: requested.append(signum))
            for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signals(previous):
    for sig, handler in previous.items():
        signal.signal(sig, handler)
