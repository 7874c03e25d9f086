"""flake8 as ament packages run it (ament_flake8's configuration), with lines of up to 120 characters."""
from ament_flake8.main import main_with_errors
import pytest
from support import PACKAGE

PATHS = [str(PACKAGE / name) for name in ('vision_classifier', 'test', 'launch', 'setup.py')]


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    rc, errors = main_with_errors(argv=['--linelength', '120', *PATHS])
    assert rc == 0, f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)
