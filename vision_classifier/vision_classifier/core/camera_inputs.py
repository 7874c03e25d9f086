"""
The cameras a classifier node classifies, as its `cameras` parameter lists them.

Each entry is `NAME=TOPIC`, optionally followed by ` qos_reliability=auto|reliable|best_effort` and
` transport=raw|compressed` (default: compressed when the topic ends in /compressed, as image_transport names it):
`cam1=/cam1/image_raw`, `front=/usb_cam/image_raw/compressed qos_reliability=best_effort`.
"""
from dataclasses import dataclass
import re

from vision_classifier.core.parameters import QOS_CHOICES, TRANSPORTS

NAME = re.compile(r'[A-Za-z][A-Za-z0-9_]{0,199}')  # a ROS node name: topics /<name>/... of up to 247 characters
TOPIC = re.compile(r'/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*')
OPTIONS = {'qos_reliability': QOS_CHOICES, 'transport': TRANSPORTS}


@dataclass(frozen=True)
class CameraInput:
    """One camera of a classifier: its name, image topic, raw or compressed, and reliability ('' = the node's)."""

    name: str
    topic: str
    transport: str = 'raw'
    qos_reliability: str = ''

    @property
    def entry(self):
        """Return this camera as an entry of the `cameras` parameter."""
        options = ''
        if self.qos_reliability:
            options += f' qos_reliability={self.qos_reliability}'
        if self.transport != default_transport(self.topic):
            options += f' transport={self.transport}'
        return f'{self.name}={self.topic}{options}'


def default_transport(topic):
    return 'compressed' if topic.rstrip('/').endswith('/compressed') else 'raw'


def parse_camera(entry):
    """Return the CameraInput of one entry; raises ValueError naming what is wrong."""
    fields = entry.split()
    name, sep, topic = fields[0].partition('=') if fields else ('', '', '')
    if not sep or not NAME.fullmatch(name) or not TOPIC.fullmatch(topic):
        raise ValueError(f'cameras: expected "NAME=TOPIC [qos_reliability=...] [transport=...]" with a name of '
                         f'letters, digits and _ and a ROS topic, got {entry!r}')
    options = {}
    for field in fields[1:]:
        key, sep, value = field.partition('=')
        if key not in OPTIONS or value not in OPTIONS[key]:
            choices = '; '.join(f'{k}: {", ".join(v)}' for k, v in OPTIONS.items())
            raise ValueError(f'cameras: {entry!r}: unknown option {field!r} ({choices})')
        options[key] = value
    return CameraInput(name, topic, options.get('transport', default_transport(topic)),
                       options.get('qos_reliability', ''))


def parse_cameras(entries):
    """Return the CameraInputs of a `cameras` parameter (blank entries skipped); raises ValueError."""
    cameras = [parse_camera(entry) for entry in entries if entry.strip()]
    names = [c.name for c in cameras]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f'cameras: {", ".join(twice)} named more than once')
    return cameras
