"""
`vision_classifier doctor [CONFIG]`: what each of our running nodes sees, and why nothing comes out where it does not.

It watches the ROS graph and /diagnostics for a few seconds, then prints for each node (those of CONFIG, else those
found publishing our /diagnostics) its state, its inputs with their publishers and QoS, its outputs with their
subscribers, and the problems the nodes' own checks find (core.graph_checks): no publisher (naming similar topics
that have one), another message type, QoS that cannot match. Exit status 1 when there is a problem.
"""
import sys
import time

from vision_classifier.core.graph_checks import diagnose, Endpoint
from vision_classifier.core.output import write_line

KINDS = ('classifier', 'overlay', 'camera')
IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')
LEVELS = {0: 'OK', 1: 'WARN', 2: 'ERROR', 3: 'STALE'}
HIDDEN = ('lifecycle_msgs/msg/TransitionEvent',)


def add_arguments(parser):
    parser.add_argument('config', nargs='?', help='Viam robot config (JSON): check the nodes it runs, running or not '
                        '(default: the nodes found on /diagnostics)')
    parser.add_argument('--seconds', type=float, default=3.0, help='how long to watch the graph and /diagnostics '
                        '(default: %(default)s)')
    parser.add_argument('--packages-dir', default=None, help='where ${packages.<name>} resolves')


def expected_nodes(path, packages_dir):
    """Return {node name: kind} of a config's nodes; raises ConfigError."""
    from vision_classifier.core.config import translate_file
    plan = translate_file(path, packages_dir, check_models=False)
    return {spec.name: spec.kind for spec in plan.nodes}


class Doctor:
    """A node that watches the graph and /diagnostics."""

    def __init__(self, context):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        self.node = rclpy.create_node('vision_classifier_doctor', context=context)
        self.statuses = {}  # status name -> DiagnosticStatus, the newest
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 50)

    def _on_diagnostics(self, array):
        for status in array.status:
            self.statuses[status.name] = status

    def found(self):
        """Return {node name: kind} of the nodes publishing our statuses on /diagnostics."""
        found = {}
        for name in self.statuses:
            node, _, task = name.partition(': ')
            if task in KINDS:
                found[node] = task
        return found

    def running(self):
        return {name for name, _ in self.node.get_node_names_and_namespaces()}

    def report(self, name, kind):
        """Return (lines about node `name`, problems found)."""
        from vision_classifier.nodes.image_input import endpoint, published_topics
        status = self.statuses.get(f'{name}: {kind}')
        head = f'{name} ({kind})'
        if name not in self.running():
            return [f'{head}: not running'], [f'{name}: not running']
        level = status and (status.level[0] if isinstance(status.level, bytes) else status.level)
        lines, problems = [head + (f': /diagnostics {LEVELS.get(level, level)} {status.message}'
                                   if status else ': no /diagnostics yet')], []
        state = {v.key: v.value for v in status.values}.get('state') if status else None
        if state not in (None, 'active'):
            problems.append(f'{name}: {state} (a managed node: ros2 lifecycle set /{name} '
                            f'{"configure, then activate" if state == "unconfigured" else "activate"})')
            lines.append(f'      problem: {problems[-1]}')
        published, counts = published_topics(self.node)
        for topic, types in self.node.get_subscriber_names_and_types_by_node(name, '/'):
            if not set(types) & set(IMAGE_TYPES):
                continue
            mine = [endpoint(i) for i in self.node.get_subscriptions_info_by_topic(topic)
                    if i.node_name == name]
            publishers = [endpoint(i) for i in self.node.get_publishers_info_by_topic(topic)]
            subscription = mine[0] if mine else Endpoint(name, types[0], 'reliable')
            found = diagnose(topic, types[0], subscription, publishers, published, counts)
            shown = ', '.join(p.describe() for p in publishers) or 'none'
            lines.append(f'  in  {topic} ({types[0]}, {subscription.reliability}): publishers: {shown}')
            lines += [f'      problem: {p}' for p in found]
            problems += [f'{name}: {p}' for p in found]
        for topic, types in self.node.get_publisher_names_and_types_by_node(name, '/'):
            if (topic.startswith(f'/{name}/') or types[0] in IMAGE_TYPES) and types[0] not in HIDDEN:
                lines.append(f'  out {topic} ({types[0]}): {self.node.count_subscribers(topic)} subscriber(s)')
        return lines, problems


def run(args):
    """Watch, then print a report per node; return the exit status."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from vision_classifier.core.config import ConfigError
    try:
        expected = expected_nodes(args.config, args.packages_dir) if args.config else None
    except ConfigError as e:
        write_line(f'{args.config}: {len(e.problems)} problem(s):\n' + '\n'.join(f'  {p}' for p in e.problems),
                   sys.stderr)
        return 2
    context = rclpy.Context()
    rclpy.init(context=context)
    doctor = Doctor(context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(doctor.node)
    try:
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
        nodes = expected if expected is not None else doctor.found()
        if not nodes:
            write_line('no vision_classifier node found on /diagnostics (is one running, with the same '
                       'ROS_DOMAIN_ID?); name a config to check its nodes')
            return 1
        problems = []
        for name, kind in sorted(nodes.items(), key=lambda item: KINDS.index(item[1]) if item[1] in KINDS else 9):
            lines, found = doctor.report(name, kind)
            problems += found
            for line in lines:
                write_line(line)
        write_line(f'{len(problems)} problem(s)' if problems else 'no problem found')
        return 1 if problems else 0
    except KeyboardInterrupt:
        return 130
    finally:
        executor.shutdown()
        doctor.node.destroy_node()
        rclpy.try_shutdown(context=context)
