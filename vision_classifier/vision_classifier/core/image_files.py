"""Read image files as RGB arrays."""
from pathlib import Path

import cv2

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm')


class ImageFileError(ValueError):
    pass


def read_rgb(path):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        reason = 'no such file' if not Path(path).is_file() else 'not a readable image'
        raise ImageFileError(f'{path}: {reason}')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def list_images(folder):
    """Return the image files in `folder`, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
