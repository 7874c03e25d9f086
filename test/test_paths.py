import pytest

from vision_classifier.paths import PACKAGES_DIR_ENV, PathError, resolve_path


def test_packages_placeholder_resolves_in_the_packages_dir(tmp_path, monkeypatch):
    (tmp_path / 'fruit').mkdir()
    monkeypatch.setenv(PACKAGES_DIR_ENV, str(tmp_path))
    assert resolve_path('${packages.fruit}/m.tflite') == f'{tmp_path}/fruit/m.tflite'


def test_explicit_packages_dir_wins_over_environment(tmp_path, monkeypatch):
    (tmp_path / 'a' / 'fruit').mkdir(parents=True)
    monkeypatch.setenv(PACKAGES_DIR_ENV, str(tmp_path / 'b'))
    assert resolve_path('${packages.fruit}/x', str(tmp_path / 'a')) == f'{tmp_path}/a/fruit/x'


@pytest.mark.ros
def test_installed_ros_package_resolves_to_its_share_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(PACKAGES_DIR_ENV, str(tmp_path))
    resolved = resolve_path('${packages.vision_classifier_msgs}/package.xml')
    assert resolved.endswith('share/vision_classifier_msgs/package.xml')


def test_unknown_package_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv(PACKAGES_DIR_ENV, str(tmp_path))
    with pytest.raises(PathError, match=r'\$\{packages.nothing_here\}: no folder .*nothing_here'):
        resolve_path('${packages.nothing_here}/m.tflite')


def test_plain_paths_are_unchanged():
    assert resolve_path('/models/m.tflite') == '/models/m.tflite'
