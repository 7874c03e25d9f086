"""Image files read as RGB: the size in each format's header is checked before anything is decoded."""
import struct

import cv2
from fuzz_cases import with_size
from image_bombs import bomb_png
import numpy as np
import pytest
from vision_classifier.core.camera_sources import ImageFileSource, ImageFolderSource, SourceError
from vision_classifier.core.image_files import file_image_size, ImageFileError, read_rgb

LIMIT = 64 * 1024 * 1024
RGB = np.random.default_rng(7).integers(0, 256, (37, 53, 3), dtype=np.uint8)
# suffix: (OpenCV's encoding parameters, lossless, grey)
FORMATS = {'.jpg': ([], False, False), '.png': ([], True, False), '.bmp': ([], True, False),
           '.tiff': ([], True, False), '.webp': ([cv2.IMWRITE_WEBP_QUALITY, 101], True, False),
           '.webp_lossy': ([cv2.IMWRITE_WEBP_QUALITY, 90], False, False), '.ppm': ([], True, False),
           '.pgm': ([], True, True), '.pbm': ([], False, True)}


def encoded(suffix):
    params, _, grey = FORMATS[suffix]
    pixels = RGB[:, :, ::-1] if not grey else RGB[:, :, 0]
    return cv2.imencode(suffix.split('_')[0], pixels, params)[1].tobytes()


@pytest.mark.parametrize('suffix', FORMATS)
def test_each_format_is_read_with_the_size_of_its_header(tmp_path, suffix):
    data = encoded(suffix)
    assert file_image_size(data)[1:] == (53, 37)
    path = tmp_path / f'image{suffix.split("_")[0]}'
    path.write_bytes(data)
    image = read_rgb(path)
    assert image.shape == (37, 53, 3) and image.dtype == np.uint8
    _, lossless, grey = FORMATS[suffix]
    if lossless:
        expected = RGB if not grey else np.repeat(RGB[:, :, :1], 3, axis=2)
        assert np.array_equal(image, expected)


def tiff_header(width, height, big_endian=False):
    """Return a TIFF whose only directory holds ImageWidth (LONG) and ImageLength (SHORT), and no pixels."""
    e = '>' if big_endian else '<'
    return ((b'MM\x00*' if big_endian else b'II*\x00') + struct.pack(f'{e}IH', 8, 2)
            + struct.pack(f'{e}HHII', 256, 4, 1, width) + struct.pack(f'{e}HHIHH', 257, 3, 1, height, 0)
            + struct.pack(f'{e}I', 0))


def bmp_with_size(data, width, height):
    return data[:18] + struct.pack('<ii', width, height) + data[26:]


def webp_extended(width, height):
    body = bytes(4) + (width - 1).to_bytes(3, 'little') + (height - 1).to_bytes(3, 'little')
    return b'RIFF' + struct.pack('<I', 4 + 8 + len(body)) + b'WEBP' + b'VP8X' + struct.pack('<I', len(body)) + body


def webp_lossless(width, height):
    body = b'\x2f' + ((width - 1) | (height - 1) << 14).to_bytes(4, 'little') + bytes(16)
    return b'RIFF' + struct.pack('<I', 4 + 8 + len(body)) + b'WEBP' + b'VP8L' + struct.pack('<I', len(body)) + body


# name: (file data, format, width, height it claims)
CLAIMS = {
    'png_decodable_bomb': (bomb_png(30000, 30000), 'PNG', 30000, 30000),
    'jpeg': (with_size(encoded('.jpg'), 60000, 50000), 'JPEG', 60000, 50000),
    'bmp': (bmp_with_size(encoded('.bmp'), 30000, 30000), 'BMP', 30000, 30000),
    'bmp_top_down': (bmp_with_size(encoded('.bmp'), 30000, -30000), 'BMP', 30000, 30000),
    'ppm_with_comments': (b'P6\n# made by hand\n30000 # wide\n 30000\n255\n' + bytes(100), 'PNM', 30000, 30000),
    'pbm': (b'P4 100000 100000\n' + bytes(100), 'PNM', 100000, 100000),
    'tiff': (tiff_header(40000, 30000), 'TIFF', 40000, 30000),
    'tiff_big_endian': (tiff_header(40000, 30000, big_endian=True), 'TIFF', 40000, 30000),
    'webp_extended': (webp_extended(16000000, 16000000), 'WebP', 16000000, 16000000),
    'webp_lossless': (webp_lossless(16384, 16384), 'WebP', 16384, 16384),
}


@pytest.mark.parametrize('name', CLAIMS)
def test_a_header_claiming_too_many_pixels_is_refused_before_decoding(tmp_path, name):
    data, codec, width, height = CLAIMS[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ImageFileError) as error:
        read_rgb(path)
    claim = f'{codec} header claims {width}x{height} = {width * height * 3} bytes of pixels, over max_image_bytes'
    assert str(error.value) == f'{path}: {claim} {LIMIT}' and error.value.kind == 'too_large'
    with pytest.raises(ImageFileError, match=f'{claim} 12345$'):
        read_rgb(path, max_bytes=12345)


def test_the_limit_is_on_width_times_height_times_3(tmp_path):
    path = tmp_path / 'a.png'
    cv2.imwrite(str(path), RGB)
    assert read_rgb(path, max_bytes=53 * 37 * 3).shape == (37, 53, 3)
    with pytest.raises(ImageFileError, match='PNG header claims 53x37 = 5883 bytes of pixels'):
        read_rgb(path, max_bytes=53 * 37 * 3 - 1)


def test_unreadable_files_name_their_cause(tmp_path):
    jpeg = encoded('.jpg')
    cases = {'missing.png': (None, 'no such file'), 'folder.png': ('folder', 'is a directory'),
             'empty.png': (b'', 'not a readable image (JPEG, PNG, BMP, TIFF, WebP or PBM/PGM/PPM expected)'),
             'text.jpg': (b'hello', 'not a readable image (JPEG, PNG, BMP, TIFF, WebP or PBM/PGM/PPM expected)'),
             'truncated.jpg': (jpeg[:len(jpeg) // 2], 'not a readable image'),
             'zero_width.bmp': (bmp_with_size(encoded('.bmp'), 0, 37), 'not a readable image'),
             'jpeg2000.jp2': (cv2.imencode('.jp2', RGB)[1].tobytes(),
                              'not a readable image (JPEG, PNG, BMP, TIFF, WebP or PBM/PGM/PPM expected)')}
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        if content == 'folder':
            path.mkdir()
        elif content is not None:
            path.write_bytes(content)
        with pytest.raises(ImageFileError) as error:
            read_rgb(path)
        assert str(error.value) == f'{path}: {reason}' and error.value.reason == reason, name
    with pytest.raises(ImageFileError, match='^/dev/null: not a regular file$'):
        read_rgb('/dev/null')


def test_the_camera_sources_name_the_claimed_size(tmp_path):
    bomb = tmp_path / 'bomb.png'
    bomb.write_bytes(bomb_png(30000, 30000))
    claim = f'PNG header claims 30000x30000 = 2700000000 bytes of pixels, over max_image_bytes {LIMIT}'
    with pytest.raises(SourceError, match=f'^image_file {bomb}: {claim}$'):
        ImageFileSource(bomb).open()
    cv2.imwrite(str(tmp_path / 'good.png'), RGB)
    with ImageFolderSource(tmp_path) as folder:
        with pytest.raises(SourceError, match=f'^image_folder {tmp_path}: skipped {bomb}: {claim}$'):
            folder.read()
        assert folder.read().shape == (37, 53, 3)
