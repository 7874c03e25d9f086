"""
Why nothing comes out of a subscription: the causes found in the ROS graph, named in one line each (no rclpy here).

The nodes check their image inputs with it (a log line and /diagnostics), and `vision_classifier doctor` checks a
running system the same way.
"""
from dataclasses import dataclass
import difflib

NO_PUBLISHER_SECONDS = 10.0  # a subscription without a publisher for this long is reported


@dataclass(frozen=True)
class Endpoint:
    """A publisher or subscription as the graph shows it."""

    node: str           # '/namespace/name', or '' while discovery has not told it
    type: str           # 'sensor_msgs/msg/Image'  # noqa: A003 (the graph's word)
    reliability: str    # 'reliable' or 'best_effort'
    durability: str = 'volatile'  # or 'transient_local'

    def describe(self):
        return f'{self.node or "a node"} ({self.reliability}, {self.durability})'


def incompatible(publisher, subscription):
    """Return why `publisher` cannot reach `subscription` (QoS), naming both sides' settings, or None."""
    causes = []
    if subscription.reliability == 'reliable' and publisher.reliability == 'best_effort':
        causes.append('reliability: the publisher is best_effort, the subscription reliable')
    if subscription.durability == 'transient_local' and publisher.durability == 'volatile':
        causes.append('durability: the publisher is volatile, the subscription transient_local')
    return '; '.join(causes) or None


def similar_topics(topic, published, limit=3):
    """
    Return the topics of `published` ({topic: [type, ...]}, those with publishers) a user may have meant.

    The same topic with or without /compressed, topics that end alike, and names close in spelling.
    """
    base = topic.rstrip('/').removesuffix('/compressed')
    others = [t for t in published if t != topic]
    alike = [t for t in others if t.rstrip('/').removesuffix('/compressed') == base]
    alike += [t for t in difflib.get_close_matches(topic, others, n=limit, cutoff=0.6) if t not in alike]
    last = topic.rstrip('/').rsplit('/', 1)[-1]
    alike += [t for t in sorted(others) if t.rsplit('/', 1)[-1] == last and t not in alike]
    return alike[:limit]


def describe_topics(topics, published, counts):
    return '; '.join(f'{t} has {counts.get(t, 0)} ({", ".join(published[t])})' for t in topics)


def diagnose(topic, type_name, subscription, publishers, published, counts, missing_for=None):
    """
    Return the problems of one subscription, one line each (empty: none).

    `publishers`: Endpoints publishing on `topic`; `published`: {topic: [types]} of every topic with publishers and
    `counts` {topic: publisher count}, for naming similar topics; `missing_for`: seconds without any publisher (None:
    not known, as for an observer that just came; then it is reported at once).
    """
    ours = [p for p in publishers if p.type == type_name]
    other_types = sorted({p.type for p in publishers if p.type != type_name})
    problems = []
    if other_types:
        problems.append(f'{topic} carries {", ".join(other_types)}, not {type_name}: nothing of it is received')
    if not publishers and (missing_for is None or missing_for >= NO_PUBLISHER_SECONDS):
        near = similar_topics(topic, published)
        problems.append(f'no publisher on {topic}' + (f' for {missing_for:.0f} s' if missing_for else '')
                        + (f'; {describe_topics(near, published, counts)}' if near else ''))
    for publisher in ours:
        cause = incompatible(publisher, subscription)
        if cause:
            problems.append(f'{topic}: {publisher.describe()} cannot reach this subscription '
                            f'({subscription.reliability}, {subscription.durability}): {cause}')
    return problems
