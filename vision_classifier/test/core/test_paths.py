import pytest

from vision_classifier.core.paths import PACKAGES_DIR_ENV, PathError, resolve_path


def test_packages_placeholder_resolves_in_the_packages_dir(tmp_path, monkeypatch):
    (tmp_path / 'fruit').mkdir()
    monkeypatch.setenv(PACKAGES_DIR_ENV, str(tmp_path))
    assert resolve_path('${packages.fruit}/m.tflite') == f'{tmp_path}/fruit/m.tflite'


def test_explicit_packages_dir_wins_over_environment(tmp_path, monkeypatch):
    (tmp_path / 'a' / 'fruit').mkdir(parents=True)
    monkeypatch.setenv(PACKAGES_DIR_ENV, str(tmp_path / 'b'))
    assert resolve_path('${packages.fruit}/x', str(tmp_path / 'a')) == f'{tmp_path}/a/fruit/x'


def test_unknown_package_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv(PACKAGES_DIR_ENV, str(tmp_path))
    with pytest.raises(PathError, match=r'\$\{packages.nothing_here\}: no folder .*nothing_here'):
        resolve_path('${packages.nothing_here}/m.tflite')


def test_plain_paths_are_unchanged():
    assert resolve_path('/models/m.tflite') == '/models/m.tflite'


def test_environment_variables_expand_and_packages_keep_their_meaning(tmp_path, monkeypatch):
    (tmp_path / 'fruit').mkdir()
    monkeypatch.setenv(PACKAGES_DIR_ENV, str(tmp_path))
    monkeypatch.setenv('MODELS', '/opt/models')
    resolved = resolve_path('$MODELS/a/${MODELS}/${packages.fruit}/m.tflite')
    assert resolved == f'/opt/models/a//opt/models/{tmp_path}/fruit/m.tflite'
    monkeypatch.delenv('NOT_SET_HERE', raising=False)
    with pytest.raises(PathError, match=r'^\$NOT_SET_HERE: environment variable not set$'):
        resolve_path('${NOT_SET_HERE}/m.tflite')


def test_relative_paths_take_the_base_dir():
    assert resolve_path('models/m.tflite', base_dir='/robot') == '/robot/models/m.tflite'
    assert resolve_path('/abs/m.tflite', base_dir='/robot') == '/abs/m.tflite'
