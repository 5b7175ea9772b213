"""The API reference builds from the docstrings with no Sphinx warning (issue #16, item 10):
scripts/docs.sh runs sphinx-build -W over docs/api."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_api_reference_builds_without_warnings(tmp_path):
    # sphinx.cmd.build, not just "sphinx": the GPU image has an importable but unrunnable sphinx
    # package (no sphinx.__main__), which is an incomplete install, not a docs failure.
    pytest.importorskip("sphinx.cmd.build",
                        reason="python3-sphinx not installed (scripts/install-deps.sh)")
    env = dict(os.environ, DSLA_DOCS_PYTHON=sys.executable)
    r = subprocess.run(["bash", str(ROOT / "scripts" / "docs.sh"), str(tmp_path / "html")],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    page = (tmp_path / "html" / "solvers.html").read_text()
    assert 'id="dsla.solve"' in page and 'id="dsla.Solver"' in page
    assert 'id="dsla.SparseTensor.solve"' in (tmp_path / "html" / "matrices.html").read_text()
