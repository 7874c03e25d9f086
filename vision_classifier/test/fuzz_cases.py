"""
Malformed `sensor_msgs/Image` fields and `CompressedImage` data, made from a fixed seed.

Each is tagged with the ImageError kind it must give: the cases of the image fuzz tests (core/test_fuzz_decoding.py,
nodes/test_fuzz_images.py).
"""
from dataclasses import dataclass
import itertools
import string

import cv2
import numpy as np
from support import fixture_model
from vision_classifier.core.image_encoding import CONVERTED, DEFAULT_MAX_IMAGE_BYTES, ENCODINGS

SEED = 20240611
UINT32 = 2**32 - 1
MAX_BYTES = DEFAULT_MAX_IMAGE_BYTES  # the nodes' default max_image_bytes
KINDS = ('encoding', 'size', 'step', 'too_large', 'data_length')
SIXTEEN_BIT = {'rgb8': 'rgb16', 'bgr8': 'bgr16', 'rgba8': 'rgba16', 'bgra8': 'bgra16', 'mono8': 'mono16',
               '8UC1': '16UC1', '8UC3': '16UC3'}
UNSUPPORTED = ['YUV422', 'yuv', 'nv12', 'nv21', 'nv24', 'bayer_rggb', 'bayer_rgbg8', 'jpeg', 'png', 'RGB8', 'Mono8',
               'BGR8', ' rgb8', 'rgb8 ', 'rgb 8', 'bgr8\n', 'rgb8;', 'rgb', 'mono', '8UC',
               '8UC2', '8SC1', '8SC3', 'rgb8\u00e9', '\u753b\u50cf', 'rgb16be', 'mono16_be', 'rgba16le']
UNSUPPORTED_DEEP = ['16SC1', '16SC3', '16UC2', '16UC4', '32FC1', '32FC3', '32SC1', '64FC1', 'bayer_rggb16',
                    'bayer_gbrg16', 'mono32', 'rgb32f', 'rgba32f']
PALETTE = [(230, 20, 20), (20, 230, 20), (20, 20, 230), (128, 128, 128), (250, 250, 250), (0, 0, 0),
           (230, 230, 20), (20, 230, 230), (230, 20, 230)]
MODEL = fixture_model('with_metadata.tflite')  # 8x8 input, labels red/green/blue/gray: fast rounds


ALL_ENCODINGS = (*ENCODINGS, *CONVERTED)


def layout(encoding):
    """(bytes per pixel, bytes per channel) of a supported encoding."""
    if encoding in ENCODINGS:
        channels, depth, _ = ENCODINGS[encoding]
        return channels * depth, depth
    return CONVERTED[encoding][0], 1


def order_of(encoding):
    return ENCODINGS[encoding][2] if encoding in ENCODINGS else 'rgb'


def fit_width(encoding, width):
    """Return a width the encoding allows: even for YUV 4:2:2, at least 2 for Bayer."""
    if encoding in CONVERTED:
        return width + width % 2 if CONVERTED[encoding][0] == 2 else max(2, width)
    return width


def fit_height(encoding, height):
    return max(2, height) if encoding in CONVERTED and CONVERTED[encoding][0] == 1 else height


@dataclass
class Case:
    fault: str            # what was broken ('good' for a valid image)
    kind: str             # the ImageError kind decode must raise; None for a good image
    encoding: str
    height: int
    width: int
    step: int
    is_bigendian: int
    data: bytes
    pixels: np.ndarray = None  # good images: the 8-bit HxWxC pixels decode must give

    def fields(self):
        return self.encoding, self.height, self.width, self.step, self.is_bigendian, self.data


def good_case(rng, encoding=None, max_side=24, pad=None):
    """
    Return a valid image: random size, encoding, endianness and row padding.

    Its pixels are near a palette colour (raw encodings) or random bytes (YUV, Bayer: their pixels are OpenCV's
    conversion of the unpadded rows).
    """
    encoding = encoding or str(rng.choice(ALL_ENCODINGS))
    height, width = (int(v) for v in rng.integers(1, max_side + 1, 2))
    height, width = fit_height(encoding, height), fit_width(encoding, width)
    big = int(rng.integers(2))
    if encoding in CONVERTED:
        pixel_bytes, code = CONVERTED[encoding]
        rows = rng.integers(0, 256, (height, width * pixel_bytes), dtype=np.uint8)
        pixels = cv2.cvtColor(rows.reshape(height, width, pixel_bytes), code)
        depth = 1
    else:
        channels, depth, order = ENCODINGS[encoding]
        colour = np.array(PALETTE[rng.integers(len(PALETTE))] + (255,))[:channels] if channels > 1 else \
            np.array([PALETTE[rng.integers(len(PALETTE))][0]])
        if order.startswith('bgr'):
            colour[:3] = colour[2::-1]
        noise = rng.integers(-15, 16, (height, width, channels))
        pixels = np.clip(colour + noise, 0, 255).astype(np.uint8)
        if depth == 1:
            rows = pixels.reshape(height, -1)
        else:  # the high byte carries the pixel, the low byte is noise
            words = (pixels.astype(np.uint16) << 8) | rng.integers(0, 256, pixels.shape, dtype=np.uint16)
            rows = words.astype('>u2' if big else '<u2').view(np.uint8).reshape(height, -1)
    pad = int(rng.integers(4)) * depth if pad is None else pad
    rows = np.hstack([rows, rng.integers(0, 256, (height, pad), dtype=np.uint8)])
    return Case('good', None, encoding, height, width, rows.shape[1], big, rows.tobytes(), pixels)


def _log_uniform(rng, low, high):
    return int(min(high, max(low, round(np.exp(rng.uniform(np.log(low), np.log(high)))))))


def _row_bytes(case):
    return case.width * layout(case.encoding)[0]


def _junk(rng, low, high):
    return rng.integers(0, 256, int(rng.integers(low, high + 1)), dtype=np.uint8).tobytes()


def _unknown_encoding(rng, c):
    c.encoding = str(rng.choice(UNSUPPORTED))


def _garbage_encoding(rng, c):
    length = _log_uniform(rng, 1, 4096)
    c.encoding = ''.join(rng.choice(list(string.printable), length))
    if c.encoding in ALL_ENCODINGS:
        c.encoding += '?'


def _empty_encoding(rng, c):
    c.encoding = ''


def _unsupported_deep(rng, c):
    c.encoding = str(rng.choice(UNSUPPORTED_DEEP))
    c.is_bigendian = int(rng.integers(2))


def _zero_size(rng, c):
    which = int(rng.integers(3))
    c.width = 0 if which != 1 else c.width
    c.height = 0 if which != 0 else c.height
    if rng.integers(2):
        c.data, c.step = b'', int(rng.integers(0, c.step + 1))


def _short_step(rng, c):
    c.step = int(rng.integers(0, _row_bytes(c)))
    c.data = _junk(rng, c.step * c.height, c.step * c.height)


def _width_grows(rng, c):
    c.width = fit_width(c.encoding, c.width + (c.step - _row_bytes(c)) // layout(c.encoding)[0]
                        + int(rng.integers(1, 1000)))


def _odd_step_16bit(rng, c):
    c.step = _row_bytes(c) + 2 * int(rng.integers(0, 4)) + 1
    c.data = _junk(rng, c.step * c.height, c.step * c.height)


def _eight_bit_data_16bit_label(rng, c):
    c.encoding = SIXTEEN_BIT[c.encoding]


def _huge_claim(rng, c):
    """Sizes far over max_image_bytes (up to the uint32 limits) backed by a few bytes."""
    pixel_bytes, depth = layout(c.encoding)
    while True:
        if rng.integers(4) == 0:
            c.width = c.height = 60000
        else:
            c.width = fit_width(c.encoding, _log_uniform(rng, 1, UINT32 // pixel_bytes - 1))
            c.height = fit_height(c.encoding, _log_uniform(rng, 1, UINT32))
        c.step = min(UINT32, _row_bytes(c) + int(rng.integers(0, 64)) * depth)
        if c.step * c.height > MAX_BYTES:
            break
    c.data = _junk(rng, 0, 64)
    c.is_bigendian = int(rng.integers(256))


def _huge_step(rng, c):
    c.step = _log_uniform(rng, max(_row_bytes(c), MAX_BYTES // c.height + 1), UINT32)
    if c.step * c.height <= MAX_BYTES:
        c.step = MAX_BYTES // c.height + 1
    c.data = _junk(rng, 0, 64)


def _claim_under_max(rng, c):
    """Make a claim the limit allows (1 MiB up to max_image_bytes) with a few bytes of data."""
    target = _log_uniform(rng, 2**20, MAX_BYTES)
    pixel_bytes, min_height = layout(c.encoding)[0], fit_height(c.encoding, 1)
    c.width = fit_width(c.encoding, _log_uniform(rng, 1, target // (pixel_bytes * min_height) - 2))
    c.step = _row_bytes(c)
    c.height = fit_height(c.encoding, max(1, target // c.step))
    c.data = _junk(rng, 0, 64)


def _truncated(rng, c):
    c.data = c.data[:int(rng.integers(0, len(c.data)))]


def _extra_data(rng, c):
    c.data += _junk(rng, 1, 64)


def _height_mismatch(rng, c):
    low = fit_height(c.encoding, 1)
    c.height = c.height + int(rng.integers(1, 100)) if c.height <= low or rng.integers(2) else \
        int(rng.integers(low, c.height))


def _step_grows(rng, c):
    c.step += int(rng.integers(1, 64))


def _sixteen_bit_label_double_step(rng, c):
    c.encoding, c.step = SIXTEEN_BIT[c.encoding], 2 * c.step


def _odd_width_yuv(rng, c):
    c.width += 1
    c.step = max(c.step, _row_bytes(c))
    c.data = _junk(rng, c.step * c.height, c.step * c.height)


def _bayer_one_row(rng, c):
    setattr(c, 'height' if rng.integers(2) else 'width', 1)
    c.step = max(c.step, _row_bytes(c))
    c.data = _junk(rng, c.step * c.height, c.step * c.height)


YUV = [e for e, (pixel_bytes, _) in CONVERTED.items() if pixel_bytes == 2]
BAYER = [e for e, (pixel_bytes, _) in CONVERTED.items() if pixel_bytes == 1]

# fault: (kind decode must raise, mutation, encodings of the good image it starts from; None: any)
FAULTS = {
    'unknown_encoding': ('encoding', _unknown_encoding, None),
    'garbage_encoding': ('encoding', _garbage_encoding, None),
    'empty_encoding': ('encoding', _empty_encoding, None),
    'unsupported_16_32_bit': ('encoding', _unsupported_deep, None),
    'zero_size': ('size', _zero_size, None),
    'short_step': ('step', _short_step, None),
    'width_grows': ('step', _width_grows, None),
    'odd_step_16bit': ('step', _odd_step_16bit, [e for e, (_, d, _) in ENCODINGS.items() if d == 2]),
    '8bit_data_16bit_label': ('step', _eight_bit_data_16bit_label, list(SIXTEEN_BIT)),
    'huge_claim': ('too_large', _huge_claim, None),
    'huge_step': ('too_large', _huge_step, None),
    'claim_under_max_little_data': ('data_length', _claim_under_max, None),
    'truncated': ('data_length', _truncated, None),
    'empty_data': ('data_length', lambda rng, c: setattr(c, 'data', b''), None),
    'extra_data': ('data_length', _extra_data, None),
    'height_mismatch': ('data_length', _height_mismatch, None),
    'step_grows': ('data_length', _step_grows, None),
    '16bit_label_double_step': ('data_length', _sixteen_bit_label_double_step, list(SIXTEEN_BIT)),
    'big_endian_16bit_truncated': ('data_length', _truncated, ['rgb16', 'bgr16', 'mono16', '16UC1', '16UC3']),
    'odd_width_yuv422': ('size', _odd_width_yuv, YUV),
    'bayer_one_row_or_column': ('size', _bayer_one_row, BAYER),
    'yuv_bayer_truncated': ('data_length', _truncated, YUV + BAYER),
    'yuv_bayer_huge_claim': ('too_large', _huge_claim, YUV + BAYER),
}


def bad_case(rng, fault):
    kind, mutate, encodings = FAULTS[fault]
    case = good_case(rng, str(rng.choice(encodings)) if encodings else None, max_side=16,
                     pad=0 if fault == '8bit_data_16bit_label' else None)
    if fault == 'big_endian_16bit_truncated':
        case.is_bigendian = 1
    mutate(rng, case)
    case.fault, case.kind, case.pixels = fault, kind, None
    return case


def bad_cases(seed, count):
    """`count` malformed images, the fault classes taken in turn."""
    rng = np.random.default_rng(seed)
    faults = list(FAULTS)
    return [bad_case(rng, faults[i % len(faults)]) for i in range(count)]


def good_cases(seed, count=None):
    """`count` valid images, or as many as are asked for."""
    rng = np.random.default_rng(seed)
    cases = (good_case(rng) for _ in itertools.count())
    return cases if count is None else [next(cases) for _ in range(count)]


# In-process: decode itself

# CompressedImage data: truncated, garbage, bombs (headers claiming far more pixels than max_image_bytes)

def encoded(rng, codec):
    """Return a JPEG (baseline or progressive) or PNG of a random small image, and the image (BGR)."""
    height, width = (int(v) for v in rng.integers(1, 40, 2))
    bgr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    params = [cv2.IMWRITE_JPEG_PROGRESSIVE, int(rng.integers(2))] if codec == 'jpeg' else []
    return cv2.imencode('.jpg' if codec == 'jpeg' else '.png', bgr, params)[1].tobytes(), bgr


def with_size(data, width, height):
    """JPEG or PNG `data` whose header claims width x height (PNG: IHDR's CRC left stale)."""
    data = bytearray(data)
    if data.startswith(b'\x89PNG'):
        data[16:24] = width.to_bytes(4, 'big') + height.to_bytes(4, 'big')
        return bytes(data)
    i = 2
    while data[i + 1] not in (0xC0, 0xC2):  # to the frame header
        i += 2 + int.from_bytes(data[i + 2:i + 4], 'big')
    data[i + 5:i + 9] = height.to_bytes(2, 'big') + width.to_bytes(2, 'big')
    return bytes(data)


def _bomb(rng, data):
    limit = 65535 if data.startswith(b'\xff\xd8') else UINT32
    while True:
        width, height = _log_uniform(rng, 1, limit), _log_uniform(rng, 1, limit)
        if width * height * 3 > MAX_BYTES:
            return with_size(data, width, height)


def _flip_in_compressed_data(rng, data):
    data = bytearray(data)
    start = data.index(b'IDAT') + 8
    data[int(rng.integers(start, len(data) - 16))] ^= 0xFF
    return bytes(data)


# fault: (kinds allowed, codec of the good data it starts from, mutation of the data)
COMPRESSED_FAULTS = {
    'truncated': ({'compressed'}, None, lambda rng, d: d[:int(rng.integers(0, len(d) - 1))]),
    'empty': ({'compressed'}, None, lambda rng, d: b''),
    'garbage': ({'compressed'}, None, lambda rng, d: b'\0' + _junk(rng, 0, 5000)),
    'jpeg_magic_then_garbage': ({'compressed', 'size', 'too_large'}, 'jpeg',
                                lambda rng, d: b'\xff\xd8\xff' + _junk(rng, 0, 5000)),
    'png_magic_then_garbage': ({'compressed', 'size', 'too_large'}, 'png', lambda rng, d: d[:8] + _junk(rng, 0, 5000)),
    'no_frame_header': ({'compressed'}, 'jpeg', lambda rng, d: b'\xff\xd8\xff\xd9'),
    'png_corrupt_data': ({'compressed'}, 'png', _flip_in_compressed_data),
    'bomb': ({'too_large'}, None, _bomb),
    'zero_size': ({'size'}, None, lambda rng, d: with_size(d, 0, int(rng.integers(0, 100)))),
}


def compressed_cases(seed, count):
    """(fault, kinds allowed, format, data): the fault classes in turn."""
    rng = np.random.default_rng(seed)
    faults = list(COMPRESSED_FAULTS)
    cases = []
    for i in range(count):
        fault = faults[i % len(faults)]
        kinds, codec, mutate = COMPRESSED_FAULTS[fault]
        codec = codec or str(rng.choice(['jpeg', 'png']))
        data, _ = encoded(rng, codec)
        cases.append((fault, kinds, str(rng.choice([codec, f'rgb8; {codec} compressed bgr8', ''])), mutate(rng, data)))
    return cases
