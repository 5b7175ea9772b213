"""dsla.config (scoped, nested, thread-local solve defaults; explicit keywords win) and
dsla.presets (the C++ table, also behind the CLI's --preset)."""
import asyncio
import inspect
import json
import pathlib
import subprocess
import threading
import warnings

import pytest
import torch

import dsla

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "dsla"
HAVE_SS = bool(dsla.features.get("suitesparse", False))


def _solve(A, **kw):
    b = torch.ones(A.shape[0], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dsla.SolveWarning)
        return dsla.solve(A, b, return_info=True, **kw)[1]


def test_config_sets_defaults_and_explicit_keywords_win():
    A = dsla.poisson2d(8)
    assert _solve(A).method != "gmres"
    with dsla.config(method="gmres", precond="jacobi"):
        info = _solve(A)
        assert (info.method, info.preconditioner) == ("gmres", "jacobi")
        info = _solve(A, method="cg")  # explicit wins
        assert (info.method, info.preconditioner) == ("cg", "jacobi")
    assert _solve(A).method != "gmres"  # left the scope
    with dsla.config(maxiter=2):
        info = _solve(A, method="cg", precond="none")
        assert info.iterations == 2 and not info.converged
        # An explicit keyword wins whatever its value, None (= the built-in default) included.
        info = _solve(A, method="cg", precond="none", maxiter=None)
        assert info.converged
    with dsla.config(rtol=1e-3):
        loose = _solve(A, method="cg", precond="none")
        tight = _solve(A, method="cg", precond="none", rtol=1e-8)  # == the built-in default
    assert loose.residual > 1e-8 and tight.residual <= 1e-8
    assert loose.iterations < tight.iterations


def test_config_reaches_solver_method_and_matrix_free_solves():
    A = dsla.poisson2d(6)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    with dsla.config(method="bicgstab", precond="none", rtol=1e-10):
        S = dsla.Solver(A)
        _, info = A.solve(b, return_info=True)
    with dsla.config(maxiter=3), warnings.catch_warnings():
        warnings.simplefilter("ignore", dsla.SolveWarning)
        _, op_info = dsla.solve(lambda v: A @ v, b, return_info=True)
    assert S.method == "bicgstab" and S.preconditioner == "none"
    assert info.method == "bicgstab" and op_info.iterations == 3
    _, later = S.solve(b, return_info=True)  # the Solver keeps what was in force when made
    assert later.method == "bicgstab" and later.residual <= 1e-10


def test_config_nests_and_restores():
    A = dsla.poisson2d(6)
    with dsla.config(rtol=1e-4, method="cg"):
        with dsla.config(method="minres"):
            assert dsla.config.current()["rtol"] == 1e-4
            assert _solve(A, precond="none").method == "minres"
            with dsla.config("convection-cpu"):  # a preset replaces the algorithm, keeps rtol
                cur = dsla.config.current()
                assert (cur["method"], cur["precond"], cur["restart"], cur["rtol"]) == \
                    ("gmres", "ilu0", 50, 1e-4)
        assert dsla.config.current()["method"] == "cg"
    cur = dsla.config.current()
    assert cur["method"] == "auto" and cur["rtol"] == 1e-8 and cur["precond"] is None


def test_config_as_decorator_and_reentrant():
    A = dsla.poisson2d(5)

    @dsla.config(method="gmres", restart=7)
    def solve_it(depth):
        if depth:
            return solve_it(depth - 1)
        return _solve(A, precond="none")

    assert solve_it(2).method == "gmres"
    assert dsla.config.current()["restart"] == 30
    c = dsla.config(method="cg")
    with c:
        with c:
            assert dsla.config.current()["method"] == "cg"
    assert dsla.config.current()["method"] == "auto"


def test_config_is_thread_local():
    seen = {}
    ready, done = threading.Event(), threading.Event()

    def worker():
        seen["start"] = dsla.config.current()["method"]  # main thread's scope is not here
        with dsla.config(method="minres"):
            ready.set()
            done.wait(10)
            seen["inside"] = dsla.config.current()["method"]

    with dsla.config(method="gmres"):
        t = threading.Thread(target=worker)
        t.start()
        ready.wait(10)
        seen["main"] = dsla.config.current()["method"]  # the thread's scope is not here
        done.set()
        t.join()
    assert seen == {"start": "auto", "inside": "minres", "main": "gmres"}


def test_config_follows_asyncio_tasks():
    async def task(method):
        with dsla.config(method=method):
            await asyncio.sleep(0.01)
            return dsla.config.current()["method"]

    async def main():
        return await asyncio.gather(task("cg"), task("gmres"))

    assert asyncio.run(main()) == ["cg", "gmres"]


def test_config_repr_prints_what_is_in_force():
    text = repr(dsla.config())
    assert text.startswith("dsla.config()")
    assert "rtol" in text and "1e-08" in text and "built-in" in text
    with dsla.config("spd-cpu", rtol=1e-10):
        text = repr(dsla.config())
    assert "'amg'" in text and "preset 'spd-cpu' (scope 1)" in text
    assert "1e-10" in text and "dsla.config(rtol=1e-10)" in text
    assert "dsla.solve" in text and "dsla.distributed.solve" in text
    assert "explicit" in text
    c = dsla.config("spd-gpu", maxiter=50)
    assert c.options == {"method": "cg", "precond": "amg", "restart": 30, "ordering": "auto",
                         "maxiter": 50}
    assert str(c).startswith("dsla.config('spd-gpu', maxiter=50)")


def test_config_checks_its_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument 'rtl'"):
        dsla.config(rtl=1e-3)
    with pytest.raises(ValueError, match="argument 'method': unknown method 'cgs'"):
        dsla.config(method="cgs")
    with pytest.raises(ValueError, match="argument 'precond': unknown preconditioner"):
        dsla.config(precond="ilu1")
    with pytest.raises(ValueError, match="argument 'rtol': must be >= 0"):
        dsla.config(rtol=-1)
    with pytest.raises(TypeError, match="argument 'maxiter': expected an integer"):
        dsla.config(maxiter=2.5)
    with pytest.raises(ValueError, match="argument 'restart': must be >= 1"):
        dsla.config(restart=0)
    with pytest.raises(TypeError, match="argument 'history': expected True or False"):
        dsla.config(history=1)
    with pytest.raises(ValueError, match="argument 'ordering'"):
        dsla.config(ordering="rcm")
    with pytest.raises(ValueError, match="argument 'preset': unknown preset 'spd'.*spd-cpu"):
        dsla.config("spd")
    with pytest.raises(TypeError, match="argument 'preset'"):
        dsla.config(1e-10)
    dsla.config(precond="block_jacobi:ic0", method="CG")  # distributed kinds, any case


def test_config_value_refused_by_a_solve_names_its_source():
    A = dsla.convdiff2d(5, 3.0)  # nonsymmetric: Cholesky refuses it
    b = torch.ones(A.shape[0], dtype=torch.float64)
    with dsla.config(precond="block_jacobi:ilu0"):
        with pytest.raises(ValueError, match=r"came from dsla.config\(precond="):
            dsla.solve(A, b, method="gmres")


def test_presets_table():
    names = list(dsla.presets)
    assert names == [f"{c}-{t}" for c in ("spd", "general", "indefinite", "convection")
                     for t in ("cpu", "gpu", "direct")]
    for n in names:
        p = dsla.presets[n]
        assert set(p) == {"method", "precond", "restart", "ordering"}
        assert dsla.presets.description(n)
        assert (p["method"] in ("cholesky", "ldlt", "lu")) == n.endswith("-direct")
    assert dsla.presets["spd-cpu"]["method"] == "cg"
    p = dsla.presets["spd-cpu"]
    p["method"] = "lu"  # a copy: the table does not change
    assert dsla.presets["spd-cpu"]["method"] == "cg"
    with pytest.raises(KeyError, match="unknown preset"):
        dsla.presets["fast"]
    assert "spd-direct" in repr(dsla.presets)


def saddle_point(n=6):
    """A Stokes-like [[L, B], [Bᵀ, 0]]: symmetric indefinite with a zero diagonal block."""
    L = dsla.poisson2d(n).to_dense()
    m = n // 2
    B = torch.zeros(n * n, m * m, dtype=torch.float64)
    for i in range(m):
        for j in range(m):
            for di in (0, 1):
                for dj in (0, 1):
                    B[(2 * i + di) * n + 2 * j + dj, i * m + j] = 1.0 if di == dj else -1.0
    Z = torch.zeros(m * m, m * m, dtype=torch.float64)
    return dsla.SparseTensor.from_dense(torch.cat([torch.cat([L, B], 1), torch.cat([B.T, Z], 1)]))


def matrix_of(spec):
    if spec == "shifted":  # symmetric indefinite: a Laplacian shifted past a few eigenvalues
        P = dsla.poisson2d(12)
        return P - dsla.eye(P.shape[0], dtype=torch.float64) * 0.5
    if spec == "saddle":
        return saddle_point()
    if spec == "sherman1":  # symmetric indefinite, negative diagonal entries
        return dsla.read_mtx(str(ROOT / "data" / "sherman1.mtx"))
    return dsla.generate(spec)


@pytest.mark.parametrize("name,spec", [("spd-cpu", "poisson2d:12"), ("spd-gpu", "poisson2d:12"),
                                       ("general-cpu", "convdiff2d:12:2"),
                                       ("general-gpu", "convdiff2d:12:2"),
                                       ("indefinite-cpu", "shifted"), ("indefinite-gpu", "shifted"),
                                       ("indefinite-cpu", "saddle"), ("indefinite-cpu", "sherman1"),
                                       ("convection-cpu", "convdiff2d:12:200"),
                                       ("convection-gpu", "convdiff2d:12:200")])
def test_iterative_presets_solve_their_class(name, spec):
    A = matrix_of(spec)
    with dsla.config(name, rtol=1e-9):
        info = _solve(A)
    assert info.converged, (name, info)
    assert info.method == dsla.presets[name]["method"]


@pytest.mark.skipif(not HAVE_SS, reason="no direct CPU solver (SuiteSparse)")
@pytest.mark.parametrize("name", ["spd-direct", "general-direct", "indefinite-direct",
                                  "convection-direct"])
def test_direct_presets(name):
    A = {"spd": dsla.poisson2d(10), "general": dsla.convdiff2d(10, 2.0),
         "indefinite": saddle_point(),  # CHOLMOD's LDLᵀ (no pivoting) stops on this one
         "convection": dsla.convdiff2d(10, 300.0)}[name.split("-")[0]]
    with dsla.config(name):
        info = _solve(A)
    assert info.converged and info.method == dsla.presets[name]["method"]


def test_signatures_keep_the_builtin_defaults():
    for f in (dsla.solve, dsla.Solver, dsla.distributed.solve, dsla.distributed.Solver):
        params = inspect.signature(f).parameters
        assert params["rtol"].default == 1e-8 and params["method"].default == "auto"
    assert "dsla.config" in dsla.solve.__doc__


def test_cli_preset():
    if not CLI.exists():
        pytest.skip(f"CLI not built at {CLI}")
    out = subprocess.run([str(CLI), "solve", "poisson2d:16", "--preset", "spd-cpu", "--json"],
                         capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    assert (d["preset"], d["method"], d["preconditioner"][:3]) == ("spd-cpu", "cg", "amg")
    out = subprocess.run([str(CLI), "solve", "poisson2d:16", "--preset", "spd-cpu", "--precond",
                          "jacobi", "--json"], capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    assert (d["method"], d["preconditioner"]) == ("cg", "jacobi")  # explicit option wins
    r = subprocess.run([str(CLI), "solve", "poisson2d:16", "--preset", "fast", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "--preset" in json.loads(r.stdout)["error"] and "spd-cpu" in r.stdout
