"""
Decode `sensor_msgs/CompressedImage` data (JPEG, PNG).

The size is read from the header first, so an image that claims more than max_bytes of pixels is rejected before
anything is decoded (a decompression bomb allocates nothing).
"""
import cv2
import numpy as np

from vision_classifier.core.image_encoding import DecodedImage, DEFAULT_MAX_IMAGE_BYTES, ImageError, quoted

JPEG_MAGIC = b'\xff\xd8'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
JPEG_STANDALONE = {0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8}


def _fault(message):
    return ImageError('compressed', message)


def jpeg_size(data):
    """Return (width, height, offset of the frame header) from a JPEG's start-of-frame segment; raise ImageError."""
    i, n = 2, len(data)
    while i < n:
        if data[i] != 0xFF:
            raise _fault(f'JPEG: no marker at byte {i} (corrupt data)')
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            break
        marker = data[i]
        i += 1
        if marker in JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):
            raise _fault('JPEG: no frame header before the image data (corrupt data)')
        if i + 2 > n:
            break
        length = data[i] << 8 | data[i + 1]
        if length < 2:
            raise _fault(f'JPEG: segment length {length} at byte {i} (corrupt data)')
        if marker in JPEG_SOF:
            if i + 7 > n:
                break
            return data[i + 5] << 8 | data[i + 6], data[i + 3] << 8 | data[i + 4], i
        i += length
    raise _fault(f'JPEG: truncated at {n} bytes, before its frame header')


def png_size(data):
    """Return (width, height) from a PNG's IHDR chunk; raise ImageError."""
    if len(data) < 33 or data[12:16] != b'IHDR':
        raise _fault(f'PNG: no IHDR chunk in its first 33 bytes ({len(data)} bytes in all)')
    return int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24], 'big')


def image_size(data):
    """Return (codec, width, height) from the header of JPEG or PNG `data`, after checking that it is complete."""
    if data.startswith(JPEG_MAGIC):
        width, height, frame = jpeg_size(data)
        if data.rfind(b'\xff\xd9') < frame:
            raise _fault(f'JPEG: truncated at {len(data)} bytes (no end-of-image marker)')
        return 'JPEG', width, height
    if data.startswith(PNG_MAGIC):
        width, height = png_size(data)
        if data.rfind(b'IEND') < 33:
            raise _fault(f'PNG: truncated at {len(data)} bytes (no IEND chunk)')
        return 'PNG', width, height
    if not data:
        raise _fault('data is empty')
    raise _fault(f'data is neither JPEG nor PNG (starts with {data[:8].hex(" ")})')


def check_size(codec, width, height, max_bytes):
    """Raise ImageError unless a `codec` header's width and height are positive and their pixels fit max_bytes."""
    if width <= 0 or height <= 0:
        raise ImageError('size', f'{codec} header says {width}x{height}: width and height must be positive')
    decoded_bytes = width * height * 3
    if decoded_bytes > max_bytes:
        raise ImageError('too_large', f'{codec} header claims {width}x{height} = {decoded_bytes} bytes of pixels, '
                                      f'over max_image_bytes {max_bytes}')


JPEG_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def _ceil_div(a, b):
    return -(-a // b)


def decode_compressed(format, data, max_bytes=DEFAULT_MAX_IMAGE_BYTES, min_size=None):  # noqa: A002
    """
    Return the BGR pixels of a CompressedImage's `data`; raise ImageError.

    `format` (e.g. `jpeg`, `rgb8; jpeg compressed bgr8`) is only checked for depth images: the data's own header
    tells JPEG from PNG. With `min_size` (height, width), a JPEG is decoded scaled down by 2, 4 or 8 (libjpeg's DCT
    scaling: a fraction of the work) as long as it stays at least that large.
    """
    if 'compresseddepth' in format.lower():
        raise ImageError('encoding', f'format {quoted(format)}: compressed depth images are not supported')
    data = bytes(data)
    codec, width, height = image_size(data)
    check_size(codec, width, height, max_bytes)
    flag, factor = cv2.IMREAD_COLOR, 1
    if codec == 'JPEG' and min_size:
        flag, factor = next(((f, r) for r, f in JPEG_REDUCED if _ceil_div(height, r) >= min_size[0]
                             and _ceil_div(width, r) >= min_size[1]), (flag, factor))
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    except cv2.error as e:
        raise _fault(f'{codec} {width}x{height}: cannot decode: {str(e).strip()[-200:]}') from None
    if pixels is None:
        raise _fault(f'{codec} {width}x{height}: cannot decode (corrupt data)')
    if pixels.shape[:2] != (_ceil_div(height, factor), _ceil_div(width, factor)):
        raise _fault(f'{codec}: decoded {pixels.shape[1]}x{pixels.shape[0]}, but the header says {width}x{height}'
                     + (f' (scaled by 1/{factor})' if factor > 1 else ''))
    return DecodedImage(pixels, 'bgr')


def decode_compressed_msg(msg, max_bytes=DEFAULT_MAX_IMAGE_BYTES, min_size=None):
    return decode_compressed(msg.format, msg.data, max_bytes, min_size)


def encode_jpeg(pixels, order='rgb', quality=90):
    """Return the JPEG bytes of an HxWx3 uint8 image with channels in `order` ('rgb' or 'bgr')."""
    bgr = pixels if order == 'bgr' else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError('JPEG encoding failed')
    return encoded.tobytes()
