"""Publishes a node's Health on /diagnostics (diagnostic_msgs/DiagnosticArray) about once a second."""
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.clock import Clock, ClockType
from std_msgs.msg import Header

from vision_classifier.core.health import ERROR, OK, WARN

LEVELS = {OK: DiagnosticStatus.OK, WARN: DiagnosticStatus.WARN, ERROR: DiagnosticStatus.ERROR}
PERIOD = 1.0


class Diagnostics:
    """
    Publish a node's health on /diagnostics every PERIOD seconds.

    One DiagnosticStatus named '<node>: <task>' is `health.report(*status())`, where `status()` returns (problem text
    or None, extra (key, text) rows[, warnings: why nothing comes in]); `parts()` may add more, one per (task, Health,
    rows, warnings) it returns (the classifier's cameras).
    """

    def __init__(self, node, health, task, status=lambda: (None, ()), parts=lambda: ()):
        self.node, self.health, self.status, self.parts = node, health, status, parts
        self.name = f'{node.get_name()}: {task}'
        self.publisher = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.timer = node.create_timer(PERIOD, self.publish, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def age(self, header):
        """Return the seconds from an image's header stamp to now, on the node's clock."""
        now = self.node.get_clock().now().nanoseconds
        return (now - (header.stamp.sec * 10**9 + header.stamp.nanosec)) / 1e9

    def publish(self):
        reports = [(self.name, self.health.report(*self.status()))]
        reports += [(f'{self.node.get_name()}: {task}', health.report(None, rows, warnings))
                    for task, health, rows, warnings in self.parts()]
        hardware_id = self.node.get_fully_qualified_name()
        self.publisher.publish(DiagnosticArray(
            header=Header(stamp=self.node.get_clock().now().to_msg()),
            status=[DiagnosticStatus(level=LEVELS[report.level], name=name, message=report.message,
                                     hardware_id=hardware_id,
                                     values=[KeyValue(key=key, value=value) for key, value in report.values])
                    for name, report in reports]))
