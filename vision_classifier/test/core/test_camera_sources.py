"""Frame sources, on real files written to tmp_path."""
import os

import cv2
import numpy as np
import pytest
from support import PHOTOS
from vision_classifier.core.camera_sources import (
    Backoff, FrameError, ImageFolderSource, make_source, resize, SourceError)

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def write_png(path, rgb, size=(32, 24)):
    pixels = np.full((size[1], size[0], 3), rgb, np.uint8)
    assert cv2.imwrite(str(path), pixels[:, :, ::-1])
    return path


def colour(frame):
    return tuple(int(v) for v in frame[frame.shape[0] // 2, frame.shape[1] // 2])


def read_n(source, n):
    with source:
        return [source.read() for _ in range(n)]


def test_image_file_is_rgb_every_read(tmp_path):
    path = write_png(tmp_path / 'red.png', RED)
    frames = read_n(make_source('image_file', str(path)), 3)
    assert all(f.shape == (24, 32, 3) and f.dtype == np.uint8 and colour(f) == RED for f in frames)


def test_image_file_deleted_is_lost_and_restored_resumes(tmp_path):
    path = write_png(tmp_path / 'a.png', RED)
    source = make_source('image_file', str(path))
    source.open()
    path.unlink()
    with pytest.raises(SourceError, match=f'image_file {path}: no such file'):
        source.read()
    with pytest.raises(SourceError, match='no such file'):
        source.open()
    write_png(path, BLUE)
    source.open()
    assert colour(source.read()) == BLUE
    path.write_bytes(b'not an image')
    with pytest.raises(SourceError, match='not a readable image'):
        source.read()


def test_image_folder_loops_in_name_order_and_skips_unreadable_files(tmp_path):
    write_png(tmp_path / 'b.png', GREEN)
    write_png(tmp_path / 'a.png', RED)
    (tmp_path / 'c.jpg').write_bytes(b'garbage')
    write_png(tmp_path / 'd.png', BLUE)
    (tmp_path / 'notes.txt').write_text('not an image')
    source = make_source('image_folder', str(tmp_path))
    source.open()
    seen = []
    for _ in range(8):
        try:
            seen.append(colour(source.read()))
        except FrameError as e:
            assert str(tmp_path / 'c.jpg') in str(e)
            seen.append('bad')
    assert seen == [RED, GREEN, 'bad', BLUE, RED, GREEN, 'bad', BLUE]


def test_image_folder_decodes_a_file_once_per_change_within_its_cache(tmp_path, capfd):
    """
    Check an image folder decodes each file once per change, within its cache.

    A photo libpng warns about (an incorrect sRGB profile) warns at its first read only; a file rewritten is read
    again; the frames kept stay within cache_bytes.
    """
    source = ImageFolderSource(PHOTOS)
    with source:
        first_loop = [source.read() for _ in source.files]
        warned = capfd.readouterr().err.count('libpng warning')
        if not warned:
            pytest.skip(f'this OpenCV ({cv2.__version__}) reads the sample photos without a libpng warning')
        for _ in range(3 * len(source.files)):
            source.read()
        assert capfd.readouterr().err.count('libpng warning') == 0
        assert all(not frame.flags.writeable for frame in first_loop)  # shared frames cannot be changed

    write_png(tmp_path / 'a.png', RED)
    write_png(tmp_path / 'b.png', GREEN, size=(64, 48))
    small = ImageFolderSource(tmp_path, cache_bytes=32 * 24 * 3)  # room for a.png only
    with small:
        assert [colour(small.read()) for _ in range(4)] == [RED, GREEN, RED, GREEN]
        assert list(small.decoded) == [tmp_path / 'a.png']
        write_png(tmp_path / 'a.png', BLUE)
        os.utime(tmp_path / 'a.png', ns=(1, 1))  # another mtime, even within the clock's resolution
        assert [colour(small.read()) for _ in range(2)] == [BLUE, GREEN]


def test_empty_or_missing_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(SourceError, match=f'image_folder {tmp_path}: no image files'):
        make_source('image_folder', str(tmp_path)).open()
    with pytest.raises(SourceError, match='no such folder'):
        make_source('image_folder', str(tmp_path / 'nope')).open()


def test_video_file_loops_at_the_end(tmp_path):
    path = tmp_path / 'clip.avi'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (64, 48))
    assert writer.isOpened()
    for rgb in [RED, GREEN, BLUE]:
        writer.write(np.full((48, 64, 3), rgb[::-1], np.uint8))
    writer.release()
    frames = read_n(make_source('video_file', str(path)), 7)
    assert all(f.shape == (48, 64, 3) for f in frames)
    dominant = [int(np.argmax(colour(f))) for f in frames]
    assert dominant == [0, 1, 2, 0, 1, 2, 0]
    assert all(max(colour(f)) > 200 for f in frames)


def test_video_file_missing_or_not_a_video(tmp_path):
    with pytest.raises(SourceError, match='no such file'):
        make_source('video_file', str(tmp_path / 'none.avi')).open()
    (tmp_path / 'junk.avi').write_text('junk')
    with pytest.raises(SourceError, match=f'video_file {tmp_path / "junk.avi"}: cannot open'):
        make_source('video_file', str(tmp_path / 'junk.avi')).open()


def test_fake_has_the_size_and_moves():
    default = read_n(make_source('fake'), 1)[0]
    assert default.shape == (480, 640, 3) and default.dtype == np.uint8
    frames = read_n(make_source('fake', width=160, height=120), 2)
    assert frames[0].shape == (120, 160, 3)
    assert not np.array_equal(frames[0], frames[1])
    assert tuple(frames[0][10, 0]) == (255, 255, 255) and tuple(frames[0][10, -1]) == BLUE
    assert read_n(make_source('fake', width=320), 1)[0].shape == (240, 320, 3)


def test_webcam_missing_device_names_it():
    with pytest.raises(SourceError, match='webcam /dev/video_nonexistent: no such device'):
        make_source('webcam', '/dev/video_nonexistent').open()
    with pytest.raises(SourceError, match='webcam 57: cannot open'):
        make_source('webcam', '57').open()


def test_resize(tmp_path):
    path = write_png(tmp_path / 'g.png', GREEN, size=(40, 20))
    assert read_n(make_source('image_file', str(path), width=10, height=8), 1)[0].shape == (8, 10, 3)
    big = read_n(make_source('image_folder', str(tmp_path), width=80, height=60), 1)[0]
    assert big.shape == (60, 80, 3) and colour(big) == GREEN
    image = np.zeros((20, 40, 3), np.uint8)
    assert resize(image, width=20).shape == (10, 20, 3)
    assert resize(image, height=40).shape == (40, 80, 3)
    assert resize(image) is image


def test_bad_type_or_missing_path():
    with pytest.raises(ValueError, match='expected one of webcam, video_file, image_file, image_folder, fake, '
                                         "got 'usb'"):
        make_source('usb')
    with pytest.raises(ValueError, match='source_path: required for source_type image_file'):
        make_source('image_file', '')


def test_backoff_doubles_to_the_maximum_and_resets():
    backoff = Backoff(initial=0.5, maximum=10.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]
    backoff.reset()
    assert backoff.next() == 0.5
    assert Backoff(maximum=0.2).next() == 0.2
