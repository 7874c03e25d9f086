"""Viam's `classifications` transform step, drawing part: pick results and write them on a frame (no ROS)."""
import cv2
import numpy as np

ORIGIN = 30          # first line's top-left corner is (30, 30), as in Viam
LINE_SPACING = 30    # px per line, as in Viam
FONT = cv2.FONT_HERSHEY_SIMPLEX
CAP_HEIGHT = 21      # px, capitals at font scale 1, like Viam's 30 px Go Regular
MIN_SCALE = 0.3      # below this the text is unreadable; smaller images clip it instead
RED = (255, 0, 0)    # RGB
NOTE_COLOUR = (255, 255, 0)
OUTLINE = (0, 0, 0)
ORDERS = ('rgb', 'bgr')


def filter_for_overlay(classifications, confidence_threshold=0.0, max_classifications=1, valid_labels=()):
    """The results to draw, best first: confidence >= threshold, label in `valid_labels` when given (compared
    case-insensitively, as Viam does), at most `max_classifications` (<= 0: all).

    Viam takes the classifier's top n and then filters, so a valid label ranked below n is never shown; we
    filter first."""
    valid = {label.strip().lower() for label in valid_labels}
    kept = [c for c in classifications
            if c.confidence >= confidence_threshold and (not valid or c.class_name.strip().lower() in valid)]
    kept.sort(key=lambda c: -c.confidence)
    return kept if max_classifications <= 0 else kept[:max_classifications]


def label_text(classification):
    return f'{classification.class_name}: {classification.confidence:.2f}'


def fit_scale(height, width, texts, thickness=2):
    """Font scale (at most 1) at which `texts`, laid out as Viam's, fit in the image."""
    text_width = max(cv2.getTextSize(t, FONT, 1.0, thickness)[0][0] for t in texts)
    fit = min(width / (ORIGIN + text_width + 2 * thickness), height / (ORIGIN + LINE_SPACING * len(texts)))
    return max(MIN_SCALE, min(1.0, fit))


def draw_classifications(image, lines, note=None, order='rgb'):
    """A copy of the HxWx3 uint8 `image` (channels in `order`: 'rgb' or 'bgr') with each of `lines`
    (items with class_name and confidence) written as "label: 0.87" in red, and `note` on a last line in
    yellow. Lines start at (30, 30), 30 px apart, scaled down to fit small images; a dark outline keeps them
    legible on any background."""
    if order not in ORDERS:
        raise ValueError(f'order: expected one of {", ".join(ORDERS)}, got {order!r}')
    out = np.array(image, dtype=np.uint8, order='C', copy=True)
    if out.ndim != 3 or out.shape[2] != 3:
        raise ValueError(f'image: expected HxWx3, got shape {image.shape}')
    texts = [(label_text(c), RED) for c in lines] + ([(note, NOTE_COLOUR)] if note else [])
    if not texts:
        return out
    scale = fit_scale(out.shape[0], out.shape[1], [t for t, _ in texts])
    thickness = max(1, round(2 * scale))
    for i, (text, colour) in enumerate(texts):
        origin = (round(ORIGIN * scale), round((ORIGIN + i * LINE_SPACING + CAP_HEIGHT) * scale))
        cv2.putText(out, text, origin, FONT, scale, OUTLINE, thickness + 2, cv2.LINE_AA)
        cv2.putText(out, text, origin, FONT, scale, colour if order == 'rgb' else colour[::-1], thickness,
                    cv2.LINE_AA)
    return out
