"""
Notice that a file changed.

Its folder is watched (editors save by writing a new file and renaming it over the old one), and a save made of
several file operations counts once, after they stop (debounced).
"""
import os
import threading
import time

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

# Events that may change the content (not opened/closed_no_write: reading the file ourselves makes those)
CHANGES = {'created', 'modified', 'moved', 'deleted', 'closed'}


class FileWatch(FileSystemEventHandler):
    """
    Tell when a file changed: `changed()` is true once after the file had events and then none for `quiet` seconds.

    Raises OSError when the folder cannot be watched (e.g. the inotify limit).
    """

    def __init__(self, path, quiet=0.3):
        self.path = os.path.abspath(path)
        self.quiet = quiet
        self._last_event = None
        self._lock = threading.Lock()
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.schedule(self, os.path.dirname(self.path), recursive=False)
        self._observer.start()

    def on_any_event(self, event):
        if event.event_type not in CHANGES:
            return
        paths = [event.src_path, getattr(event, 'dest_path', '')]
        if self.path in (os.path.abspath(os.fsdecode(p)) for p in paths if p):
            with self._lock:
                self._last_event = time.monotonic()

    def changed(self):
        with self._lock:
            if self._last_event is None or time.monotonic() - self._last_event < self.quiet:
                return False
            self._last_event = None
            return True

    def stop(self):
        self._observer.stop()
        self._observer.join()
