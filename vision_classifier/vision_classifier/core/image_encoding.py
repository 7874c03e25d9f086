"""
Read `sensor_msgs/Image` fields as numpy views, and make image fields from arrays (no cv_bridge).

YUV 4:2:2 and Bayer images are converted to RGB.
"""
from dataclasses import dataclass

import cv2
import numpy as np

# encoding: (channels, bytes per channel, channel order); decoded as a view of the data
ENCODINGS = {
    'rgb8': (3, 1, 'rgb'), 'bgr8': (3, 1, 'bgr'), 'rgba8': (4, 1, 'rgba'), 'bgra8': (4, 1, 'bgra'),
    'mono8': (1, 1, 'mono'), '8UC1': (1, 1, 'mono'), '8UC3': (3, 1, 'bgr'), '8UC4': (4, 1, 'bgra'),
    'rgb16': (3, 2, 'rgb'), 'bgr16': (3, 2, 'bgr'), 'rgba16': (4, 2, 'rgba'), 'bgra16': (4, 2, 'bgra'),
    'mono16': (1, 2, 'mono'), '16UC1': (1, 2, 'mono'), '16UC3': (3, 2, 'bgr'),
}
# encoding: (bytes per pixel, OpenCV conversion to RGB); decoded into a new RGB array.
# OpenCV names a Bayer pattern by the second row's second and third pixels: bayer_rggb8 is its BayerBG.
CONVERTED = {
    'yuv422': (2, cv2.COLOR_YUV2RGB_UYVY), 'uyvy': (2, cv2.COLOR_YUV2RGB_UYVY),
    'yuv422_yuy2': (2, cv2.COLOR_YUV2RGB_YUY2), 'yuyv': (2, cv2.COLOR_YUV2RGB_YUY2),
    'bayer_rggb8': (1, cv2.COLOR_BayerBG2RGB), 'bayer_bggr8': (1, cv2.COLOR_BayerRG2RGB),
    'bayer_gbrg8': (1, cv2.COLOR_BayerGR2RGB), 'bayer_grbg8': (1, cv2.COLOR_BayerGB2RGB),
}
SUPPORTED = (*ENCODINGS, *CONVERTED)
DEFAULT_MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_SHOWN = 40  # characters of an unknown encoding quoted in the error (any node may send megabytes)


class ImageError(ValueError):
    """An image message that cannot be read; the message names the fault, `kind` classifies it."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray   # HxWxC (C=1 for mono) uint8; a view of the message data where possible
    order: str           # channel order, a key of preprocess.CHANNEL_ORDERS


def quoted(text):
    return (repr(text[:MAX_SHOWN]) + ('...' if len(text) > MAX_SHOWN else '')) if text else 'empty'


def decode(encoding, height, width, step, is_bigendian, data, max_bytes=DEFAULT_MAX_IMAGE_BYTES):
    """Check the fields against each other and the data, then view the pixels; raise ImageError."""
    if encoding in ENCODINGS:
        channels, depth, order = ENCODINGS[encoding]
        pixel_bytes = channels * depth
    elif encoding in CONVERTED:
        pixel_bytes, depth = CONVERTED[encoding][0], 1
    else:
        raise ImageError('encoding', f'encoding {quoted(encoding)} not supported (supported: {", ".join(SUPPORTED)})')
    if height <= 0 or width <= 0:
        raise ImageError('size', f'size {width}x{height}: width and height must be positive')
    if pixel_bytes == 2 and encoding in CONVERTED and width % 2:
        raise ImageError('size', f'width {width} is odd: {encoding} packs pixels in pairs (4 bytes for 2 pixels)')
    if pixel_bytes == 1 and encoding in CONVERTED and min(width, height) < 2:
        raise ImageError('size', f'size {width}x{height}: {encoding} needs at least 2x2 pixels')
    row_bytes = width * pixel_bytes
    if step < row_bytes:
        raise ImageError('step', f'step {step} is less than width*{pixel_bytes} = {row_bytes} bytes '
                                 f'for {encoding}')
    expected = step * height
    if expected > max_bytes:
        raise ImageError('too_large', f'claimed size {step}x{height} = {expected} bytes is over '
                                      f'max_image_bytes {max_bytes}')
    if len(data) != expected:
        raise ImageError('data_length', f'data has {len(data)} bytes, but step*height = {step}*{height} = {expected}')
    raw = np.frombuffer(data, dtype=np.uint8, count=expected)
    if encoding in CONVERTED:
        rows = raw.reshape(height, step)[:, :row_bytes].reshape(height, width, pixel_bytes)
        return DecodedImage(cv2.cvtColor(rows, CONVERTED[encoding][1]), 'rgb')
    if depth == 1:
        rows = raw.reshape(height, step)[:, :row_bytes]
        return DecodedImage(rows.reshape(height, width, channels), order)
    if step % 2:
        raise ImageError('step', f'step {step} is odd for 16-bit encoding {encoding}')
    words = raw.view('>u2' if is_bigendian else '<u2').reshape(height, step // 2)[:, :width * channels]
    return DecodedImage((words >> 8).astype(np.uint8).reshape(height, width, channels), order)


def decode_msg(msg, max_bytes=DEFAULT_MAX_IMAGE_BYTES):
    return decode(msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian, msg.data, max_bytes)


def encode_fields(pixels):
    """Return (height, width, step, data) of an image message for an HxW or HxWxC uint8 array, rows packed."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return height, width, width * channels, pixels.tobytes()
