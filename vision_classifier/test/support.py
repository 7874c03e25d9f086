"""Paths, photos and time limits shared by the tests (no ROS here: the core tests use it too)."""
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]          # the repository: scripts/, README.md, .cache/
PACKAGE = REPO / 'vision_classifier'                 # the ament_python package: config/, launch/, test/
TEST_DIR = PACKAGE / 'test'
FIXTURES = TEST_DIR / 'fixtures'
PACKAGES_DIR = Path(os.environ.get('VISION_CLASSIFIER_PACKAGES_DIR', REPO / '.cache' / 'packages'))
DEFAULT_MODEL = PACKAGES_DIR / 'efficientnet_lite0' / 'efficientnet_lite0.tflite'
DEFAULT_CONFIG = PACKAGE / 'config' / 'default.json'
PHOTOS = PACKAGES_DIR / 'sample_photos'
CAT_CLASSES = {'tabby', 'tiger cat', 'Persian cat', 'Siamese cat', 'Egyptian cat'}
EXPECTED_TOP = {'coffee.png': {'espresso'}, 'chelsea.png': CAT_CLASSES, 'rocket.jpg': {'missile'}}
# Tests wait for events (a log line, a message, a state), never for a time. A wait gives up after TIMEOUT seconds,
# a bound only for failing, never reached on a working machine however slow or loaded: it covers process starts,
# model loads and DDS discovery.
TIMEOUT = 120.0


def fixture_model(name):
    """Return the path of a model in test/fixtures/models."""
    return str(FIXTURES / 'models' / name)
