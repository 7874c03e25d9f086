"""`${packages.<name>}` falls back to the share directory of an installed ROS package (ament index)."""
from vision_classifier.core.paths import PACKAGES_DIR_ENV, resolve_path


def test_installed_ros_package_resolves_to_its_share_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(PACKAGES_DIR_ENV, str(tmp_path))
    resolved = resolve_path('${packages.vision_classifier_msgs}/package.xml')
    assert resolved.endswith('share/vision_classifier_msgs/package.xml')
