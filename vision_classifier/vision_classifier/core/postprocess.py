"""Turn the model's output tensor into confidences in [0, 1]."""
import numpy as np


def dequantize(raw, scale, zero_point):
    values = raw.astype(np.float64).ravel()
    if np.issubdtype(raw.dtype, np.integer) and scale:
        values = (values - zero_point) * scale
    return values


def softmax(values):
    shifted = np.exp(values - values.max())
    return shifted / shifted.sum()


def confidences(raw, scale=0.0, zero_point=0):
    """Dequantize, softmax where the values are logits (several values, some outside [0, 1]), and clip to [0, 1]."""
    values = dequantize(raw, scale, zero_point)
    if values.size > 1 and (values.min() < 0.0 or values.max() > 1.0):
        values = softmax(values)
    return np.clip(values, 0.0, 1.0)
