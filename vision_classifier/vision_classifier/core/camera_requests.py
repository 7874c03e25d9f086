"""get_classifications_from_camera requests waiting for their camera's next classified frame (thread-safe)."""
from dataclasses import dataclass
import threading


@dataclass
class CameraRequest:
    """One waiting request: its camera, how many results it wants, its deadline, what answers it, when it came."""

    camera: str
    n: int
    deadline: float
    answer: object   # answer.set_result((header, results)) or answer.set_exception(error)
    since: float = 0.0


class CameraRequests:
    """Requests waiting per camera, at most `limit` in all."""

    def __init__(self, limit):
        self.limit = limit
        self._waiting = []
        self._lock = threading.Lock()

    def add(self, request):
        """Queue `request`; False when `limit` requests already wait."""
        with self._lock:
            if len(self._waiting) >= self.limit:
                return False
            self._waiting.append(request)
            return True

    def take(self, camera):
        """Remove and return the requests waiting for `camera`."""
        with self._lock:
            taken = [r for r in self._waiting if r.camera == camera]
            self._waiting = [r for r in self._waiting if r.camera != camera]
            return taken

    def put_back(self, requests):
        """Queue taken requests again, ahead of newer ones (their frame was bad: they wait for the next)."""
        with self._lock:
            self._waiting[:0] = requests

    def expire(self, now):
        """Remove and return the requests whose deadline has passed."""
        with self._lock:
            expired = [r for r in self._waiting if r.deadline <= now]
            self._waiting = [r for r in self._waiting if r.deadline > now]
            return expired

    def cameras(self):
        """Return the cameras some request waits for."""
        with self._lock:
            return {r.camera for r in self._waiting}

    def __len__(self):
        with self._lock:
            return len(self._waiting)
