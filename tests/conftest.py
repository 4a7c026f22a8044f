import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import shutil

import pytest


@pytest.fixture
def copy(pristine, tmp_path):
    """A fresh, writable copy of one of the test module's pristine dataset folders."""
    def make(kind: str) -> Path:
        dst = tmp_path / kind
        shutil.copytree(pristine[kind], dst)
        return dst
    return make
