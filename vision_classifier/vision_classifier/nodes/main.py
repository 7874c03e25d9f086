"""main() of a node, as demo_nodes_py does it: init, spin, a clean exit on Ctrl-C or an external shutdown."""
import signal
import sys

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy

from vision_classifier.core.output import write_line
from vision_classifier.nodes import compat


class StartupError(RuntimeError):
    """A node that cannot start; main() prints the message and exits with status 1."""


STOP_CHECK_SECONDS = 0.5  # how often the spin reads the stop flag when no callback is ready


def run_node(node_class, args=None):
    """Create and spin `node_class` until Ctrl-C or shutdown; return the exit code."""
    # rclpy's handler, installed by init, calls this one (a flag, read between spins: no KeyboardInterrupt at a random
    # point, which inside a __del__ prints a traceback and is lost), then wakes the executor; spin_once waits again
    # when no callback is ready, so it returns every STOP_CHECK_SECONDS to read the flag.
    stop = [False]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: stop.__setitem__(0, True))
    try:
        rclpy.init(args=args)
    except _rclpy.RCLError as e:  # unparsable --ros-args; rcl has logged the details
        write_line(f'[{node_class.NODE_NAME}] cannot start: {e}', sys.stderr)
        return 1
    node = None
    executor = SingleThreadedExecutor()  # its own: shut down with a timeout (Humble's waits for coroutines)
    try:
        node = node_class.__new__(node_class)  # then __init__: a failed start still has its name (`__node:=`)
        node.__init__()
        executor.add_node(node)
        while not stop[0] and node.context.ok():
            executor.spin_once(timeout_sec=STOP_CHECK_SECONDS)
    except (StartupError, ParameterException) as e:
        write_line(f'[{node_name(node, node_class.NODE_NAME)}] cannot start: {e}', sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except _rclpy.RCLError:
        if node is None or node.context.ok():
            raise
        # a publish that raced Ctrl-C's shutdown of the context
    finally:
        # A second Ctrl-C (under `ros2 launch` in a terminal each node gets the terminal's and launch's) does not
        # interrupt the clean-up
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        compat.shutdown_executor(executor)
        if node is not None and getattr(node, 'handle', None) is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def node_name(node, default):
    """Return the name a node runs under (after remapping), or `default` when it got no handle."""
    try:
        return node.get_name()
    except Exception:  # Node.__init__ itself failed
        return default
