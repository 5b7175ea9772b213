"""pytest setup: import dsla from the source tree (python/), locate the real matrices (data/,
../shared/data); markers for
GPU tests and for tests that need a direct (factorization) solver."""
import atexit
import os
import pathlib
import shutil
import sys
import tempfile

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import dsla  # noqa: E402

# Direct solvers: SuiteSparse on the CPU, cuDSS on CUDA (dsla.features). Without them the
# eigen/nonlinear code picks iterative inner solves; tests of the direct path itself skip.
HAVE_DIRECT_CPU = bool(dsla.features.get("suitesparse", False))
HAVE_DIRECT_CUDA = bool(dsla.features.get("cudss", False))
NO_DIRECT_REASON = ("dsla built without SuiteSparse (dsla.features['suitesparse'] is False): "
                    "no direct CPU solver")



def _data_dir():
    """The real matrices: the repository's data/ (shipped, small), merged with the larger ones of
    DSLA_EXTRA_DATA_DIR (default ../shared/data beside the checkout) when that folder exists.
    DSLA_DATA_DIR names one folder instead. Test modules read DSLA_DATA_DIR at import (after
    this conftest), and so do the CLI subprocesses: it is exported here."""
    if os.environ.get("DSLA_DATA_DIR"):
        return pathlib.Path(os.environ["DSLA_DATA_DIR"])
    shipped = ROOT / "data"
    extra = pathlib.Path(os.environ.get("DSLA_EXTRA_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not extra.is_dir():
        return shipped
    merged = pathlib.Path(tempfile.mkdtemp(prefix="dsla-data-"))
    atexit.register(shutil.rmtree, merged, True)
    for folder in (shipped, extra):  # the shipped copy wins
        for f in folder.glob("*.mtx*"):
            if not (merged / f.name).exists():
                (merged / f.name).symlink_to(f.resolve())
    return merged


DATA_DIR = _data_dir()
os.environ["DSLA_DATA_DIR"] = str(DATA_DIR)


@pytest.fixture(scope="session")
def data_dir():
    if not DATA_DIR.is_dir():
        pytest.skip(f"real matrices not found at {DATA_DIR} (set DSLA_DATA_DIR)")
    return DATA_DIR


@pytest.fixture
def spd_solver():
    """A factory A -> dsla.Solver for an SPD A that is accurate to rounding on every build:
    Cholesky where a direct CPU solver exists, else CG + AMG at rtol 1e-12."""
    def make(A):
        if HAVE_DIRECT_CPU and A.device.type == "cpu":
            return dsla.Solver(A, method="cholesky")
        return dsla.Solver(A, method="cg", precond="amg", rtol=1e-12)
    return make


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA device (skipped without one)")
    config.addinivalue_line("markers", "direct: needs a direct CPU solver (SuiteSparse); skipped "
                            "in builds without one")


def pytest_collection_modifyitems(config, items):
    if HAVE_DIRECT_CPU:
        return
    skip = pytest.mark.skip(reason=NO_DIRECT_REASON)
    for item in items:
        if "direct" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _default_dtype_is_restored():
    """Every test starts and ends with torch's default dtype as the session began (float32):
    a test that changes it must restore it, or tests after it silently run in float64."""
    before = torch.get_default_dtype()
    yield
    after = torch.get_default_dtype()
    torch.set_default_dtype(before)
    assert after == before, f"the test left torch's default dtype at {after} (was {before})"


@pytest.fixture
def float64_default():
    """float64 as torch's default for one test, restored after it (modules that want it say
    ``pytestmark = pytest.mark.usefixtures("float64_default")``; a module-level
    set_default_dtype would leak into every module collected after it)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
