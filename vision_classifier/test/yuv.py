"""YUV test images (BT.601, limited range), as cameras send them; no ROS here: the core tests use it too."""
import numpy as np


def yuv_of(rgb):
    """Return the Y, U and V planes of an HxWx3 RGB image."""
    r, g, b = (np.asarray(rgb, np.float64)[..., i] / 255.0 for i in range(3))
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return [np.clip(np.rint(c), 0, 255).astype(np.uint8) for c in (y, u, v)]


def packed_yuv422(rgb, order):
    """Return the 4:2:2 rows of an HxWx3 image whose pixel pairs share one colour; `order` 'UYVY' or 'YUYV'."""
    y, u, v = yuv_of(rgb)
    planes = {'Y0': y[:, 0::2], 'Y1': y[:, 1::2], 'U': u[:, 0::2], 'V': v[:, 0::2]}
    names = ['U', 'Y0', 'V', 'Y1'] if order == 'UYVY' else ['Y0', 'U', 'Y1', 'V']
    return np.stack([planes[n] for n in names], axis=-1).reshape(rgb.shape[0], -1)
