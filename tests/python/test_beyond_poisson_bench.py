"""bench/beyond_poisson.py (issue #17 item 6) on the CPU, two small matrices, one repeat: the
JSON it writes and the --table-only Markdown table."""
import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "beyond_poisson.py"
MATRICES = ("gr_30_30", "hor_131")  # one SPD, one nonsymmetric: both method sets


def load_script():
    spec = importlib.util.spec_from_file_location("beyond_poisson", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench():
    return load_script()


@pytest.fixture(scope="module")
def result(bench, tmp_path_factory):
    # The script reads $DSLA_DATA_DIR, which conftest exports; skip when the files are absent.
    data = bench.data_dir()
    if not all((data / f"{m}.mtx").exists() for m in MATRICES):
        pytest.skip(f"{MATRICES} not found under {data} (set DSLA_DATA_DIR)")
    out = tmp_path_factory.mktemp("beyond-poisson")
    path = bench.main(["--device", "cpu", "--matrices", ",".join(MATRICES), "--repeats", "1",
                       "--out", str(out)])
    return path, json.loads(path.read_text())


def test_json_records(bench, result):
    path, doc = result
    assert path.name.startswith("beyond-poisson-cpu-") and path.suffix == ".json"
    for key in ("machine", "torch", "commit", "date", "protocol"):
        assert doc[key]
    recs = doc["records"]
    assert {r["matrix"] for r in recs} == set(MATRICES)
    # every method of each kind ran on the CPU with the default one thread
    kinds = {r["matrix"]: r["kind"] for r in recs}
    assert len(recs) == sum(len(bench.METHODS[k]) for k in kinds.values())
    assert all(r["device"] == "cpu" and r["threads"] == 1 for r in recs)
    converged = [r for r in recs if r["converged"]]
    assert converged, "nothing converged"
    for r in converged:
        assert r["error"] is None and r["time_s"] > 0
        tol = bench.DIRECT_TOL if r["method"] in bench.DIRECT else 10 * r["rtol"]
        assert r["residual"] <= tol
        assert r["iterations"] == 0 if r["method"] in bench.DIRECT else r["iterations"] > 0
    # these two are easy: the iterative and direct solvers all converge on them
    assert {(r["matrix"], r["method"], r["precond"]) for r in converged} >= {
        ("gr_30_30", "cg", "amg"), ("gr_30_30", "cg", "ic0"), ("hor_131", "gmres", "ilu0")}


def test_table_only(bench, result, capsys):
    path, _ = result
    assert bench.main(["--table-only", str(path)]) is None
    text = capsys.readouterr().out
    assert "| matrix |" in text and "CPU 1t time (s)" in text
    for m in MATRICES:
        assert f"| {m} |" in text
