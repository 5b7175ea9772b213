"""SciPy's conventions where the name is SciPy's (issue #16, item 7; CHANGELOG.md): eigsh's
default `which="LM"`, svds's ascending order, one default rtol for Python, C++ and the CLI."""
import inspect
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

import dsla

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("DSLA_CLI", ROOT / "build" / "bin" / "dsla"))


def _sym(n=40, seed=3):
    rng = np.random.default_rng(seed)
    R = sp.random(n, n, density=0.15, random_state=rng)
    return (R + R.T + sp.diags(rng.uniform(-3, 3, n))).tocsr()


def test_eigsh_default_which_is_largest_magnitude_as_in_scipy():
    S = _sym()
    lam = dsla.eigsh(dsla.SparseTensor.from_scipy(S), k=4, tol=1e-12)[0]
    ref = spla.eigsh(S, k=4, return_eigenvectors=False)  # SciPy's default: "LM", ascending
    np.testing.assert_allclose(lam.numpy(), np.sort(ref), rtol=1e-9)
    assert inspect.signature(dsla.eigsh).parameters["which"].default == "LM"
    assert inspect.signature(dsla.SparseTensor.eigsh).parameters["which"].default == "LM"
    # "SA" stays reachable by name
    sa = dsla.SparseTensor.from_scipy(S).eigsh(3, which="SA", tol=1e-12)[0]
    np.testing.assert_allclose(sa.numpy(), np.linalg.eigvalsh(S.toarray())[:3], rtol=1e-9,
                               atol=1e-10)


@pytest.mark.parametrize("which", ["LM", "SM"])
def test_svds_returns_scipy_order(which):
    rng = np.random.default_rng(4)
    S = (sp.random(30, 30, density=0.2, random_state=rng) + 3 * sp.eye(30)).tocsr()
    U, s, V = dsla.svds(dsla.SparseTensor.from_scipy(S), k=3, which=which, tol=1e-12)
    ref = spla.svds(S, k=3, which=which, return_singular_vectors=False)
    np.testing.assert_allclose(s.numpy(), ref, rtol=1e-8)
    assert np.all(np.diff(s.numpy()) > 0)
    A = torch.from_numpy(S.toarray())
    torch.testing.assert_close(A @ V, U * s, rtol=1e-8, atol=1e-9)


def test_one_default_rtol_for_python_cpp_and_cli():
    assert inspect.signature(dsla.solve).parameters["rtol"].default == 1e-8
    assert inspect.signature(dsla.Solver).parameters["rtol"].default == 1e-8
    if not CLI.exists():
        pytest.skip(f"CLI not built at {CLI}")
    out = subprocess.run([str(CLI), "solve", "poisson2d:8", "--method", "cg", "--json"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["rtol"] == 1e-8


# ---------------------------------------------------------------- callback(xk), as SciPy
def test_callback_receives_the_iterate_as_scipy():
    A = dsla.poisson2d(8, dtype=torch.float64)
    n = A.shape[0]
    b = torch.linspace(1, 2, n, dtype=torch.float64)
    xs, its = [], []
    x, info = dsla.solve(A, b, method="cg", precond="none", rtol=1e-10,
                         callback=lambda xk: xs.append(xk),
                         monitor=lambda it, r: its.append(it), return_info=True)
    # One call per convergence check (every iteration on the CPU), the iterate in x's shape.
    assert len(xs) == len(its) == info.iterations
    assert all(xk.shape == x.shape for xk in xs)
    assert torch.equal(xs[-1], x)
    res = [float((b - A @ xk).norm()) for xk in xs]
    assert res[-1] < 1e-9 * float(b.norm()) < res[0]
    # SciPy's cg calls its callback with the same iterates (same algorithm, same start).
    import scipy.sparse.linalg as spl

    ref = []
    tol = "rtol" if "rtol" in inspect.signature(spl.cg).parameters else "tol"
    spl.cg(A.to_scipy(), b.numpy(), **{tol: 1e-10}, callback=lambda xk: ref.append(xk.copy()))
    m = min(5, len(ref))
    for k in range(m):
        assert np.allclose(xs[k].numpy(), ref[k], rtol=1e-8, atol=1e-12)
    # Several right-hand sides, a batch, a prepared Solver, GMRES.
    B = torch.stack([b, b.flip(0)], 1)
    seen = []
    dsla.solve(A, B, method="cg", rtol=1e-8, callback=lambda xk: seen.append(xk.shape))
    assert seen and all(s == (n, 2) for s in seen)
    Ab = A.with_values(torch.stack([A.values, 2 * A.values]))
    seen = []
    dsla.solve(Ab, torch.stack([b, b]), method="cg", rtol=1e-8,
               callback=lambda xk: seen.append(xk.shape))
    assert seen and all(s == (2, n) for s in seen)
    S = dsla.Solver(A, method="gmres", precond="jacobi", rtol=1e-8,
                    callback=lambda xk: seen.append(xk.shape))
    seen.clear()
    S.solve(b)
    assert seen and all(s == (n,) for s in seen)


def test_two_argument_callback_is_monitor_with_a_warning():
    A = dsla.poisson2d(5, dtype=torch.float64)
    b = torch.ones(25, dtype=torch.float64)
    seen = []
    with pytest.warns(FutureWarning, match="monitor"):
        dsla.solve(A, b, method="cg", callback=lambda it, r: seen.append((it, r)))
    assert seen and isinstance(seen[0][0], int)
    with pytest.raises(TypeError, match="argument 'callback'"):
        dsla.solve(A, b, method="cg", callback=lambda it, r: None, monitor=lambda it, r: None)
    with pytest.raises(TypeError, match="argument 'callback'"):
        dsla.solve(A, b, method="cg", callback=3)


# ---------------------------------------------------------------- LSQR / LSMR damp, as SciPy
@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("damp", [0.0, 0.3, 2.0])
def test_damp_solves_the_regularized_problem(method, damp):
    g = torch.Generator().manual_seed(4)
    D = torch.randn(30, 12, dtype=torch.float64, generator=g) * (torch.rand(30, 12, generator=g)
                                                                 < 0.4)
    A = dsla.SparseTensor.from_dense(D)
    b = torch.randn(30, dtype=torch.float64, generator=g)
    x, info = dsla.solve(A, b, method=method, damp=damp, rtol=1e-12, maxiter=2000,
                         return_info=True)
    assert info.converged, info
    # The damped normal equations (Aᵀ A + damp² I) x = Aᵀ b.
    ref = torch.linalg.solve(D.T @ D + damp ** 2 * torch.eye(12, dtype=torch.float64), D.T @ b)
    assert torch.allclose(x, ref, rtol=1e-8, atol=1e-10), (x - ref).abs().max()
    fn = getattr(spla, method)
    kw = dict(damp=damp, atol=1e-14, btol=1e-14)
    xs = fn(A.to_scipy(), b.numpy(), **kw)[0]
    assert np.allclose(x.numpy(), xs, rtol=1e-7, atol=1e-9)


def test_damp_errors_and_auto():
    A = dsla.poisson2d(4, dtype=torch.float64)
    b = torch.ones(16, dtype=torch.float64)
    x, info = dsla.solve(A, b, damp=0.5, rtol=1e-12, return_info=True)  # auto: LSQR
    assert info.method == dsla.Method.LSQR if hasattr(dsla, "Method") else "lsqr" in str(info)
    D = A.to_dense()
    ref = torch.linalg.solve(D.T @ D + 0.25 * torch.eye(16, dtype=torch.float64), D.T @ b)
    assert torch.allclose(x, ref, rtol=1e-8)
    with pytest.raises(ValueError, match="argument 'damp'.*lsqr"):
        dsla.solve(A, b, method="cg", damp=0.5)
    with pytest.raises(ValueError, match="argument 'damp'"):
        dsla.solve(A, b, method="lsqr", damp=-1.0)
    with pytest.raises(NotImplementedError, match="argument 'damp'.*gradients"):
        dsla.solve(A, b.clone().requires_grad_(), method="lsqr", damp=0.5)
    S = dsla.Solver(A, method="lsmr", damp=0.5, rtol=1e-12)
    assert torch.allclose(S.solve(b), ref, rtol=1e-8)


def test_damp_with_x0_is_refused():
    A = dsla.poisson2d(4, dtype=torch.float64)
    b = torch.ones(16, dtype=torch.float64)
    with pytest.raises(ValueError, match="argument 'x0'.*damp"):
        dsla.solve(A, b, method="lsqr", damp=0.5, x0=b)
