"""Turn a camera image into the model's input tensor (Viam's mlmodel vision service rules)."""
from dataclasses import dataclass

import cv2
import numpy as np

DEFAULT_MEAN = (0.5, 0.5, 0.5)
DEFAULT_STD = (0.5, 0.5, 0.5)


class InputError(ValueError):
    pass


@dataclass(frozen=True)
class InputSpec:
    shape: tuple           # the tensor's shape, -1 where the model takes any size
    dtype: type
    scale: float = 0.0     # quantization; 0 when not quantized
    zero_point: int = 0

    @property
    def channels_first(self):
        """Tell whether the layout is NCHW: when dimension 1 holds 3 channels, else NHWC (as Viam decides)."""
        return self.shape[1] == 3 and self.shape[3] != 3

    @property
    def size(self):
        """Return (height, width); -1 where the model takes the source size."""
        return (self.shape[2], self.shape[3]) if self.channels_first else (self.shape[1], self.shape[2])

    def validate(self):
        if len(self.shape) != 4 or self.shape[0] not in (1, -1):
            raise InputError(f'input tensor shape {list(self.shape)}: expected [1, H, W, 3] or [1, 3, H, W]')
        channels = self.shape[1] if self.channels_first else self.shape[3]
        if channels != 3:
            raise InputError(f'input tensor shape {list(self.shape)}: expected 3 colour channels')
        if not all(d > 0 or d == -1 for d in self.size):
            raise InputError(f'input tensor shape {list(self.shape)}: expected a positive height and width, or -1')
        if self.dtype not in (np.uint8, np.int8, np.float32):
            raise InputError(f'input tensor type {np.dtype(self.dtype).name}: expected uint8, int8 or float32')
        if self.dtype == np.int8 and not self.scale:
            raise InputError('int8 input tensor without quantization parameters')


@dataclass(frozen=True)
class Normalization:
    """Float inputs get (v/255 - mean) / std per channel, in the order the model takes the channels."""

    mean: tuple = DEFAULT_MEAN
    std: tuple = DEFAULT_STD

    @classmethod
    def from_values(cls, mean, std):
        mean = _three(mean, 'input_image_mean_value')
        std = _three(std, 'input_image_std_dev')
        if any(s == 0 for s in std):
            raise InputError('input_image_std_dev: must not be 0')
        return cls(mean, std)

    @classmethod
    def from_pixel_scale(cls, mean, std):
        """Make a Normalization from TFLite metadata, where mean and std apply to 0..255 pixel values."""
        return cls.from_values([m / 255.0 for m in _three(mean, 'metadata mean')],
                               [s / 255.0 for s in _three(std, 'metadata std')])


def _three(values, name):
    values = [float(v) for v in values]
    if len(values) == 1:
        values *= 3
    if len(values) != 3:
        raise InputError(f'{name}: expected 1 or 3 values, got {len(values)}')
    return tuple(values)


CHANNEL_ORDERS = {'rgb': None, 'bgr': cv2.COLOR_BGR2RGB, 'rgba': cv2.COLOR_RGBA2RGB,
                  'bgra': cv2.COLOR_BGRA2RGB, 'mono': cv2.COLOR_GRAY2RGB}


def to_rgb(image, order):
    """Return an HxWx3 RGB uint8 array from an image whose channels are in `order` (see CHANNEL_ORDERS)."""
    code = CHANNEL_ORDERS[order]
    return image if code is None else cv2.cvtColor(image, code)


class Preprocessor:
    """Prepares input tensors for one model input; reuses its buffers between frames."""

    def __init__(self, spec, normalization=Normalization(), bgr=False):
        spec.validate()
        self.spec = spec
        self.bgr = bgr
        mean = np.asarray(normalization.mean, np.float32)
        std = np.asarray(normalization.std, np.float32)
        # value = pixel * gain + offset
        self._gain = (1.0 / (255.0 * std)).astype(np.float32)
        self._offset = (-mean / std).astype(np.float32)

    def tensor_shape(self, image_height, image_width):
        """Return the input shape for a source image, with -1 dimensions taking the source size."""
        height, width = self.spec.size
        height = image_height if height < 0 else height
        width = image_width if width < 0 else width
        return (1, 3, height, width) if self.spec.channels_first else (1, height, width, 3)

    def __call__(self, image, order='rgb'):
        """Return a model input (batch of 1) from an HxWxC uint8 image whose channels are in `order`."""
        shape = self.tensor_shape(image.shape[0], image.shape[1])
        height, width = (shape[2], shape[3]) if self.spec.channels_first else (shape[1], shape[2])
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        if image.ndim == 2:
            image = image[:, :, None]
        image = to_rgb(image, order)
        if self.bgr:
            image = image[:, :, ::-1]
        values = self._convert(image)
        if self.spec.channels_first:
            values = values.transpose(2, 0, 1)
        return np.ascontiguousarray(values)[None]

    def _convert(self, image):
        dtype = self.spec.dtype
        if dtype == np.uint8:
            return image
        normalized = image.astype(np.float32) * self._gain + self._offset
        if dtype == np.float32:
            return normalized
        quantized = np.rint(normalized / self.spec.scale) + self.spec.zero_point
        return np.clip(quantized, -128, 127).astype(np.int8)
