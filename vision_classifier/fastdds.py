"""Fast DDS XML profiles: the variables that point a process at one (no ROS here).

Fast DDS 2.x (Humble, Jazzy) reads FASTRTPS_DEFAULT_PROFILES_FILE; FASTDDS_DEFAULT_PROFILES_FILE exists from Fast
DDS 3 (Kilted on), and each version silently ignores the other's: set both.
"""
from pathlib import Path

PROFILE_VARIABLES = ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE')
LARGE_IMAGES_PROFILE = 'fastdds_large_images.xml'


def profile_env(path):
    """Environment variables that make Fast DDS 2 and 3 load the profile at `path`."""
    return dict.fromkeys(PROFILE_VARIABLES, str(path))


def profile_in(environ):
    """The profile file `environ` points Fast DDS at (either variable), or None."""
    return next((environ[v] for v in PROFILE_VARIABLES if environ.get(v)), None)


def large_images_profile():
    """config/fastdds_large_images.xml of the installed package (or of the source tree)."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return str(Path(get_package_share_directory('vision_classifier')) / 'config' / LARGE_IMAGES_PROFILE)
    except (ImportError, LookupError):
        return str(Path(__file__).resolve().parents[1] / 'config' / LARGE_IMAGES_PROFILE)
