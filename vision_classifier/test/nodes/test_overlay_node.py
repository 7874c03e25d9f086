"""
The overlay node in its own process, over real DDS.

Frames on /cam/image_raw, results on /my_classifier/classifications, annotated frames on /overlay_cam/image.
"""
from builtin_interfaces.msg import Time
import cv2
import numpy as np
import pytest
from rclpy.qos import QoSProfile
from ros_helpers import image_msg, send_until, set_parameters, stamp_of
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from support import TIMEOUT
from vision_classifier.core import vision
from vision_classifier.core.drawing import draw_classifications
from vision_classifier.core.image_encoding import decode_msg
from vision_classifier_msgs.msg import Classification, Classifications

NODE = 'vision_classifier.nodes.overlay_node'


def source(height=240, width=320):
    y, x = np.mgrid[:height, :width]
    return np.dstack([x * 255 // width, y * 255 // height, np.full_like(x, 100)]).astype(np.uint8)


def results_msg(stamp, *results, frame_id='camera'):
    return Classifications(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id=frame_id),
                           classifications=[Classification(class_name=n, confidence=c) for n, c in results])


def pixels(msg):
    return decode_msg(msg).pixels


def reference(src, *lines, note=None):
    """Return the frame as the overlay must draw it: these (label, confidence) lines, in this order."""
    return draw_classifications(src, [vision.Classification(n, c) for n, c in lines], note)


def changed_rows(out, src):
    return np.flatnonzero(np.any(out != src, axis=(1, 2)))


def red(image):
    r, g, b = np.moveaxis(image.astype(int), 2, 0)
    return (r > 200) & (g < 60) & (b < 60)


class Overlay:
    def __init__(self, ros, process):
        self.ros, self.process, self.received = ros, process, []
        self.subscription = ros.node.create_subscription(Image, '/overlay_cam/image', self.received.append, 10)
        self.images = ros.node.create_publisher(Image, '/cam/image_raw', QoSProfile(depth=10))
        self.results = ros.node.create_publisher(Classifications, '/my_classifier/classifications', 10)
        for publisher in (self.images, self.results):
            assert ros.wait_for_subscriber(publisher), process.log()
        assert ros.wait_for_publisher(self.subscription), process.log()

    def send(self, *msgs):
        for msg in msgs:
            (self.images if isinstance(msg, Image) else self.results).publish(msg)

    def send_until(self, msgs, done):
        """Send `msgs` in rounds until `done()`; discovery may lose the first round."""
        return send_until(self.ros, lambda: self.send(*msgs), done)

    def annotated(self, *msgs, stamp):
        assert self.send_until(msgs, lambda: self.by_stamp(stamp)), self.process.log()
        return self.by_stamp(stamp)[0]

    def by_stamp(self, stamp):
        return [m for m in self.received if stamp_of(m) == stamp]

    def set_params(self, **values):
        return [r.successful for r in set_parameters(self.ros, 'overlay_cam', **values)]


@pytest.fixture
def overlay(start_node, ros):
    def start(*params):
        args = [a for p in params for a in ('-p', p)]
        process = start_node(NODE, '-r', '__node:=overlay_cam', '-r', 'image:=/cam/image_raw',
                             '-r', 'classifications:=/my_classifier/classifications', *args, name='overlay')
        return Overlay(ros, process)
    return start


def test_results_are_drawn_on_their_own_frame_with_its_header(overlay):
    node = overlay()
    src = source()
    out = node.annotated(image_msg(src, stamp=(100, 5), frame_id='front'),
                         results_msg((100, 5), ('tabby', 0.91), ('cup', 0.05), frame_id='front'), stamp=(100, 5))
    assert out.header.frame_id == 'front' and out.encoding == 'rgb8'
    drawn = pixels(out)
    rows = changed_rows(drawn, src)
    assert 28 <= rows.min() and rows.max() < 65, 'one line: max_classifications defaults to 1'
    assert np.array_equal(drawn[70:], src[70:]) and red(drawn).sum() > 100
    assert np.array_equal(drawn, reference(src, ('tabby', 0.91))), 'exactly "tabby: 0.91", nothing else'

    bgr = node.annotated(image_msg(src[:, :, ::-1].copy(), 'bgr8', stamp=(101, 0), frame_id='front'),
                         results_msg((101, 0), ('tabby', 0.91), frame_id='front'), stamp=(101, 0))
    assert bgr.encoding == 'bgr8'
    assert np.array_equal(pixels(bgr)[:, :, ::-1], drawn), 'the same drawing, red in BGR order'


def test_results_matching_no_frame_are_never_drawn(overlay):
    """
    Check a frame without results is dropped and results without a frame are drawn nowhere.

    The frame waits result_timeout, is dropped (logged), and the ghost results are drawn nowhere: a later frame
    published by the same writer arrives, and nothing before it.
    """
    node = overlay('result_timeout:=0.3')
    src = source()
    dropped = 'frame 201.000000000 got no results within result_timeout and was not published'
    assert node.send_until([results_msg((200, 0), ('ghost', 0.99)), image_msg(src, stamp=(201, 0))],
                           lambda: dropped in node.process.log()), node.process.log()
    out = node.annotated(image_msg(src, stamp=(202, 0)), results_msg((202, 0), ('cup', 0.5)), stamp=(202, 0))
    assert {stamp_of(m) for m in node.received} == {(202, 0)}
    assert np.array_equal(pixels(out), reference(src, ('cup', 0.5)))


def test_frames_are_matched_by_stamp_and_frame_id(overlay):
    """Two cameras' frames with the same stamp: each gets its own results, drawn on it."""
    node = overlay()
    left, right = source(), source()[::-1].copy()
    stamp = (500, 0)
    msgs = [image_msg(left, stamp=stamp, frame_id='left'), image_msg(right, stamp=stamp, frame_id='right'),
            results_msg(stamp, ('alpha', 0.8), frame_id='left'), results_msg(stamp, ('beta', 0.7), frame_id='right')]
    assert node.send_until(msgs, lambda: {m.header.frame_id for m in node.by_stamp(stamp)} == {'left', 'right'}), \
        node.process.log()
    expected = {'left': reference(left, ('alpha', 0.8)), 'right': reference(right, ('beta', 0.7))}
    for msg in node.by_stamp(stamp):
        assert np.array_equal(pixels(msg), expected[msg.header.frame_id]), msg.header.frame_id


def test_publish_unmatched_draws_earlier_results_with_a_note(overlay):
    # the matched frame waits as long as its results take; then frames wait 0.3 s only
    node = overlay(f'result_timeout:={TIMEOUT}', 'publish_unmatched:=true')
    src = source(480, 640)
    matched = pixels(node.annotated(image_msg(src, stamp=(300, 0)), results_msg((300, 0), ('cup', 0.5)),
                                    stamp=(300, 0)))
    assert node.set_params(result_timeout=0.3) == [True]
    late = pixels(node.annotated(image_msg(src, stamp=(300, 400_000_000)), stamp=(300, 400_000_000)))
    assert np.array_equal(matched, reference(src, ('cup', 0.5)))
    assert np.array_equal(late, reference(src, ('cup', 0.5), note='results from 0.40 s earlier'))


def test_thresholds_apply_and_change_at_run_time(overlay):
    node = overlay('max_classifications:=3', 'confidence_threshold:=0.5')
    src = source()
    results = [('cup', 0.3), ('tabby', 0.9), ('Tiger cat', 0.6)]  # drawn best first

    def drawn(stamp):
        return pixels(node.annotated(image_msg(src, stamp=stamp), results_msg(stamp, *results), stamp=stamp))
    assert np.array_equal(drawn((1, 0)), reference(src, ('tabby', 0.9), ('Tiger cat', 0.6)))
    assert node.set_params(confidence_threshold=0.0) == [True]
    assert np.array_equal(drawn((2, 0)), reference(src, ('tabby', 0.9), ('Tiger cat', 0.6), ('cup', 0.3)))
    assert node.set_params(valid_labels=['TIGER CAT', 'cup']) == [True]
    assert np.array_equal(drawn((3, 0)), reference(src, ('Tiger cat', 0.6), ('cup', 0.3)))
    assert node.set_params(max_classifications=1) == [True]
    assert np.array_equal(drawn((4, 0)), reference(src, ('Tiger cat', 0.6))), 'filtered, then the top n'
    assert node.set_params(valid_labels=[''], max_classifications=0) == [True, True]  # "['']" clears the list
    assert np.array_equal(drawn((5, 0)), reference(src, ('tabby', 0.9), ('Tiger cat', 0.6), ('cup', 0.3)))
    assert node.set_params(confidence_threshold=1.5) == [False]
    assert node.set_params(result_timeout=0.0) == [False]


def test_output_dir_keeps_the_newest_max_saved_frames(overlay, tmp_path):
    folder = tmp_path / 'frames'
    node = overlay(f'output_dir:={folder}', 'max_saved_frames:=3')
    src = source()
    names = []
    for sec in range(400, 405):
        node.annotated(image_msg(src, stamp=(sec, 7)), results_msg((sec, 7), ('cup', 0.5)), stamp=(sec, 7))
        names.append(f'frame_{sec}_000000007.png')
        assert node.ros.spin_until(lambda: sorted(p.name for p in folder.iterdir()) == names[-3:])
    saved = cv2.cvtColor(cv2.imread(str(folder / 'frame_404_000000007.png')), cv2.COLOR_BGR2RGB)
    assert np.array_equal(saved, pixels(node.by_stamp((404, 7))[0]))


def test_bad_image_is_logged_and_the_next_good_one_annotated(overlay):
    node = overlay()
    src = source()
    truncated = image_msg(src, stamp=(1, 0))
    truncated.data = truncated.data[:1000]
    assert node.send_until([truncated, results_msg((1, 0), ('cup', 0.5))],
                           lambda: 'data has 1000 bytes, but step*height' in node.process.log()), node.process.log()
    out = node.annotated(image_msg(src, stamp=(2, 0)), results_msg((2, 0), ('cup', 0.5)), stamp=(2, 0))
    assert changed_rows(pixels(out), src).size and node.process.proc.poll() is None
    assert {stamp_of(m) for m in node.received} == {(2, 0)}


def test_out_of_range_parameter_stops_start_up(start_node):
    process = start_node(NODE, '-p', 'confidence_threshold:=1.5', name='broken')
    assert process.proc.wait(TIMEOUT) == 1
    assert 'confidence_threshold' in process.log() and 'Traceback' not in process.log()
