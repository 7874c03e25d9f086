import cv2
import numpy as np
import pytest
from vision_classifier.core.compressed import decode_compressed, image_size
from vision_classifier.core.image_encoding import ImageError
from vision_classifier.core.tflite_model import ModelConfig, TfliteCpuModel
from vision_classifier.core.vision import VisionService


def encode(ext, bgr, *params):
    return cv2.imencode(ext, bgr, list(params))[1].tobytes()


@pytest.mark.parametrize('image_format', ['jpeg', 'png', 'rgb8; jpeg compressed bgr8', 'bgr8; png compressed bgr8', ''])
def test_jpeg_and_png_decode_to_bgr_whatever_the_format_says(image_format, photos):
    bgr = photos['chelsea.png'][:, :, ::-1]
    data = encode('.png', bgr) if 'png' in image_format else encode('.jpg', bgr, cv2.IMWRITE_JPEG_QUALITY, 95)
    image = decode_compressed(image_format, data)
    assert image.order == 'bgr' and image.pixels.shape == bgr.shape
    assert np.abs(image.pixels.astype(int) - bgr).mean() < (0.01 if 'png' in image_format else 3)


def test_grey_and_progressive_jpeg():
    grey = np.tile(np.arange(64, dtype=np.uint8) * 4, (32, 1))
    image = decode_compressed('mono8; jpeg compressed mono8', encode('.jpg', grey))
    assert image.pixels.shape == (32, 64, 3) and np.abs(image.pixels[:, :, 1].astype(int) - grey).max() < 8
    colour = np.full((40, 50, 3), (10, 200, 90), np.uint8)
    image = decode_compressed('jpeg', encode('.jpg', colour, cv2.IMWRITE_JPEG_PROGRESSIVE, 1))
    assert np.abs(image.pixels.astype(int) - colour).max() < 4


def test_the_header_is_checked_before_decoding():
    data = encode('.jpg', np.zeros((30, 40, 3), np.uint8))
    assert image_size(data) == ('JPEG', 40, 30)
    with pytest.raises(ImageError, match=r'JPEG: truncated at \d+ bytes \(no end-of-image marker\)'):
        image_size(data[:-2])
    with pytest.raises(ImageError, match='before its frame header'):
        image_size(data[:20])
    png = encode('.png', np.zeros((30, 40, 3), np.uint8))
    assert image_size(png) == ('PNG', 40, 30)
    with pytest.raises(ImageError, match='no IEND chunk'):
        image_size(png[:-12])
    with pytest.raises(ImageError, match='over max_image_bytes 3599'):
        decode_compressed('png', png, max_bytes=40 * 30 * 3 - 1)
    assert decode_compressed('png', png, max_bytes=40 * 30 * 3).pixels.shape == (30, 40, 3)


@pytest.mark.parametrize('height,width,expected', [(480, 640, (240, 320)), (481, 641, (241, 321)),
                                                   (1080, 1920, (270, 480)), (2000, 2000, (250, 250)),
                                                   (300, 400, (300, 400))])
def test_jpeg_is_decoded_scaled_down_no_smaller_than_asked(height, width, expected):
    data = encode('.jpg', np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    assert decode_compressed('jpeg', data, min_size=(224, 224)).pixels.shape[:2] == expected
    png = encode('.png', np.zeros((height, width, 3), np.uint8))
    assert decode_compressed('png', png, min_size=(224, 224)).pixels.shape[:2] == (height, width)


def test_a_scaled_down_jpeg_is_classified_as_the_full_photo(default_model, photos):
    service = VisionService(TfliteCpuModel(ModelConfig(default_model)))
    big = cv2.resize(photos['coffee.png'][:, :, ::-1], (1280, 960), interpolation=cv2.INTER_CUBIC)
    data = encode('.jpg', big, cv2.IMWRITE_JPEG_QUALITY, 90)
    full, scaled = decode_compressed('jpeg', data), decode_compressed('jpeg', data, min_size=(224, 224))
    assert scaled.pixels.shape == (240, 320, 3)
    top = [service.classify(image.pixels, 1, 'bgr')[0] for image in (full, scaled)]
    assert [c.class_name for c in top] == ['espresso', 'espresso'] and abs(top[0].confidence - top[1].confidence) < 0.2
