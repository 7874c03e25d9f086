"""
Fast DDS XML profiles: the variable that points a process at one (no ROS here).

Fast DDS 2.x (Humble, Jazzy) reads only FASTRTPS_DEFAULT_PROFILES_FILE and silently ignores
FASTDDS_DEFAULT_PROFILES_FILE; Fast DDS 3 (Kilted on) reads FASTDDS_DEFAULT_PROFILES_FILE, and Kilted's rmw also
loads a FASTRTPS_ one (deprecated), so with both set it loads the profile twice and refuses its transports as
duplicates. The variable is chosen by ROS_DISTRO; where that is unknown, both are set.
"""
import os
from pathlib import Path

PROFILE_VARIABLES = ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE')
FAST_DDS_2_DISTROS = ('humble', 'iron', 'jazzy')
LARGE_IMAGES_PROFILE = 'fastdds_large_images.xml'


def profile_variables(distro=None):
    """Return the variable(s) the Fast DDS of `distro` (default: $ROS_DISTRO) reads a profile from."""
    distro = (distro if distro is not None else os.environ.get('ROS_DISTRO', '')).lower()
    if distro in FAST_DDS_2_DISTROS:
        return PROFILE_VARIABLES[:1]
    return PROFILE_VARIABLES[1:] if distro else PROFILE_VARIABLES


def profile_env(path, distro=None):
    """Return the environment variables that make this distro's Fast DDS load the profile at `path`."""
    return dict.fromkeys(profile_variables(distro), str(path))


def profile_in(environ):
    """Return the profile file `environ` points Fast DDS at (either variable), or None."""
    return next((environ[v] for v in PROFILE_VARIABLES if environ.get(v)), None)


def large_images_profile():
    """Return config/fastdds_large_images.xml of the installed package (or of the source tree)."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return str(Path(get_package_share_directory('vision_classifier')) / 'config' / LARGE_IMAGES_PROFILE)
    except (ImportError, LookupError):
        return str(Path(__file__).resolve().parents[2] / 'config' / LARGE_IMAGES_PROFILE)
