import dataclasses

import numpy as np
import pytest
from vision_classifier.core.image_encoding import CONVERTED, decode, encode_fields, ENCODINGS, ImageError
from vision_classifier.core.preprocess import to_rgb
from yuv import packed_yuv422


def rgb_image(height=4, width=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def padded(pixels, pad):
    """Rows of `pixels` (HxWxC) followed by `pad` junk bytes each."""
    rows = pixels.reshape(pixels.shape[0], -1)
    junk = np.full((rows.shape[0], pad), 0xAB, np.uint8)
    return np.hstack([rows, junk]).tobytes(), rows.shape[1] + pad


@pytest.mark.parametrize('encoding,convert', [
    ('rgb8', lambda p: p), ('bgr8', lambda p: p[:, :, ::-1]),
    ('rgba8', lambda p: np.dstack([p, np.full(p.shape[:2], 7, np.uint8)])),
    ('bgra8', lambda p: np.dstack([p[:, :, ::-1], np.full(p.shape[:2], 7, np.uint8)])),
])
def test_colour_encodings_with_step_padding_decode_to_the_same_rgb(encoding, convert):
    pixels = rgb_image()
    data, step = padded(np.ascontiguousarray(convert(pixels)), pad=3)
    image = decode(encoding, 4, 5, step, 0, data)
    np.testing.assert_array_equal(to_rgb(image.pixels, image.order), pixels)


def test_decode_is_a_view_of_the_message_data():
    data = bytearray(rgb_image().tobytes())
    image = decode('rgb8', 4, 5, 15, 0, data)
    data[0] = 255 - data[0]
    assert image.pixels[0, 0, 0] == data[0]


def test_mono8_becomes_grey_rgb():
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5)
    data, step = padded(grey[:, :, None], pad=1)
    image = decode('mono8', 4, 5, step, 0, data)
    rgb = to_rgb(image.pixels, image.order)
    assert rgb.shape == (4, 5, 3)
    np.testing.assert_array_equal(rgb[:, :, 1], grey)


@pytest.mark.parametrize('bigendian', [0, 1])
def test_16_bit_encodings_keep_the_high_byte_in_either_byte_order(bigendian):
    pixels = rgb_image()
    words = pixels.astype(np.uint16) * 257
    data = words.astype('>u2' if bigendian else '<u2').tobytes()
    image = decode('rgb16', 4, 5, 30, bigendian, data)
    np.testing.assert_array_equal(image.pixels, pixels)


SUPPORTED_TEXT = ('rgb8, bgr8, rgba8, bgra8, mono8, 8UC1, 8UC3, 8UC4, rgb16, bgr16, rgba16, bgra16, mono16, 16UC1, '
                  '16UC3, yuv422, uyvy, yuv422_yuy2, yuyv, bayer_rggb8, bayer_bggr8, bayer_gbrg8, bayer_grbg8')


@pytest.mark.parametrize('fields,kind,message', [
    (('nv12', 4, 6, 6, 0, bytes(36)), 'encoding', f"encoding 'nv12' not supported (supported: {SUPPORTED_TEXT})"),
    (('', 4, 5, 15, 0, bytes(60)), 'encoding', f'encoding empty not supported (supported: {SUPPORTED_TEXT})'),
    (('x' * 40, 2, 2, 6, 0, bytes(12)), 'encoding',
     f"encoding '{'x' * 40}' not supported (supported: {SUPPORTED_TEXT})"),
    (('y' * 41, 2, 2, 6, 0, bytes(12)), 'encoding',
     f"encoding '{'y' * 40}'... not supported (supported: {SUPPORTED_TEXT})"),
    (('yuv422', 4, 5, 10, 0, bytes(40)), 'size',
     'width 5 is odd: yuv422 packs pixels in pairs (4 bytes for 2 pixels)'),
    (('yuv422_yuy2', 4, 4, 7, 0, bytes(28)), 'step', 'step 7 is less than width*2 = 8 bytes for yuv422_yuy2'),
    (('yuyv', 4, 4, 8, 0, bytes(31)), 'data_length', 'data has 31 bytes, but step*height = 8*4 = 32'),
    (('bayer_rggb8', 1, 4, 4, 0, bytes(4)), 'size', 'size 4x1: bayer_rggb8 needs at least 2x2 pixels'),
    (('bayer_grbg8', 60000, 60000, 60000, 0, bytes(10)), 'too_large',
     'claimed size 60000x60000 = 3600000000 bytes is over max_image_bytes 67108864'),
    (('rgb8', 0, 5, 15, 0, b''), 'size', 'size 5x0: width and height must be positive'),
    (('rgb8', 4, 0, 0, 0, b''), 'size', 'size 0x4: width and height must be positive'),
    (('rgb8', 4, 5, 14, 0, bytes(56)), 'step', 'step 14 is less than width*3 = 15 bytes for rgb8'),
    (('rgb8', 4, 5, 15, 0, bytes(59)), 'data_length', 'data has 59 bytes, but step*height = 15*4 = 60'),
    (('rgb8', 4, 5, 15, 0, bytes(61)), 'data_length', 'data has 61 bytes, but step*height = 15*4 = 60'),
    (('rgb8', 100000, 100000, 300000, 0, bytes(10)), 'too_large',
     'claimed size 300000x100000 = 30000000000 bytes is over max_image_bytes 67108864'),
    (('mono8', 2, 5, 5, 0, bytes(10), 9), 'too_large', 'claimed size 5x2 = 10 bytes is over max_image_bytes 9'),
    (('mono16', 2, 2, 5, 0, bytes(10)), 'step', 'step 5 is odd for 16-bit encoding mono16'),
])
def test_bad_fields_name_the_fault(fields, kind, message):
    with pytest.raises(ImageError) as error:
        decode(*fields)
    assert (error.value.kind, str(error.value)) == (kind, message)


def test_a_claimed_size_of_exactly_max_bytes_is_accepted():
    assert decode('mono8', 2, 5, 5, 0, bytes(10), 10).pixels.shape == (2, 5, 1)


def test_decoded_images_are_immutable():
    image = decode('rgb8', 1, 1, 3, 0, bytes(3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        image.order = 'bgr'


def test_encode_fields_round_trips():
    pixels = rgb_image()
    height, width, step, data = encode_fields(pixels)
    np.testing.assert_array_equal(decode('rgb8', height, width, step, 0, data).pixels, pixels)
    assert set(ENCODINGS) >= {'rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8'}
    grey = rgb_image()[:, :, 0]
    height, width, step, data = encode_fields(grey)
    assert (height, width, step) == (4, 5, 5)
    np.testing.assert_array_equal(decode('mono8', height, width, step, 0, data).pixels[:, :, 0], grey)


# Known colours, converted forward by hand (BT.601 studio range, as V4L2 cameras send YUV; a Bayer mosaic sampled
# from the RGB image) and decoded back.
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0), (200, 120, 40), (30, 160, 220)]


def bayer_mosaic(rgb, pattern):
    """Return the raw sensor rows of an RGB image for a 2x2 `pattern` such as 'rggb' (row 0: r g, row 1: g b)."""
    channel = {'r': 0, 'g': 1, 'b': 2}
    mosaic = np.empty(rgb.shape[:2], np.uint8)
    for i, letter in enumerate(pattern):
        dy, dx = divmod(i, 2)
        mosaic[dy::2, dx::2] = rgb[dy::2, dx::2, channel[letter]]
    return mosaic


def blocks(colours, size=8):
    """Return a 1-row strip of flat `size`x`size` blocks, one per colour."""
    return np.concatenate([np.full((size, size, 3), c, np.uint8) for c in colours], axis=1)


@pytest.mark.parametrize('encoding,order', [('yuv422', 'UYVY'), ('uyvy', 'UYVY'), ('yuv422_yuy2', 'YUYV'),
                                            ('yuyv', 'YUYV')])
def test_yuv422_decodes_known_colours(encoding, order):
    rgb = blocks(COLOURS)
    data, step = padded(packed_yuv422(rgb, order)[:, :, None], pad=6)
    image = decode(encoding, rgb.shape[0], rgb.shape[1], step, 0, data)
    assert image.order == 'rgb' and image.pixels.shape == rgb.shape
    assert np.abs(image.pixels.astype(int) - rgb).max() <= 3


@pytest.mark.parametrize('encoding', ['bayer_rggb8', 'bayer_bggr8', 'bayer_gbrg8', 'bayer_grbg8'])
def test_bayer_decodes_known_colours(encoding):
    rgb = blocks(COLOURS, size=10)
    data, step = padded(bayer_mosaic(rgb, encoding[6:10])[:, :, None], pad=3)
    image = decode(encoding, rgb.shape[0], rgb.shape[1], step, 0, data)
    assert image.order == 'rgb' and image.pixels.shape == rgb.shape
    for i, colour in enumerate(COLOURS):  # inside each block, away from the edges demosaicing blends
        inner = image.pixels[3:7, i * 10 + 3:i * 10 + 7].reshape(-1, 3).astype(int)
        assert np.abs(inner - colour).max() <= 2, (encoding, colour, inner[0])


def test_every_converted_encoding_is_covered():
    assert set(CONVERTED) == {'yuv422', 'uyvy', 'yuv422_yuy2', 'yuyv', 'bayer_rggb8', 'bayer_bggr8', 'bayer_gbrg8',
                              'bayer_grbg8'}


README_ENCODINGS = {  # README, "Image encodings": name -> (channels, bytes per channel, channel order)
    'rgb8': (3, 1, 'rgb'), 'bgr8': (3, 1, 'bgr'), 'rgba8': (4, 1, 'rgba'), 'bgra8': (4, 1, 'bgra'),
    'mono8': (1, 1, 'mono'), '8UC1': (1, 1, 'mono'), '8UC3': (3, 1, 'bgr'), '8UC4': (4, 1, 'bgra'),
    'rgb16': (3, 2, 'rgb'), 'bgr16': (3, 2, 'bgr'), 'rgba16': (4, 2, 'rgba'), 'bgra16': (4, 2, 'bgra'),
    'mono16': (1, 2, 'mono'), '16UC1': (1, 2, 'mono'), '16UC3': (3, 2, 'bgr'),
}


@pytest.mark.parametrize('encoding', sorted(README_ENCODINGS))
def test_every_encoding_the_readme_lists_decodes_with_its_layout(encoding):
    channels, depth, order = README_ENCODINGS[encoding]
    height, width = 2, 3
    values = np.arange(height * width * channels, dtype=np.uint8).reshape(height, width, channels) * 7
    raw = (values.astype(np.uint16) << 8 | 0x5A).astype('>u2') if depth == 2 else values
    step = width * channels * depth + 4
    data = np.hstack([raw.reshape(height, -1).view(np.uint8), np.zeros((height, 4), np.uint8)]).tobytes()
    image = decode(encoding, height, width, step, 1 if depth == 2 else 0, data)
    assert image.order == order and image.pixels.shape == (height, width, channels)
    np.testing.assert_array_equal(image.pixels, values)


BYTES_PER_PIXEL = {**{name: channels * depth for name, (channels, depth, _) in README_ENCODINGS.items()},
                   'yuv422': 2, 'uyvy': 2, 'yuv422_yuy2': 2, 'yuyv': 2,
                   'bayer_rggb8': 1, 'bayer_bggr8': 1, 'bayer_gbrg8': 1, 'bayer_grbg8': 1}


@pytest.mark.parametrize('encoding', sorted(BYTES_PER_PIXEL))
def test_the_least_step_is_width_times_bytes_per_pixel_at_the_smallest_size(encoding):
    height, width = (2, 2) if encoding in CONVERTED else (1, 1)  # 2x2: a Bayer cell or two YUV 4:2:2 pixel pairs
    row = width * BYTES_PER_PIXEL[encoding]
    image = decode(encoding, height, width, row, 0, bytes(row * height))
    assert image.pixels.shape[:2] == (height, width)
    with pytest.raises(ImageError) as error:
        decode(encoding, height, width, row - 1, 0, bytes((row - 1) * height))
    assert error.value.kind == 'step'
