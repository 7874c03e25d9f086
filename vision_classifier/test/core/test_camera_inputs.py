"""The `cameras` parameter of a classifier, and the get_classifications_from_camera requests it keeps waiting."""
import pytest

from vision_classifier.core.camera_inputs import CameraInput, parse_camera, parse_cameras
from vision_classifier.core.camera_requests import CameraRequest, CameraRequests


@pytest.mark.parametrize('entry,camera', [
    ('cam1=/cam1/image_raw', CameraInput('cam1', '/cam1/image_raw', 'raw', '')),
    ('front=/usb_cam/image_raw/compressed', CameraInput('front', '/usb_cam/image_raw/compressed', 'compressed', '')),
    ('f=/gst/jpeg transport=compressed qos_reliability=best_effort',
     CameraInput('f', '/gst/jpeg', 'compressed', 'best_effort')),
    ('odd=/odd/compressed transport=raw', CameraInput('odd', '/odd/compressed', 'raw', '')),
    ('rel=relative/topic qos_reliability=reliable', CameraInput('rel', 'relative/topic', 'raw', 'reliable')),
])
def test_entries_parse_and_print_back(entry, camera):
    assert parse_camera(entry) == camera
    assert parse_camera(camera.entry) == camera


@pytest.mark.parametrize('entries,problem', [
    (['cam1'], 'cameras: expected "NAME=TOPIC [qos_reliability=...] [transport=...]" with a name of letters, '
               "digits and _ and a ROS topic, got 'cam1'"),
    (['front-cam=/x'], "got 'front-cam=/x'"),
    (['a=/a b'], "cameras: 'a=/a b': unknown option 'b' (qos_reliability: auto, reliable, best_effort; transport: "
                 'raw, compressed)'),
    (['a=/a qos_reliability=sometimes'], "unknown option 'qos_reliability=sometimes'"),
    (['a=/a', 'b=/b', 'a=/c'], 'cameras: a named more than once'),
])
def test_bad_entries_name_the_problem(entries, problem):
    with pytest.raises(ValueError) as error:
        parse_cameras(entries)
    assert problem in str(error.value)


def test_blank_entries_are_skipped():
    assert [c.name for c in parse_cameras(['', 'a=/a', '  '])] == ['a']


def request(camera, deadline, since=0.0):
    return CameraRequest(camera, 1, deadline, answer=None, since=since)


def test_requests_wait_per_camera_within_a_limit_and_expire():
    waiting = CameraRequests(limit=3)
    first, second, other = request('a', 5.0), request('a', 9.0), request('b', 1.0)
    assert waiting.add(first) and waiting.add(second) and waiting.add(other)
    assert not waiting.add(request('c', 9.0)), 'the limit counts every camera'
    assert waiting.cameras() == {'a', 'b'} and len(waiting) == 3
    assert waiting.expire(now=2.0) == [other]
    taken = waiting.take('a')
    assert taken == [first, second] and len(waiting) == 0
    waiting.add(request('a', 9.0, since=1.0))
    waiting.put_back(taken)
    assert waiting.take('a')[:2] == [first, second], 'requests put back go ahead of newer ones'
