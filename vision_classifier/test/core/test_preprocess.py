"""Input tensors from images: layout, size, value conversion (Viam's mlmodel rules), without a model."""
import dataclasses

import cv2
import numpy as np
import pytest

from vision_classifier.core.preprocess import InputError, InputSpec, Normalization, Preprocessor, to_rgb

RNG = np.random.default_rng(3)


def image(height=6, width=10):
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize('shape,channels_first,size', [
    ((1, 224, 224, 3), False, (224, 224)),
    ((1, 3, 224, 160), True, (224, 160)),
    ((1, 3, 8, 3), False, (3, 8)),       # both 3: NHWC
    ((1, -1, -1, 3), False, (-1, -1)),
    ((-1, 3, -1, -1), True, (-1, -1)),
])
def test_layout_and_size(shape, channels_first, size):
    spec = InputSpec(shape, np.float32)
    assert spec.channels_first is channels_first and spec.size == size
    spec.validate()


@pytest.mark.parametrize('spec,message', [
    (InputSpec((224, 224, 3), np.uint8), 'input tensor shape [224, 224, 3]: expected [1, H, W, 3] or [1, 3, H, W]'),
    (InputSpec((2, 224, 224, 3), np.uint8),
     'input tensor shape [2, 224, 224, 3]: expected [1, H, W, 3] or [1, 3, H, W]'),
    (InputSpec((1, 224, 224, 1), np.uint8), 'input tensor shape [1, 224, 224, 1]: expected 3 colour channels'),
    (InputSpec((1, 0, 224, 3), np.uint8),
     'input tensor shape [1, 0, 224, 3]: expected a positive height and width, or -1'),
    (InputSpec((1, 3, 224, -2), np.uint8),
     'input tensor shape [1, 3, 224, -2]: expected a positive height and width, or -1'),
    (InputSpec((1, 224, 224, 3), np.float16), 'input tensor type float16: expected uint8, int8 or float32'),
    (InputSpec((1, 224, 224, 3), np.int8), 'int8 input tensor without quantization parameters'),
])
def test_invalid_inputs_are_refused_with_the_cause(spec, message):
    with pytest.raises(InputError) as error:
        Preprocessor(spec)
    assert str(error.value) == message


def test_specs_and_normalizations_are_immutable_values():
    spec, normalization = InputSpec((1, 4, 4, 3), np.uint8), Normalization()
    assert hash(spec) == hash(InputSpec((1, 4, 4, 3), np.uint8)) and hash(normalization) == hash(Normalization())
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.shape = (1, 8, 8, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        normalization.std = (1.0, 1.0, 1.0)  # Preprocessor's default Normalization() is shared


def test_uint8_nhwc_is_the_bilinear_resize_itself():
    src = image()
    tensor = Preprocessor(InputSpec((1, 4, 5, 3), np.uint8))(src)
    assert tensor.shape == (1, 4, 5, 3) and tensor.dtype == np.uint8 and tensor.flags.c_contiguous
    np.testing.assert_array_equal(tensor[0], cv2.resize(src, (5, 4), interpolation=cv2.INTER_LINEAR))


def test_float_nchw_is_normalized_per_channel_in_model_order():
    src = image()
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.125)
    tensor = Preprocessor(InputSpec((1, 3, 6, 10), np.float32), Normalization.from_values(mean, std))(src)
    expected = ((src / 255.0 - np.array(mean)) / np.array(std)).transpose(2, 0, 1)[None]
    assert tensor.shape == (1, 3, 6, 10) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor, expected, rtol=1e-5, atol=1e-5)


def test_bgr_flag_and_channel_orders():
    src = image()
    spec = InputSpec((1, 6, 10, 3), np.uint8)
    np.testing.assert_array_equal(Preprocessor(spec, bgr=True)(src)[0], src[:, :, ::-1])
    np.testing.assert_array_equal(Preprocessor(spec)(src[:, :, ::-1].copy(), 'bgr')[0], src)
    gray = src[:, :, :1].copy()
    np.testing.assert_array_equal(Preprocessor(spec)(gray, 'mono')[0], np.repeat(gray, 3, axis=2))
    np.testing.assert_array_equal(to_rgb(src, 'rgb'), src)
    alpha = np.full(src.shape[:2] + (1,), 9, np.uint8)
    np.testing.assert_array_equal(to_rgb(np.dstack([src, alpha]), 'rgba'), src)
    np.testing.assert_array_equal(to_rgb(np.dstack([src[:, :, ::-1], alpha]), 'bgra'), src)


def test_mono_images_with_or_without_a_channel_axis_become_grey_rgb_at_any_size():
    grey = image()[:, :, 0].copy()
    for spec in (InputSpec((1, 6, 10, 3), np.uint8), InputSpec((1, 3, 4, 5), np.uint8)):
        height, width = spec.size
        expected = np.repeat(cv2.resize(grey, (width, height), interpolation=cv2.INTER_LINEAR)[:, :, None], 3, axis=2)
        for src in (grey, grey[:, :, None]):
            tensor = Preprocessor(spec)(src, 'mono')[0]
            np.testing.assert_array_equal(tensor.transpose(1, 2, 0) if spec.channels_first else tensor, expected)


def test_a_uint8_rgb_source_at_the_model_size_is_passed_through_without_a_copy():
    src = image()
    tensor = Preprocessor(InputSpec((1, 6, 10, 3), np.uint8))(src)
    assert np.shares_memory(tensor, src)
    np.testing.assert_array_equal(tensor[0], src)


def test_int8_values_are_quantized_with_scale_and_zero_point_and_clipped():
    src = np.array([[[0, 128, 255]]], np.uint8)
    spec = InputSpec((1, 1, 1, 3), np.int8, scale=1 / 64, zero_point=10)
    tensor = Preprocessor(spec)(src)
    normalized = (src / 255.0 - 0.5) / 0.5
    expected = np.clip(np.rint(normalized / spec.scale) + 10, -128, 127)
    assert tensor.dtype == np.int8
    np.testing.assert_array_equal(tensor[0], expected)
    assert tensor[0, 0, 0, 2] == 74 and tensor[0, 0, 0, 0] == -54
    saturating = InputSpec((1, 1, 1, 3), np.int8, scale=1 / 200, zero_point=-10)  # -210..190 before clipping
    assert Preprocessor(saturating)(src)[0, 0, 0].tolist() == [-128, -9, 127]


def test_dynamic_dimensions_take_the_source_size():
    src = image(7, 9)
    assert Preprocessor(InputSpec((1, -1, -1, 3), np.uint8)).tensor_shape(7, 9) == (1, 7, 9, 3)
    assert Preprocessor(InputSpec((1, 3, -1, 4), np.uint8)).tensor_shape(7, 9) == (1, 3, 7, 4)
    np.testing.assert_array_equal(Preprocessor(InputSpec((1, -1, -1, 3), np.uint8))(src)[0], src)


def test_normalization_values():
    assert Normalization.from_values([0.5], [0.25]) == Normalization((0.5,) * 3, (0.25,) * 3)
    assert Normalization.from_pixel_scale([127.5] * 3, [127.5] * 3) == Normalization((0.5,) * 3, (0.5,) * 3)
    assert Normalization.from_values([0], [1]) == Normalization((0.0,) * 3, (1.0,) * 3)


@pytest.mark.parametrize('make,mean,std,message', [
    ('from_values', [0.5], [0, 1, 1], 'input_image_std_dev: must not be 0'),
    ('from_values', [0.5, 0.5], [1], 'input_image_mean_value: expected 1 or 3 values, got 2'),
    ('from_values', [0.5], [1, 1, 1, 1], 'input_image_std_dev: expected 1 or 3 values, got 4'),
    ('from_pixel_scale', [], [1], 'metadata mean: expected 1 or 3 values, got 0'),
    ('from_pixel_scale', [1], [1, 2], 'metadata std: expected 1 or 3 values, got 2'),
])
def test_bad_normalization_values_are_refused_with_the_cause(make, mean, std, message):
    with pytest.raises(InputError) as error:
        getattr(Normalization, make)(mean, std)
    assert str(error.value) == message


def test_defaults_float_gets_mean_and_std_one_half_int8_zero_point_zero():
    src = image()
    tensor = Preprocessor(InputSpec((1, 6, 10, 3), np.float32))(src)
    np.testing.assert_allclose(tensor[0], (src / 255.0 - 0.5) / 0.5, rtol=1e-5, atol=1e-6)
    spec = InputSpec((1, 6, 10, 3), np.int8, scale=1 / 64)
    assert (spec.scale, spec.zero_point) == (1 / 64, 0) and InputSpec((1, 6, 10, 3), np.uint8).scale == 0.0
    np.testing.assert_array_equal(Preprocessor(spec)(src)[0], np.clip(np.rint(((src / 255.0 - 0.5) / 0.5) * 64),
                                                                      -128, 127))
