"""Publishes a node's Health on /diagnostics (diagnostic_msgs/DiagnosticArray) about once a second."""
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.clock import Clock, ClockType
from std_msgs.msg import Header

from vision_classifier.core.health import ERROR, OK, WARN

LEVELS = {OK: DiagnosticStatus.OK, WARN: DiagnosticStatus.WARN, ERROR: DiagnosticStatus.ERROR}
PERIOD = 1.0


class Diagnostics:
    """Every PERIOD seconds: `health.report(*status())` as one DiagnosticStatus named '<node>: <task>'.
    `status()` returns (problem text or None, extra (key, text) rows)."""

    def __init__(self, node, health, task, status=lambda: (None, ())):
        self.node, self.health, self.status = node, health, status
        self.name = f'{node.get_name()}: {task}'
        self.publisher = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.timer = node.create_timer(PERIOD, self.publish, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def age(self, header):
        """Seconds from an image's header stamp to now, on the node's clock."""
        now = self.node.get_clock().now().nanoseconds
        return (now - (header.stamp.sec * 10**9 + header.stamp.nanosec)) / 1e9

    def publish(self):
        problem, values = self.status()
        report = self.health.report(problem, values)
        status = DiagnosticStatus(level=LEVELS[report.level], name=self.name, message=report.message,
                                  hardware_id=self.node.get_fully_qualified_name(),
                                  values=[KeyValue(key=key, value=value) for key, value in report.values])
        self.publisher.publish(DiagnosticArray(header=Header(stamp=self.node.get_clock().now().to_msg()),
                                               status=[status]))
