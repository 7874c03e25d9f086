"""Confidences from output tensors: dequantize, softmax only for logits, clip to [0, 1]."""
import numpy as np

from vision_classifier.core.postprocess import confidences, dequantize, softmax


def test_integer_outputs_are_dequantized_with_scale_and_zero_point():
    raw = np.array([[0, 128, 255]], np.uint8)
    np.testing.assert_allclose(dequantize(raw, 1 / 256, 0), [0.0, 0.5, 255 / 256])
    np.testing.assert_allclose(dequantize(np.array([-128, 0, 127], np.int8), 1 / 256, -128),
                               [0.0, 0.5, 255 / 256])
    assert dequantize(raw, 0.0, 0).tolist() == [0.0, 128.0, 255.0], 'no scale: not quantized'
    assert dequantize(np.array([0.25, 0.5], np.float32), 2.0, 1).tolist() == [0.25, 0.5], 'floats as they are'
    assert dequantize(raw, 1 / 256, 0).dtype == np.float64 and dequantize(raw, 1 / 256, 0).shape == (3,)


def test_softmax_sums_to_one_and_keeps_order():
    values = softmax(np.array([1000.0, 1001.0, 999.0]))  # shifted: no overflow
    np.testing.assert_allclose(values, np.exp([0, 1, -1]) / np.exp([0, 1, -1]).sum())


def test_probabilities_are_kept_and_logits_softmaxed():
    probabilities = np.array([0.1, 0.7, 0.2], np.float32)
    np.testing.assert_allclose(confidences(probabilities), probabilities, rtol=1e-6)
    np.testing.assert_allclose(confidences(np.array([0.0, 1.0, 1.0])), [0.0, 1.0, 1.0]), 'bounds are probabilities'
    logits = np.array([2.0, -1.0, 0.5])
    np.testing.assert_allclose(confidences(logits), softmax(logits))
    np.testing.assert_allclose(confidences(np.array([0.5, 1.5])), softmax(np.array([0.5, 1.5])))


def test_quantized_probabilities_are_dequantized_not_softmaxed():
    raw = np.array([0, 64, 192], np.uint8)
    np.testing.assert_allclose(confidences(raw, 1 / 256, 0), [0.0, 0.25, 0.75])


def test_a_single_value_is_clipped_not_softmaxed():
    assert confidences(np.array([3.0])).tolist() == [1.0]
    assert confidences(np.array([-0.5])).tolist() == [0.0]
    assert confidences(np.array([0.3])).tolist() == [0.3]
