"""
Read image files as RGB arrays, checking the size their header claims before decoding them.

A file of a few megabytes can claim gigabytes of pixels (a decompression bomb), so, as the nodes do for
CompressedImage data, the width and height are read from the header first and an image claiming more than
`max_bytes` of pixels (width * height * 3) is refused before anything is decoded. Headers are read for the formats
of IMAGE_SUFFIXES: JPEG and PNG (core.compressed, which also refuses truncated files), BMP, PBM/PGM/PPM, TIFF (its
first image, the one OpenCV decodes) and WebP. Other data, even in a format OpenCV could decode (JPEG 2000, PAM,
Radiance HDR...), is refused as not readable: its size is not checked.
"""
import os
from pathlib import Path
import re
import stat

import cv2
import numpy as np

from vision_classifier.core.compressed import check_size, image_size, JPEG_MAGIC, PNG_MAGIC
from vision_classifier.core.image_encoding import DEFAULT_MAX_IMAGE_BYTES, ImageError

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm')
FORMATS = 'JPEG, PNG, BMP, TIFF, WebP or PBM/PGM/PPM'
UNREADABLE = 'not a readable image'
PNM_MAGIC = re.compile(rb'P[1-6]')
# Magic number, then width and height, each after whitespace or comments (a comment runs to the end of its line)
PNM_HEADER = re.compile(rb'P[1-6](?:\s|#[^\r\n]*[\r\n])+(\d+)(?:\s|#[^\r\n]*[\r\n])+(\d+)')
TIFF_MAGICS = (b'II*\x00', b'MM\x00*')
TIFF_WIDTH, TIFF_LENGTH, TIFF_SHORT = 256, 257, 3


class ImageFileError(ValueError):
    """An image file that cannot be read: the message is `<path>: <reason>`; `kind` is ImageError's, or 'file'."""

    def __init__(self, path, reason, kind='file'):
        super().__init__(f'{path}: {reason}')
        self.reason, self.kind = reason, kind


def _fault(message):
    return ImageError('file', message)


def bmp_size(data):
    """Return (width, height) from a BMP's info header; raise ImageError."""
    if len(data) < 26:
        raise _fault('BMP: truncated header')
    if int.from_bytes(data[14:18], 'little') == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        return int.from_bytes(data[18:20], 'little'), int.from_bytes(data[20:22], 'little')
    height = int.from_bytes(data[22:26], 'little', signed=True)  # negative: rows top-down
    return int.from_bytes(data[18:22], 'little', signed=True), abs(height)


def pnm_size(data):
    """Return (width, height) from a PBM, PGM or PPM header; raise ImageError."""
    match = PNM_HEADER.match(data)
    if not match:
        raise _fault('PNM: no width and height in the header')
    return int(match.group(1)), int(match.group(2))


def webp_size(data):
    """Return (width, height) from a WebP's first chunk (VP8, VP8L or VP8X); raise ImageError."""
    if len(data) < 30:
        raise _fault('WebP: truncated header')
    chunk = data[12:16]
    if chunk == b'VP8 ':  # lossy: frame tag, start code, then 14-bit width and height
        if data[23:26] != b'\x9d\x01\x2a':
            raise _fault('WebP: no VP8 start code')
        return int.from_bytes(data[26:28], 'little') & 0x3FFF, int.from_bytes(data[28:30], 'little') & 0x3FFF
    if chunk == b'VP8L':  # lossless: signature, then width - 1 and height - 1 in 14 bits each
        if data[20] != 0x2F:
            raise _fault('WebP: no VP8L signature')
        bits = int.from_bytes(data[21:25], 'little')
        return (bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1
    if chunk == b'VP8X':  # extended: flags, reserved, then canvas width - 1 and height - 1 in 24 bits each
        return int.from_bytes(data[24:27], 'little') + 1, int.from_bytes(data[27:30], 'little') + 1
    raise _fault(f'WebP: unknown first chunk {chunk!r}')


def tiff_size(data):
    """Return (width, height) from the first image file directory of a TIFF; raise ImageError."""
    order = 'little' if data.startswith(b'II') else 'big'

    def number(offset, size):
        if offset + size > len(data):
            raise _fault(f'TIFF: truncated at {len(data)} bytes')
        return int.from_bytes(data[offset:offset + size], order)

    directory = number(4, 4)
    found = {}
    for entry in range(directory + 2, directory + 2 + 12 * number(directory, 2), 12):
        tag = number(entry, 2)
        if tag in (TIFF_WIDTH, TIFF_LENGTH):
            found[tag] = number(entry + 8, 2 if number(entry + 2, 2) == TIFF_SHORT else 4)
    if len(found) < 2:
        raise _fault('TIFF: no image width and length in the first directory')
    return found[TIFF_WIDTH], found[TIFF_LENGTH]


def file_image_size(data):
    """Return (format, width, height) from the header of an image file's `data`; raise ImageError."""
    if data.startswith((JPEG_MAGIC, PNG_MAGIC)):
        return image_size(data)
    if data.startswith(b'BM'):
        return ('BMP', *bmp_size(data))
    if PNM_MAGIC.match(data):
        return ('PNM', *pnm_size(data))
    if data.startswith(b'RIFF') and data[8:12] == b'WEBP':
        return ('WebP', *webp_size(data))
    if data.startswith(TIFF_MAGICS):
        return ('TIFF', *tiff_size(data))
    raise ImageError('format', f'{UNREADABLE} ({FORMATS} expected)')


def _read_file(path):
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise ImageFileError(path, 'is a directory')
        if not stat.S_ISREG(mode):  # a device or a pipe might never end
            raise ImageFileError(path, 'not a regular file')
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        raise ImageFileError(path, 'no such file') from None
    except OSError as e:
        raise ImageFileError(path, e.strerror.lower() if e.strerror else 'cannot be read') from None


def read_rgb(path, max_bytes=DEFAULT_MAX_IMAGE_BYTES):
    """
    Return the pixels of an image file as an HxWx3 RGB uint8 array; raise ImageFileError naming the cause.

    An image whose header claims more than `max_bytes` of pixels (width * height * 3) is refused before decoding.
    """
    data = _read_file(path)
    try:
        codec, width, height = file_image_size(data)
        check_size(codec, width, height, max_bytes)
    except ImageError as e:
        raise ImageFileError(path, str(e) if e.kind in ('too_large', 'format') else UNREADABLE, e.kind) from None
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None:
        raise ImageFileError(path, UNREADABLE)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def list_images(folder):
    """Return the image files in `folder`, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
