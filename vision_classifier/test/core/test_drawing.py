import cv2
import numpy as np
import pytest
from vision_classifier.core.drawing import draw_classifications, filter_for_overlay, label_text
from vision_classifier.core.vision import Classification as C

RESULTS = [C('cup', 0.2), C('Tabby', 0.7), C('espresso', 0.05), C('tiger cat', 0.4)]


def background(height=240, width=320):
    """Return a gradient, so that any change to a pixel shows."""
    y, x = np.mgrid[:height, :width]
    return np.dstack([x * 255 // width, y * 255 // height, np.full_like(x, 100)]).astype(np.uint8)


def changed(out, src):
    return np.any(out != src, axis=2)


def red_pixels(image, order='rgb'):
    r, g, b = np.moveaxis(image if order == 'rgb' else image[..., ::-1], 2, 0).astype(int)
    return (r > 200) & (g < 60) & (b < 60)


def test_filter_threshold_max_and_order():
    assert filter_for_overlay(RESULTS) == [C('Tabby', 0.7)]
    assert filter_for_overlay(RESULTS, 0.2, 5) == [C('Tabby', 0.7), C('tiger cat', 0.4), C('cup', 0.2)]
    assert filter_for_overlay(RESULTS, 0.9, 5) == []
    for everything in (0, -1):
        assert [c.class_name for c in filter_for_overlay(RESULTS, max_classifications=everything)] == \
            ['Tabby', 'tiger cat', 'cup', 'espresso']


def test_filter_valid_labels_are_case_insensitive_and_applied_before_max():
    assert filter_for_overlay(RESULTS, valid_labels=['CUP', 'tabby'], max_classifications=0) == \
        [C('Tabby', 0.7), C('cup', 0.2)]
    # Viam would take the top 1 (Tabby) and then drop it; we show the best valid one.
    assert filter_for_overlay(RESULTS, valid_labels=['espresso']) == [C('espresso', 0.05)]
    assert filter_for_overlay(RESULTS, 0.1, valid_labels=['espresso']) == []


@pytest.mark.parametrize('order', ['rgb', 'bgr'])
def test_text_is_red_in_the_top_left_only(order):
    src = background()
    before = src.copy()
    out = draw_classifications(src, [C('tabby', 0.91)], order=order)
    assert np.array_equal(src, before) and out is not src
    diff = changed(out, src)
    rows, cols = np.flatnonzero(diff.any(1)), np.flatnonzero(diff.any(0))
    assert 28 <= rows.min() <= 32 and rows.max() < 70 and 28 <= cols.min() <= 32
    assert not diff[120:, 160:].any()
    assert red_pixels(out, order)[rows.min():rows.max() + 1].sum() > 100
    other = 'bgr' if order == 'rgb' else 'rgb'
    assert red_pixels(out, other).sum() < red_pixels(out, order).sum() / 10


def test_more_lines_reach_further_down_and_the_note_is_not_red():
    src = background(480, 640)
    bottoms = [np.flatnonzero(changed(draw_classifications(src, RESULTS[:n]), src).any(1)).max() for n in (1, 2, 3)]
    assert 25 <= bottoms[1] - bottoms[0] <= 35 and 25 <= bottoms[2] - bottoms[1] <= 35
    plain = draw_classifications(src, RESULTS[:1])
    noted = draw_classifications(src, RESULTS[:1], note='results from 0.40 s earlier')
    note_rows = slice(bottoms[0] + 2, bottoms[1] + 1)
    assert changed(noted, plain)[note_rows].sum() > 100 and not red_pixels(noted)[note_rows].any()
    assert np.array_equal(noted[:bottoms[0] - 5], plain[:bottoms[0] - 5])


def test_no_lines_copy_and_read_only_input():
    src = background()
    src.setflags(write=False)
    out = draw_classifications(src, [])
    assert np.array_equal(out, src) and out.flags.writeable
    assert changed(draw_classifications(src, [C('cup', 0.5)]), src).any()


def runs(indices):
    """(first, last) of each run of consecutive indices."""
    breaks = np.flatnonzero(np.diff(indices) > 1)
    return list(zip(indices[np.r_[0, breaks + 1]], indices[np.r_[breaks, len(indices) - 1]]))


@pytest.mark.parametrize('size', [(480, 640), (240, 320)])
def test_lines_start_at_30_30_and_are_30_px_apart_as_viams(size):
    """Measured on the red text itself, whatever OpenCV version draws it (4.5 to 5.x place the font differently)."""
    src = np.zeros((*size, 3), np.uint8)
    red = red_pixels(draw_classifications(src, [C('cat', 0.91), C('cow', 0.5), C('rat', 0.25)]))
    lines = runs(np.flatnonzero(red.any(1)))
    assert [top for top, _ in lines] == pytest.approx([30, 60, 90], abs=1)
    for top, bottom in lines:
        assert np.flatnonzero(red[top:bottom + 1].any(0))[0] == pytest.approx(30, abs=1)
        assert 15 <= bottom - top <= 25, 'capitals and digits of a 30 px font'


@pytest.mark.parametrize('size', [(120, 160), (60, 320), (90, 140)])
def test_small_images_keep_the_text_inside(size):
    src = background(*size)
    diff = changed(draw_classifications(src, [C('a long label name', 0.5), C('cup', 0.25)]), src)
    assert diff.any() and not diff[:, -1].any() and not diff[-1].any()
    rows, cols = np.flatnonzero(diff.any(1)), np.flatnonzero(diff.any(0))
    assert rows[0] > 0 and cols[0] > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match='order'):
        draw_classifications(background(), [], order='yuv')
    with pytest.raises(ValueError, match='HxWx3'):
        draw_classifications(np.zeros((10, 10), np.uint8), [])


def test_label_text_is_viams_label_colon_confidence():
    assert label_text(C('tabby', 0.91)) == 'tabby: 0.91'
    assert label_text(C('tiger cat', 0.005)) == 'tiger cat: 0.01'
    assert label_text(C('Persian cat', 1.0)) == 'Persian cat: 1.00'


def text_shape(text, size):
    """`text` in OpenCV's Hershey simplex, cropped to its ink and scaled to `size` (width, height): a mask."""
    canvas = np.zeros((160, 40 * len(text) + 40), np.uint8)
    cv2.putText(canvas, text, (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 8, cv2.LINE_AA)
    rows, cols = np.flatnonzero(canvas.any(1)), np.flatnonzero(canvas.any(0))
    ink = canvas[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    return cv2.resize(ink, size, interpolation=cv2.INTER_AREA) > 100


def read_line(out, src, candidates):
    """Which of `candidates` the single line drawn on `src` is: the one whose shape overlaps the ink best."""
    ink = changed(out, src)
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    size = (ink.shape[1], ink.shape[0])
    overlap = {text: (ink & text_shape(text, size)).sum() / (ink | text_shape(text, size)).sum()
               for text in candidates}
    return max(overlap, key=overlap.get), overlap


@pytest.mark.parametrize('result', [C('tabby', 0.91), C('espresso', 0.78), C('cup', 0.15)])
def test_the_drawn_text_reads_label_colon_confidence(result):
    """Read back what was written, whatever the layout: of a few look-alikes, the expected text matches best."""
    src = np.full((240, 320, 3), 128, np.uint8)
    name, confidence = result.class_name, f'{result.confidence:.2f}'
    percent = f'{round(result.confidence * 100)}%'
    expected = f'{name}: {confidence}'
    candidates = [expected, f'{percent} {name}', f'{name} {percent}', f'{name}: {confidence[::-1]}',
                  f'{confidence} {name}', f'{name[::-1]}: {confidence}', f'{name}:{confidence}', f'{name}',
                  f'{name}: {confidence}0']
    best, overlap = read_line(draw_classifications(src, [result]), src, candidates)
    assert best == expected, overlap
