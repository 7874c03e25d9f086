"""
Which camera the model classifies next, when one model serves several cameras.

Each camera has one slot holding its newest frame: a frame that arrives while the slot is full replaces the one
there (skipped), so no frame older than its camera's newest is ever classified. Whenever the model is free, `take()`
hands out the newest frame of the camera that has waited longest, that is whose slot filled first. A camera served
goes to the back of the line, so none starves: with N cameras waiting, each is served within N classifications.
"""
from dataclasses import dataclass


@dataclass
class _Slot:
    frame: object = None
    since: float = 0.0   # when the slot filled: how long the camera has waited


class Scheduler:
    """The newest frame of each camera, and the order the cameras are served in."""

    def __init__(self):
        self._slots = {}

    def add(self, camera):
        self._slots.setdefault(camera, _Slot())

    def remove(self, camera):
        self._slots.pop(camera, None)

    @property
    def cameras(self):
        return list(self._slots)

    def put(self, camera, frame, now):
        """
        Store `frame` as the newest of `camera`, arrived at `now`.

        Returns the frame it replaced (skipped, never to be classified), or None.
        Raises KeyError for a camera that is not scheduled.
        """
        slot = self._slots[camera]
        replaced = slot.frame
        if replaced is None:
            slot.since = now
        slot.frame = frame
        return replaced

    def pending(self):
        return any(slot.frame is not None for slot in self._slots.values())

    def take(self):
        """Take (camera, frame): the newest frame of the camera that has waited longest; None when none waits."""
        waiting = [(slot.since, i, camera) for i, (camera, slot) in enumerate(self._slots.items())
                   if slot.frame is not None]
        if not waiting:
            return None
        camera = min(waiting)[2]
        slot = self._slots[camera]
        frame, slot.frame = slot.frame, None
        return camera, frame
