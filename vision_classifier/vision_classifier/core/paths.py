"""Resolve Viam's `${packages.<name>}` placeholders in file paths."""
import os
from pathlib import Path
import re

PACKAGES_DIR_ENV = 'VISION_CLASSIFIER_PACKAGES_DIR'
DEFAULT_PACKAGES_DIR = '~/.viam/packages'
_PACKAGE_REF = re.compile(r'\$\{packages\.([^}]*)\}')
_ENV_REF = re.compile(r'\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))')


class PathError(ValueError):
    pass


def packages_dir(explicit=None):
    """Return the packages directory: `explicit`, else $VISION_CLASSIFIER_PACKAGES_DIR, else ~/.viam/packages."""
    chosen = explicit or os.environ.get(PACKAGES_DIR_ENV) or DEFAULT_PACKAGES_DIR
    return Path(chosen).expanduser()


def cache_dir():
    """Return our folder in the user's cache: $XDG_CACHE_HOME/vision_classifier (default ~/.cache/vision_classifier)."""
    base = os.environ.get('XDG_CACHE_HOME', '')
    if not os.path.isabs(base):  # unset, empty or relative: the XDG base directory spec says to ignore it
        base = os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'vision_classifier'


def package_root(name, explicit_packages_dir=None):
    """Return `<packages dir>/<name>` if that folder exists, else the share directory of the ROS package `name`."""
    if not name or '/' in name:
        raise PathError(f'${{packages.{name}}}: not a valid package name')
    base = packages_dir(explicit_packages_dir)
    candidate = base / name
    if candidate.is_dir():
        return candidate
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(name))
    except (ImportError, LookupError):
        pass
    except ValueError as e:  # ament rejects names that cannot be ROS package names
        raise PathError(f'${{packages.{name}}}: no folder {candidate} and {e}') from None
    raise PathError(
        f'${{packages.{name}}}: no folder {candidate} (set the packages directory with '
        f'--packages-dir, the packages_dir parameter or ${PACKAGES_DIR_ENV}) '
        f'and no installed ROS package named "{name}"')


def expand_variables(text, environ=None):
    """
    Return `text` with `$VAR` and `${VAR}` replaced by their environment values.

    `${packages.<name>}` is left as it is. An unset variable is a PathError naming it.
    """
    environ = os.environ if environ is None else environ

    def value(match):
        name = match.group(1) if match.group(1) is not None else match.group(2)
        if name.startswith('packages.'):
            return match.group(0)
        if name not in environ:
            raise PathError(f'${name}: environment variable not set')
        return environ[name]
    return _ENV_REF.sub(value, text)


def resolve_path(path, explicit_packages_dir=None, base_dir=None):
    """
    Expand `$VAR`, `${VAR}`, `${packages.<name>}` and `~` in `path`; return a string.

    A relative result is taken relative to `base_dir` when given.
    """
    expanded = _PACKAGE_REF.sub(
        lambda match: str(package_root(match.group(1), explicit_packages_dir)), expand_variables(path))
    expanded = os.path.expanduser(expanded)
    if base_dir is not None and not os.path.isabs(expanded):
        expanded = os.path.join(base_dir, expanded)
    return expanded
