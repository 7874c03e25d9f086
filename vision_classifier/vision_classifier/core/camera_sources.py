"""
Frame sources for the camera node: webcam, video file, image file or folder, test pattern (no ROS here).

Each source has open(), read() -> HxWx3 RGB uint8 array, close(); failures raise SourceError naming the source.
"""
import os
from pathlib import Path

import cv2
import numpy as np

from vision_classifier.core.image_files import ImageFileError, list_images, read_rgb

SOURCE_TYPES = ('webcam', 'video_file', 'image_file', 'image_folder', 'fake')
DEFAULT_FAKE_SIZE = (640, 480)
FOLDER_CACHE_BYTES = 256 * 2**20  # decoded frames an image_folder camera keeps
# White, yellow, cyan, green, magenta, red, blue (RGB).
BARS = np.array([[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0],
                 [255, 0, 255], [255, 0, 0], [0, 0, 255]], np.uint8)


class SourceError(RuntimeError):
    """No frame now: the source is missing, lost or unreadable; close it and open it again later."""


class FrameError(SourceError):
    """One bad frame (e.g. an unreadable file in a folder); the source stays open and the next read moves on."""


def target_size(native, width=0, height=0):
    """Return (width, height) for a `native` (w, h); with only one of them > 0 the other keeps the aspect ratio."""
    w, h = native
    if width <= 0 and height <= 0:
        return w, h
    return (width if width > 0 else max(1, round(w * height / h)),
            height if height > 0 else max(1, round(h * width / w)))


def resize(pixels, width=0, height=0):
    """Resize to width x height (see target_size); 0, 0: unchanged."""
    h, w = pixels.shape[:2]
    width, height = target_size((w, h), width, height)
    if (width, height) == (w, h):
        return pixels
    interpolation = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    return cv2.resize(pixels, (width, height), interpolation=interpolation)


class Backoff:
    """Retry delays: `initial`, doubling up to `maximum`; reset() after a success."""

    def __init__(self, initial=0.5, maximum=10.0):
        self.initial, self.maximum = min(initial, maximum), maximum
        self._next = self.initial

    def next(self):  # noqa: A003
        delay = self._next
        self._next = min(delay * 2, self.maximum)
        return delay

    def reset(self):
        self._next = self.initial


class FrameSource:
    kind = ''

    def __init__(self, path='', width=0, height=0):
        self.path, self.width, self.height = str(path), width, height

    def __str__(self):
        return f'{self.kind} {self.path}' if self.path else self.kind

    def error(self, cause, error_class=SourceError):
        return error_class(f'{self}: {cause}')

    def open(self):  # noqa: A003
        pass

    def read(self):
        return resize(self._read(), self.width, self.height)

    def _read(self):
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()


class CaptureSource(FrameSource):
    """A cv2.VideoCapture; BGR frames are turned into RGB."""

    _cannot_open = 'cannot open'

    def __init__(self, path='', width=0, height=0):
        super().__init__(path, width, height)
        self.capture = None

    def _capture(self):
        raise NotImplementedError

    def open(self):  # noqa: A003
        self.close()
        self.capture = self._capture()
        if not self.capture.isOpened():
            self.close()
            raise self.error(self._cannot_open)

    def _grab(self):
        ok, frame = self.capture.read() if self.capture is not None else (False, None)
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok and frame is not None and frame.ndim == 3 else None

    def close(self):
        if self.capture is not None:
            self.capture.release()
            self.capture = None


class WebcamSource(CaptureSource):
    """A V4L2 device: a path like /dev/video0 or an index ('' is 0); width, height and fps are requested."""

    kind = 'webcam'
    _cannot_open = 'cannot open (not a V4L2 capture device, busy, or no permission)'

    def __init__(self, path='', width=0, height=0, fps=0.0):
        super().__init__(path or '0', width, height)
        self.fps = fps

    def _capture(self):
        if self.path.isdigit():
            capture = cv2.VideoCapture(int(self.path), cv2.CAP_V4L2)
        elif not os.path.exists(self.path):
            raise self.error('no such device')
        else:
            capture = cv2.VideoCapture(self.path, cv2.CAP_V4L2)
        for prop, value in [(cv2.CAP_PROP_FRAME_WIDTH, self.width), (cv2.CAP_PROP_FRAME_HEIGHT, self.height),
                            (cv2.CAP_PROP_FPS, self.fps), (cv2.CAP_PROP_BUFFERSIZE, 1)]:
            if value > 0:
                capture.set(prop, value)
        return capture

    def _read(self):
        frame = self._grab()
        if frame is None:
            raise self.error('no frame from the device (unplugged?)')
        return frame


class VideoFileSource(CaptureSource):
    """A video file, played from the start again at its end."""

    kind = 'video_file'
    _cannot_open = 'cannot open as a video'

    def _capture(self):
        if not Path(self.path).is_file():
            raise self.error('no such file')
        return cv2.VideoCapture(self.path)

    def _read(self):
        frame = self._grab()
        if frame is None:
            self.open()  # at the end: reopen, which also notices a file deleted or replaced
            frame = self._grab()
            if frame is None:
                raise self.error('no frames could be decoded')
        return frame


class ImageFileSource(FrameSource):
    """One image file, every read; read again when it changes, and reported lost when it is gone."""

    kind = 'image_file'

    def __init__(self, path, width=0, height=0):
        super().__init__(path, width, height)
        self._stat, self._pixels = None, None

    def open(self):  # noqa: A003
        self._stat, self._pixels = None, None
        self.read()

    def read(self):
        try:
            stat = os.stat(self.path)
        except OSError as e:
            raise self.error(e.strerror.lower() if e.strerror else 'cannot be read') from None
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if key != self._stat:
            try:
                self._pixels = resize(read_rgb(self.path), self.width, self.height)
            except ImageFileError as e:
                raise self.error(e.reason) from None
            self._stat = key
        return self._pixels


class ImageFolderSource(FrameSource):
    """
    The image files of a folder sorted by name, in a loop; the folder is listed again at each loop.

    Frames are kept decoded (up to `cache_bytes`), so that a file is decoded (and libpng warns about it) once per
    change, not at every loop.
    """

    kind = 'image_folder'

    def __init__(self, path, width=0, height=0, cache_bytes=FOLDER_CACHE_BYTES):
        super().__init__(path, width, height)
        self.files, self.index = [], 0
        self.cache_bytes = cache_bytes
        self.decoded = {}  # path -> ((mtime_ns, size, inode), frame), files of the listing only

    def open(self):  # noqa: A003
        if not Path(self.path).is_dir():
            raise self.error('no such folder')
        self.files, self.index = list_images(self.path), 0
        if not self.files:
            raise self.error('no image files in the folder')
        self.decoded = {path: kept for path, kept in self.decoded.items() if path in self.files}

    def read(self):
        if self.index >= len(self.files):
            self.open()
        path = self.files[self.index]
        self.index += 1
        try:
            stat = os.stat(path)
            key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            key = None  # gone: read_rgb says so
        kept = self.decoded.get(path)
        if kept and kept[0] == key:
            return kept[1]
        self.decoded.pop(path, None)
        try:
            frame = resize(read_rgb(path), self.width, self.height)
        except ImageFileError as e:
            if not Path(self.path).is_dir():
                raise self.error('no such folder') from None
            raise self.error(f'skipped {e}', FrameError) from None
        frame.flags.writeable = False
        if key and frame.nbytes + sum(f.nbytes for _, f in self.decoded.values()) <= self.cache_bytes:
            self.decoded[path] = (key, frame)
        return frame


class FakeSource(FrameSource):
    """A test pattern: colour bars, with a white square moving along the bottom band at each frame."""

    kind = 'fake'

    def __init__(self, width=0, height=0):
        super().__init__('', *target_size(DEFAULT_FAKE_SIZE, width, height))
        self.count = 0
        bar_of_column = np.arange(self.width) * len(BARS) // self.width
        self.background = np.repeat(BARS[bar_of_column][np.newaxis], self.height, axis=0)
        self.band = self.height * 3 // 4
        self.background[self.band:] = 32

    def read(self):
        frame = self.background.copy()
        side = max(1, min(self.height - self.band, self.width // 8))
        x = (self.count * max(1, self.width // 64)) % max(1, self.width - side + 1)
        frame[self.band:self.band + side, x:x + side] = 255
        self.count += 1
        return frame


def make_source(source_type, source_path='', width=0, height=0, fps=0.0):
    """Return a source of `source_type` (one of SOURCE_TYPES); raise ValueError for a bad type or missing path."""
    if source_type == 'webcam':
        return WebcamSource(source_path, width, height, fps)
    if source_type == 'fake':
        return FakeSource(width, height)
    classes = {'video_file': VideoFileSource, 'image_file': ImageFileSource, 'image_folder': ImageFolderSource}
    if source_type not in classes:
        raise ValueError(f'source_type: expected one of {", ".join(SOURCE_TYPES)}, got {source_type!r}')
    if not source_path:
        raise ValueError(f'source_path: required for source_type {source_type}')
    return classes[source_type](source_path, width, height)
