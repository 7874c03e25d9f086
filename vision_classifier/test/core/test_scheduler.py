"""The scheduler of a classifier with several cameras: newest frame only, longest-waiting camera first."""
from vision_classifier.core.scheduler import Scheduler


def scheduler(*cameras):
    s = Scheduler()
    for camera in cameras:
        s.add(camera)
    return s


def test_only_the_newest_frame_of_a_camera_is_classified_and_the_others_are_counted_as_skipped():
    s = scheduler('a')
    assert s.put('a', 1, now=0.0) is None
    assert s.put('a', 2, now=0.1) == 1 and s.put('a', 3, now=0.2) == 2, 'each replaced frame is returned: skipped'
    assert s.take() == ('a', 3) and s.take() is None and not s.pending()


def test_the_camera_that_has_waited_longest_goes_first_whatever_the_order_of_the_cameras():
    s = scheduler('flood', 'slow')
    s.put('slow', 'slow frame', now=1.0)
    s.put('flood', 'flood frame', now=2.0)
    assert s.take() == ('slow', 'slow frame')
    s = scheduler('slow', 'flood')
    s.put('flood', 'f', now=1.0)
    s.put('slow', 's', now=2.0)
    assert s.take() == ('flood', 'f')


def test_a_waiting_camera_keeps_its_place_while_its_frame_is_replaced():
    """Replacing the frame of a waiting camera does not send it to the back of the line."""
    s = scheduler('a', 'b')
    s.put('a', 'a1', now=1.0)
    s.put('b', 'b1', now=2.0)
    s.put('a', 'a2', now=3.0)
    assert s.take() == ('a', 'a2')
    assert s.take() == ('b', 'b1')


def test_no_camera_starves_beside_a_camera_that_always_has_a_frame():
    """A flooding camera refilled before every pick still lets each other camera in within N picks."""
    cameras = ['flood', 'a', 'b', 'c']
    s = scheduler(*cameras)
    now, served = 0.0, []
    for camera in cameras:
        now += 1
        s.put(camera, f'{camera}0', now)
    for _ in range(8):
        now += 1
        s.put('flood', 'f', now)   # the flood's slot is full again before each pick
        served.append(s.take()[0])
    assert served[:4] == ['flood', 'a', 'b', 'c'] and served[4:] == ['flood'] * 4
    now += 1
    s.put('b', 'b1', now)
    s.put('flood', 'f', now + 1)
    assert s.take() == ('b', 'b1'), 'b arrived before the flood refilled'


def test_cameras_added_and_removed_while_frames_wait():
    s = scheduler('a')
    s.put('a', 1, now=0.0)
    s.add('b')
    s.put('b', 2, now=1.0)
    s.remove('a')
    assert s.cameras == ['b'] and s.take() == ('b', 2) and s.take() is None
    try:
        s.put('a', 3, now=2.0)
    except KeyError:
        pass
    else:
        raise AssertionError('a removed camera takes no frame')
