"""Docstrings checked as ament packages check them (ament_pep257, convention "ament")."""
from ament_pep257.main import main
import pytest
from support import PACKAGE

PATHS = [str(PACKAGE / name) for name in ('vision_classifier', 'test', 'launch', 'setup.py')]


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    rc = main(argv=PATHS)
    assert rc == 0, 'Found code style errors / warnings'
