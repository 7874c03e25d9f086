"""Run every node of a translated config in one process, on one executor (for machines without ros2 launch)."""
import signal
import sys
import threading
import time

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from vision_classifier_msgs.msg import Classifications

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
        for spec in plan.nodes:
            if spec.kind == 'classifier':
                self.node.create_subscription(Classifications, f'/{spec.name}/classifications',
                                              lambda msg, name=spec.name: self._on_results(name, msg), 10)
            elif spec.kind == 'overlay':
                self.node.create_subscription(Image, f'/{spec.name}/image', self._on_annotated, 10)

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


def run(plan, frames=0, duration=0.0, echo=print, args=None, echo_period=1.0):
    """Spin all nodes of `plan` until Ctrl-C, SIGTERM, `frames` annotated frames or `duration` seconds; returns
    an exit code.

    Each node spins on its own single-threaded executor in its own thread (callbacks run in that thread, so nodes
    work in parallel and each node's callbacks one at a time, as under `ros2 launch`). Stopping goes in order:
    every spin thread finishes its callback and is joined, then the executors are shut down, the nodes destroyed
    (consumers first) and the context shut down last, so no callback runs on a destroyed node or a shut-down
    context. (rclpy's MultiThreadedExecutor.shutdown() destroys its guard condition before its worker threads
    end, and a callback still queued then fails.) SIGINT and SIGTERM only ask for that stop: rclpy installs no
    signal handlers for a context of our own."""
    stop = threading.Event()
    previous = _catch_stop_signals(stop)
    context = rclpy.Context()
    rclpy.init(args=args, context=context)
    nodes, spinners, failure = [], [], []

    def spin(executor):
        try:
            while not stop.is_set() and context.ok():
                executor.spin_once(timeout_sec=0.1)
        except ExternalShutdownException:
            pass
        except Exception as e:  # a callback failed: stop, report, exit non-zero
            failure.append(e)
        finally:
            stop.set()

    try:
        for spec in plan.nodes:
            nodes.append(create_node(spec, context))
        watcher = Watcher(plan, context, frames, echo, on_done=stop.set, echo_period=echo_period)
        nodes.append(watcher.node)
        for node in nodes:
            executor = SingleThreadedExecutor(context=context)
            executor.add_node(node)
            spinners.append((threading.Thread(target=spin, args=(executor,), name=node.get_name()), executor))
        for thread, _ in spinners:
            thread.start()
        print(f'running {len(plan.nodes)} node(s): {", ".join(s.name for s in plan.nodes)} (Ctrl-C to stop)',
              flush=True)
        deadline = time.monotonic() + duration if duration > 0 else None
        while not stop.wait(0.1) and (deadline is None or time.monotonic() < deadline):
            pass
    except (StartupError, ParameterException) as e:
        print(f'[{_starting(plan, nodes)}] cannot start: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the handlers were in place, or off the main thread
        pass
    finally:
        stop.set()
        for thread, executor in spinners:
            if thread.ident is not None:
                thread.join()
            executor.shutdown()
        for node in reversed(nodes):
            node.destroy_node()
        rclpy.try_shutdown(context=context)
        _restore_signals(previous)
    if failure:
        print(f'stopped: {type(failure[0]).__name__}: {failure[0]}', file=sys.stderr)
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
