"""pytest setup: import dsla from the source tree (python/), locate ../shared/data."""
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

DATA_DIR = pathlib.Path(os.environ.get("DSLA_DATA_DIR", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir():
    if not DATA_DIR.is_dir():
        pytest.skip(f"real matrices not found at {DATA_DIR} (set DSLA_DATA_DIR)")
    return DATA_DIR


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA device (skipped without one)")
