"""
Image fuzz in-process.

Malformed `sensor_msgs/Image` fields (raw, YUV 4:2:2 and Bayer encodings) and `CompressedImage` data checked against
`image_encoding.decode` and `compressed.decode_compressed`.
"""
import resource
import tracemalloc

from fuzz_cases import (ALL_ENCODINGS, bad_cases, compressed_cases, encoded, good_cases, KINDS, layout, MAX_BYTES,
                        SEED, UINT32)
import numpy as np
import pytest
from vision_classifier.core.compressed import decode_compressed
from vision_classifier.core.image_encoding import decode, ImageError


def test_every_malformed_image_raises_its_image_error_and_allocates_nothing_for_its_claim():
    cases = bad_cases(SEED, 12000)
    tracemalloc.start()
    try:
        for case in cases:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            try:
                decode(*case.fields(), max_bytes=MAX_BYTES)
            except ImageError as e:
                error = e
            else:
                pytest.fail(f'{case.fault}: accepted {case.fields()[:5]} with {len(case.data)} bytes')
            grown = tracemalloc.get_traced_memory()[1] - before
            assert error.kind == case.kind, (case.fault, case.fields()[:5], len(case.data), str(error))
            assert grown < 64 * 1024, (case.fault, case.fields()[:5], f'{grown} bytes allocated')
            assert len(str(error)) < 1000, (case.fault, str(error)[:200])
    finally:
        tracemalloc.stop()
    claims = [case.step * case.height for case in cases]
    assert sum(c > 2**30 for c in claims) > 500, 'plenty of claims over a GiB'
    assert {case.kind for case in cases} == set(KINDS)


@pytest.mark.parametrize('max_bytes', [MAX_BYTES, 2**31 - 1])
def test_huge_claims_with_ten_bytes_allocate_nothing_near_their_size(max_bytes):
    tracemalloc.start()
    try:
        for encoding, height, width in [('rgb8', 60000, 60000), ('mono8', 40000, 40000), ('rgba16', 23170, 23170),
                                        ('mono16', UINT32, 1), ('yuv422', 60000, 60000), ('bayer_bggr8', 60000, 60000)]:
            row = width * layout(encoding)[0]
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            with pytest.raises(ImageError) as error:
                decode(encoding, height, width, row, 1, bytes(10), max_bytes=max_bytes)
            assert error.value.kind == ('too_large' if row * height > max_bytes else 'data_length')
            assert tracemalloc.get_traced_memory()[1] - before < 64 * 1024
    finally:
        tracemalloc.stop()


def test_error_messages_name_the_fault():
    for case in bad_cases(SEED + 1, 500):
        with pytest.raises(ImageError) as error:
            decode(*case.fields(), max_bytes=MAX_BYTES)
        message = str(error.value)
        size = {'odd_width_yuv422': f'width {case.width} is odd: {case.encoding} packs pixels in pairs',
                'bayer_one_row_or_column': f'{case.encoding} needs at least 2x2 pixels'}
        expected = {'encoding': 'not supported', 'size': size.get(case.fault, 'width and height must be positive'),
                    'step': f'step {case.step} is ', 'too_large': 'over max_image_bytes',
                    'data_length': f'data has {len(case.data)} bytes'}[case.kind]
        assert expected in message, (case.fault, message)


def test_good_images_of_every_encoding_and_byte_order_decode_to_their_pixels():
    cases = good_cases(SEED, 2000)
    for case in cases:
        image = decode(*case.fields(), max_bytes=MAX_BYTES)
        np.testing.assert_array_equal(image.pixels, case.pixels, err_msg=f'{case.encoding} {case.is_bigendian}')
    assert {(c.encoding, c.is_bigendian) for c in cases} >= {(e, b) for e in ALL_ENCODINGS for b in (0, 1)}


def test_every_malformed_compressed_image_raises_its_image_error_and_no_bomb_is_decoded():
    cases = compressed_cases(SEED + 7, 3000)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        for fault, kinds, image_format, data in cases:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            with pytest.raises(ImageError) as error:
                decode_compressed(image_format, data, MAX_BYTES)
            grown = tracemalloc.get_traced_memory()[1] - before
            assert error.value.kind in kinds, (fault, image_format, data[:40], str(error.value))
            assert grown < 2 * len(data) + 64 * 1024, (fault, f'{grown} bytes allocated')
            assert len(str(error.value)) < 1000
    finally:
        tracemalloc.stop()
    # the bombs claim up to 12 GiB (JPEG) and 48 EiB (PNG) of pixels: none was decoded
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 100 * 1024  # KiB
    with pytest.raises(ImageError, match='compressed depth images are not supported') as error:
        decode_compressed('16UC1; compressedDepth png', cases[0][3])
    assert error.value.kind == 'encoding'


def test_good_compressed_images_decode_to_their_pixels():
    rng = np.random.default_rng(SEED + 8)
    for i in range(300):
        codec = ('jpeg', 'png')[i % 2]
        data, bgr = encoded(rng, codec)
        image = decode_compressed(f'bgr8; {codec} compressed bgr8', data, MAX_BYTES)
        assert image.order == 'bgr' and image.pixels.shape == bgr.shape
        if codec == 'png':
            np.testing.assert_array_equal(image.pixels, bgr)
