"""Run every node of a translated config in one process, on one executor (for machines without ros2 launch)."""
import sys
import threading
import time

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
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
    """Prints each classifier's results and counts annotated frames; `done` once `frames` annotated."""

    def __init__(self, plan, context, frames=0, echo=print):
        self.node = rclpy.create_node('vision_classifier_watcher', context=context)
        self.annotated = 0
        self.frames = frames
        self.done = threading.Event()
        for spec in plan.nodes:
            if spec.kind == 'classifier':
                self.node.create_subscription(
                    Classifications, f'/{spec.name}/classifications',
                    lambda msg, name=spec.name: echo(f'[{name}] {format_result(msg)}'), 10)
            elif spec.kind == 'overlay':
                self.node.create_subscription(Image, f'/{spec.name}/image', self._on_annotated, 10)

    def _on_annotated(self, _msg):
        self.annotated += 1
        if self.frames and self.annotated >= self.frames:
            self.done.set()


def run(plan, frames=0, duration=0.0, echo=print, args=None, web=None):
    """Spin all nodes of `plan` until Ctrl-C, `frames` annotated frames or `duration` seconds; returns an exit code.
    With `web` = (host, port), a web node serves the control page too."""
    context = rclpy.Context()
    rclpy.init(args=args, context=context)
    nodes, executor, failure = [], None, []

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
        if web:
            from .web_node import create_web_node
            nodes.append(create_web_node(plan, *web, context=context))
            echo(f'control page: {nodes[-1].server.url}')
        executor = MultiThreadedExecutor(num_threads=max(2, len(nodes)), context=context)
        for node in nodes:
            executor.add_node(node)
        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        deadline = time.monotonic() + duration if duration else None
        while not watcher.done.wait(0.1) and spinner.is_alive():
            if deadline and time.monotonic() > deadline:
                break
    except (StartupError, ParameterException) as e:
        print(f'cannot start: {e}', file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if executor is not None:
            executor.shutdown()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=context)
    if failure:
        print(f'stopped: {type(failure[0]).__name__}: {failure[0]}', file=sys.stderr)
        return 1
    return 0
