"""
Managed nodes: configure, activate, deactivate and clean up, as lifecycle managers such as nav2's drive them.

Every node of the package is a lifecycle node. With its parameter `autostart` (the default) it configures and
activates itself as it starts, as a plain node does; without, it waits unconfigured for a manager calling
`~/change_state`.
"""
import traceback

from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn

from vision_classifier.nodes.main import StartupError

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE
EXPECTED = (StartupError, ValueError, OSError)  # a bad parameter, model, file or device: named in one line


class ManagedNode(LifecycleNode):
    """
    A lifecycle node whose subclass says what configure, activate, deactivate and cleanup do.

    configure() reads the parameters and takes the resources (a model, a device); activate() subscribes and
    publishes; deactivate() unsubscribes, so the node costs about nothing while inactive; cleanup() frees the
    resources. A transition that fails leaves the node in its state before, and says why in one line.
    """

    def __init__(self, node_name, **kwargs):
        super().__init__(node_name, **kwargs)
        self.failure = None
        self.active = False
        self._autostarting = False
        change_state = self._service_change_state
        answer = change_state.callback
        change_state.callback = lambda request, response: self._change_state(answer, request, response)

    def _change_state(self, answer, request, response):
        """Answer a transition the state machine cannot take with success false (Humble, Jazzy: an exception)."""
        try:
            return answer(request, response)
        except _rclpy.RCLError as e:
            self.get_logger().warning(f'transition {request.transition.label or request.transition.id} refused: '
                                      f'{str(e).strip()}')
            response.success = False
            return response

    def autostart(self):
        """Configure and activate now, as a plain node starts; raises StartupError naming the cause."""
        self._autostarting = True
        try:
            for name, trigger in (('configure', self.trigger_configure), ('activate', self.trigger_activate)):
                if trigger() != SUCCESS:
                    if not self.context.ok():  # Ctrl-C or a shutdown while starting: a stop, not a failure
                        return
                    raise StartupError(self.failure or f'{name} failed')
        finally:
            self._autostarting = False

    def _transition(self, name, step):
        self.failure = None
        try:
            step()
        except EXPECTED as e:
            self.failure = str(e)
        except Exception as e:  # a bug: its traceback, and the transition fails
            self.failure = f'{type(e).__name__}: {e}'
            self.get_logger().error(traceback.format_exc())
        if self.failure is None:
            return SUCCESS
        if not self._autostarting:  # autostart's caller says it in its own line
            self.get_logger().error(f'{name} failed: {self.failure}')
        return FAILURE

    def on_configure(self, state):
        return self._transition('configure', self.configure)

    def on_activate(self, state):
        result = self._transition('activate', self.activate)
        if result == SUCCESS:
            self.active = True
            return super().on_activate(state)
        return result

    def on_deactivate(self, state):
        self.active = False
        self.deactivate()
        return super().on_deactivate(state)

    def on_cleanup(self, state):
        self.cleanup()
        return SUCCESS

    def on_shutdown(self, state):
        if state.label == 'active':
            self.on_deactivate(state)
        if state.label in ('active', 'inactive'):
            self.cleanup()
        return SUCCESS

    def on_error(self, state):
        self.active = False
        self.deactivate()
        self.cleanup()
        return SUCCESS

    # What the subclass does at each transition
    def configure(self):
        pass

    def activate(self):
        pass

    def deactivate(self):
        pass

    def cleanup(self):
        pass
