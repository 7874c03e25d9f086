"""Viam's `classifications` transform step, drawing part: pick results and write them on a frame (no ROS)."""
import functools

import cv2
import numpy as np

ORIGIN = 30          # first line's top-left corner is (30, 30), as in Viam
LINE_SPACING = 30    # px per line, as in Viam
FONT = cv2.FONT_HERSHEY_SIMPLEX  # at scale 1 its capitals are ~22 px tall, like Viam's 30 px Go Regular
MIN_SCALE = 0.3      # below this the text is unreadable; smaller images clip it instead
RED = (255, 0, 0)    # RGB
NOTE_COLOUR = (255, 255, 0)
OUTLINE = (0, 0, 0)
OUTLINE_EXTRA = 2    # the outline is drawn this much thicker than the text
ORDERS = ('rgb', 'bgr')


def filter_for_overlay(classifications, confidence_threshold=0.0, max_classifications=1, valid_labels=()):
    """
    Return the results to draw, best first.

    Kept: confidence >= threshold, label in `valid_labels` when given (compared case-insensitively, as Viam does),
    at most `max_classifications` (<= 0: all). Viam takes the classifier's top n and then filters, so a valid label
    ranked below n is never shown; we filter first.
    """
    valid = {label.strip().lower() for label in valid_labels}
    kept = [c for c in classifications
            if c.confidence >= confidence_threshold and (not valid or c.class_name.strip().lower() in valid)]
    kept.sort(key=lambda c: -c.confidence)
    return kept if max_classifications <= 0 else kept[:max_classifications]


def label_text(classification):
    return f'{classification.class_name}: {classification.confidence:.2f}'


def thickness_at(scale):
    return max(1, round(2 * scale))


@functools.lru_cache(maxsize=1024)
def ink_box(text, scale, thickness):
    """
    Return (left, top, right, bottom) of the pixels that cv2.putText inks for `text`.

    Relative to its origin (the baseline's left end). Measured by drawing: OpenCV 4 and 5 place the same font
    differently, and getTextSize reports neither's ink exactly.
    """
    (width, height), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    pad = thickness + 2 * height + baseline
    canvas = np.zeros((2 * pad + height, 2 * pad + width), np.uint8)
    cv2.putText(canvas, text, (pad, pad + height), FONT, scale, 255, thickness, cv2.LINE_AA)
    rows, cols = np.flatnonzero(canvas.any(1)), np.flatnonzero(canvas.any(0))
    if not rows.size:
        return 0, 0, 0, 0
    return int(cols[0]) - pad, int(rows[0]) - pad - height, int(cols[-1]) - pad, int(rows[-1]) - pad - height


def layout(height, width, texts):
    """
    Return (scale, thickness, [origin of each text]) for `texts` in a height x width image.

    Each text's ink top-left is at (30, 30 + 30 i) as Viam does, scaled down (to MIN_SCALE at most) until every
    line, with its outline, fits.
    """
    longest = max(ink_box(t, 1.0, thickness_at(1.0))[2] for t in texts)
    scale = max(MIN_SCALE, min(1.0, width / (ORIGIN + longest + 2 * OUTLINE_EXTRA + 2),
                               height / (ORIGIN + LINE_SPACING * len(texts))))
    while True:
        thickness = thickness_at(scale)
        boxes = [ink_box(t, scale, thickness) for t in texts]
        left = round(ORIGIN * scale)
        tops = [round((ORIGIN + i * LINE_SPACING) * scale) for i in range(len(texts))]
        fits = all(left + right - l + OUTLINE_EXTRA < width and top + bottom - t + OUTLINE_EXTRA < height
                   for (l, t, right, bottom), top in zip(boxes, tops))
        if fits or scale <= MIN_SCALE:
            return scale, thickness, [(left - l, top - t) for (l, t, _, _), top in zip(boxes, tops)]
        scale = max(MIN_SCALE, scale * 0.9)


def draw_classifications(image, lines, note=None, order='rgb'):
    """
    Return a copy of the HxWx3 uint8 `image` (channels in `order`: 'rgb' or 'bgr') with `lines` written on it.

    Each of `lines` (items with class_name and confidence) is written as "label: 0.87" in red, and `note` on a last
    line in yellow. Each line's text starts at (30, 30 + 30 i), as Viam's, scaled down to fit small images; a dark
    outline keeps them legible on any background.
    """
    if order not in ORDERS:
        raise ValueError(f'order: expected one of {", ".join(ORDERS)}, got {order!r}')
    out = np.array(image, dtype=np.uint8, order='C', copy=True)
    if out.ndim != 3 or out.shape[2] != 3:
        raise ValueError(f'image: expected HxWx3, got shape {image.shape}')
    texts = [(label_text(c), RED) for c in lines] + ([(note, NOTE_COLOUR)] if note else [])
    if not texts:
        return out
    scale, thickness, origins = layout(out.shape[0], out.shape[1], [t for t, _ in texts])
    for (text, colour), origin in zip(texts, origins):
        cv2.putText(out, text, origin, FONT, scale, OUTLINE, thickness + OUTLINE_EXTRA, cv2.LINE_AA)
        cv2.putText(out, text, origin, FONT, scale, colour if order == 'rgb' else colour[::-1], thickness,
                    cv2.LINE_AA)
    return out
