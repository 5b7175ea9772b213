"""The CLI under --json (issue #16, item 9): stdout holds one JSON document also on failure
({"command", "error"}), progress goes to stderr, non-finite numbers are null."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("DSLA_CLI", ROOT / "build" / "bin" / "dsla"))
pytestmark = pytest.mark.skipif(not CLI.exists(), reason=f"CLI not built at {CLI}")


def _run(*args):
    return subprocess.run([str(CLI), *args], capture_output=True, text=True)


def test_failure_under_json_is_json_with_the_error():
    r = _run("solve", "no_such_file.mtx", "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["command"] == "solve" and "no_such_file.mtx" in doc["error"]
    assert "error" in r.stderr
    r = _run("solve", "poisson2d:8", "--method", "nope", "--json")
    assert r.returncode == 1 and "method" in json.loads(r.stdout)["error"]
    r = _run("solve", "no_such_file.mtx")  # without --json: stderr only
    assert r.returncode == 1 and r.stdout == ""


def test_progress_goes_to_stderr_with_json():
    r = _run("solve", "poisson2d:64", "--method", "cg", "--precond", "none", "--progress", "10",
             "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # stdout is the document alone
    assert doc["iterations"] > 10 and "iteration" in r.stderr
    assert all(v is None or isinstance(v, (int, float, str, bool)) for v in doc.values())


def test_cli_writes_torch_dtype_names():
    # Issue #16 item 10: torch's names (torch.float64), not c10's (Double), in every output.
    for cmd in (["info", "poisson2d:6"], ["solve", "poisson2d:6", "--json"],
                ["solve", "poisson2d:6", "--json", "--method", "cg", "--rtol", "1e-5", "--dtype",
                 "float32"],
                ["spmv", "poisson2d:6", "--json", "--dtype", "float32"]):
        out = subprocess.run([str(CLI)] + cmd, capture_output=True, text=True, check=True).stdout
        assert "torch.float" in out and "Double" not in out and '"Float"' not in out, out
