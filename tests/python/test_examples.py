"""Every script in examples/ runs (on the CPU, at a small size) and ends with "ok", so the
examples cannot rot (issue #16, item 10). Each asserts its own result against a reference
(SciPy, a finite difference, JFNK vs the assembled Jacobian, AMG vs Jacobi)."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SMALL = {
    "inverse_poisson.py": ["--n", "16", "--iters", "15"],
    "graph_laplacian.py": [],
    "bratu.py": ["--n", "12"],
    "cuda_amg.py": ["--n", "64", "--device", "cpu"],
    "dist_bratu.py": ["--n", "10", "--ranks", "2"],
    "dist_amg.py": ["--n", "12", "--ranks", "2", "--steps", "3"],
    "mixed_precision_cg.py": ["--n", "48", "--device", "cpu"],
}


def test_every_example_is_listed():
    assert sorted(p.name for p in (ROOT / "examples").glob("*.py")) == sorted(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_example_runs(name, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    r = subprocess.run([sys.executable, str(ROOT / "examples" / name), *SMALL[name]],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith("ok"), r.stdout
