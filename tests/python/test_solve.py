"""dsla.solve / dsla.Solver against SciPy and dense torch; gradients (gradcheck, gradgradcheck,
finite differences on real matrices), graph size, bad input."""
import os
import pathlib
import sys
import warnings

import numpy as np
import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
dsla = pytest.importorskip("dsla")
sp = pytest.importorskip("scipy.sparse")
spla = pytest.importorskip("scipy.sparse.linalg")

DATA = pathlib.Path(os.environ.get("DSLA_DATA_DIR", ROOT.parent / "shared" / "data"))
HAVE_SS = bool(dict(dsla._C.features).get("suitesparse", False))
ITERATIVE = ["cg", "bicgstab", "gmres", "fgmres", "minres", "lsqr", "lsmr"]
DIRECT = ["cholesky", "ldlt", "lu"] if HAVE_SS else []
SYMMETRIC_ONLY = {"cg", "minres", "cholesky", "ldlt"}


def dense_spd(n, seed=0, dtype=torch.float64, density=0.3):
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(n, n, generator=g, dtype=torch.float64) * (torch.rand(n, n, generator=g) < density)
    if dtype.is_complex:
        r = torch.complex(r, torch.randn(n, n, generator=g, dtype=torch.float64) * (r != 0))
    r = r.to(dtype)
    s = r + r.mH
    return s + torch.diag(s.abs().sum(1) + 1).to(dtype)


def dense_general(n, seed=0, dtype=torch.float64, density=0.3):
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(n, n, generator=g, dtype=torch.float64) * (torch.rand(n, n, generator=g) < density)
    if dtype.is_complex:
        r = torch.complex(r, torch.randn(n, n, generator=g, dtype=torch.float64) * (r != 0))
    r = r.to(dtype)
    return r + torch.diag(r.abs().sum(1) + 1).to(dtype)


def sym_values(A, v):
    """Hermitian part of the values (perturbations in gradcheck keep A Hermitian)."""
    return 0.5 * (v + A.with_values(v).H.values)


def load(name):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} not found")
    return dsla.read_mtx(str(path))


# --------------------------------------------------------------------- forward accuracy
@pytest.mark.parametrize("method", ITERATIVE + DIRECT + ["auto"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128, torch.float32])
def test_methods_random(method, dtype):
    D = dense_spd(30, 1, dtype)
    A = dsla.SparseTensor.from_dense(D)
    b = torch.randn(30, dtype=dtype)
    rtol = 1e-5 if dtype == torch.float32 else 1e-10
    x, info = dsla.solve(A, b, method=method, rtol=rtol, return_info=True)
    assert info.converged, info.message
    assert info.residual <= rtol
    ref = torch.linalg.solve(D, b)
    tol = 1e-3 if dtype == torch.float32 else 1e-7
    assert torch.allclose(x, ref, rtol=tol, atol=tol * ref.abs().max())


@pytest.mark.parametrize("method", ["bicgstab", "gmres", "fgmres", "lsqr", "lsmr"] + (["lu"] if HAVE_SS else []))
def test_nonsymmetric_random(method):
    D = dense_general(40, 2)
    A = dsla.SparseTensor.from_dense(D)
    b = torch.randn(40, 3, dtype=torch.float64)
    x = dsla.solve(A, b, method=method, rtol=1e-11)
    assert torch.allclose(x, torch.linalg.solve(D, b), atol=1e-8)


@pytest.mark.parametrize("name,method", [
    ("bcsstk03.mtx", "cg"), ("gr_30_30.mtx", "cg"), ("gr_30_30.mtx", "minres"),
    ("sherman1.mtx", "minres"), ("orsirr_1.mtx", "gmres"), ("sherman5.mtx", "gmres"),
    ("cage8.mtx", "bicgstab"), ("add32.mtx", "bicgstab"), ("cage8.mtx", "gmres"),
    ("bcsstk03.mtx", "cholesky"), ("sherman1.mtx", "ldlt"), ("sherman5.mtx", "lu"),
    ("bcsstk09.mtx", "auto"), ("orsirr_1.mtx", "auto"),
])
def test_real_matrices(name, method):
    if method in ("cholesky", "ldlt", "lu", "auto") and not HAVE_SS:
        pytest.skip("no SuiteSparse")
    A = load(name)
    ones = torch.ones(A.shape[1], dtype=torch.float64)
    b = A @ ones
    x, info = dsla.solve(A, b, method=method, rtol=1e-10, maxiter=50000, restart=50,
                         return_info=True)
    assert info.converged, info.message
    r = (b - A @ x).norm() / b.norm()
    assert r <= 1.01e-10
    assert abs(r.item() - info.residual) <= 1e-12 + 1e-3 * info.residual


def test_against_scipy():
    A = load("gr_30_30.mtx")
    S = A.to_scipy()
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    bt = torch.from_numpy(b)
    ref = spla.spsolve(S.tocsc(), b)
    for method in ["cg", "minres", "gmres", "bicgstab", "lsqr", "lsmr"]:
        x = dsla.solve(A, bt, method=method, rtol=1e-12, maxiter=20000).numpy()
        assert np.allclose(x, ref, rtol=1e-8, atol=1e-9), method
    xs, _ = spla.cg(S, b, atol=0, **({"rtol": 1e-12} if "rtol" in spla.cg.__code__.co_varnames else {"tol": 1e-12}))
    assert np.allclose(xs, ref, atol=1e-8)


def test_least_squares_rectangular():
    g = torch.Generator().manual_seed(3)
    D = torch.randn(60, 20, generator=g, dtype=torch.float64) * (torch.rand(60, 20, generator=g) < 0.4)
    D[:20] += torch.eye(20, dtype=torch.float64)
    A = dsla.SparseTensor.from_dense(D)
    b = torch.randn(60, dtype=torch.float64, generator=g)
    ref = torch.linalg.lstsq(D, b.unsqueeze(-1)).solution.squeeze(-1)
    for method in ["lsqr", "lsmr", "auto"]:
        x, info = dsla.solve(A, b, method=method, rtol=1e-12, return_info=True)
        assert info.converged, info.message
        assert info.method in ("lsqr", "lsmr")
        assert torch.allclose(x, ref, atol=1e-8), method
    S = A.to_scipy()
    xs = spla.lsqr(S, b.numpy(), atol=1e-14, btol=1e-14)[0]
    assert np.allclose(xs, ref.numpy(), atol=1e-8)


def test_multi_rhs_and_batched():
    D = torch.stack([dense_spd(12, s) for s in range(3)])
    A = dsla.SparseTensor.from_dense(D)  # union pattern, batched values
    for method in ["cg", "gmres", "bicgstab", "minres"] + DIRECT:
        for b in [torch.randn(3, 12, dtype=torch.float64), torch.randn(3, 12, 4, dtype=torch.float64),
                  torch.randn(12, dtype=torch.float64)]:
            x = dsla.solve(A, b, method=method, rtol=1e-12)
            bb = b if b.dim() > 1 else b.expand(3, 12)
            ref = torch.linalg.solve(D, bb.unsqueeze(-1) if bb.dim() == 2 else bb)
            assert torch.allclose(x, ref.reshape(x.shape), atol=1e-9), (method, b.shape)


def test_empty_and_one_by_one():
    A = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (0, 0))
    for method in ["auto", "cg", "gmres"]:
        x = dsla.solve(A, torch.zeros(0, dtype=torch.float64), method=method)
        assert x.shape == (0,)
    A1 = dsla.SparseTensor(torch.tensor([4.0], dtype=torch.float64), [0], [0], (1, 1))
    for method in ["auto", "cg", "gmres", "bicgstab", "minres", "lsqr", "lsmr"] + DIRECT:
        x = dsla.solve(A1, torch.tensor([2.0], dtype=torch.float64), method=method)
        assert torch.allclose(x, torch.tensor([0.5], dtype=torch.float64)), method


def test_int64_indices_and_x0_and_callback():
    D = dense_spd(25, 4)
    idx = D.nonzero().T
    A = dsla.SparseTensor._wrap(dsla._C.SparseMatrix.from_coo(
        idx[0], idx[1], D[idx[0], idx[1]], 25, 25, True, True, "int64"))
    assert A.index_dtype == torch.int64
    b = torch.randn(25, dtype=torch.float64)
    seen = []
    x, info = dsla.solve(A, b, method="cg", rtol=1e-12, monitor=lambda it, r: seen.append((it, r)),
                         history=True, return_info=True)
    assert seen and len(info.history_iterations) == len(seen)
    ref = torch.linalg.solve(D, b)
    x2, info2 = dsla.solve(A, b, method="cg", x0=ref, rtol=1e-8, return_info=True)
    assert info2.iterations == 0 and torch.allclose(x2, ref)


def test_user_preconditioner():
    D = dense_spd(30, 5)
    A = dsla.SparseTensor.from_dense(D)
    b = torch.randn(30, dtype=torch.float64)
    dinv = 1 / D.diagonal()
    ref = torch.linalg.solve(D, b)
    Ms = [lambda r: dinv * r, dsla.SparseTensor.from_dense(torch.diag(dinv)),
          spla.LinearOperator((30, 30), matvec=lambda r: dinv.numpy() * r)]
    for M in Ms:
        for method in ["cg", "gmres", "fgmres", "bicgstab", "minres"]:
            x, info = dsla.solve(A, b, method=method, M=M, rtol=1e-11, return_info=True)
            assert info.preconditioner == "user"
            assert torch.allclose(x, ref, atol=1e-8), method


def test_user_preconditioner_gradients():
    """Backward through a solve with a callable M: CG and MINRES reuse M for the adjoint solve
    (they need a Hermitian M); GMRES needs Mᴴ and says so when M has none."""
    D = dense_spd(12, 3)
    A = dsla.SparseTensor.from_dense(D)
    dinv = 1 / D.diagonal()
    b = torch.randn(12, dtype=torch.float64, requires_grad=True)
    v = A.values.detach().clone().requires_grad_(True)
    for method in ["cg", "minres"]:
        def f(v, b):
            return dsla.solve(A.with_values(v), b, method=method, M=lambda r: dinv * r,
                              rtol=1e-13)
        assert torch.autograd.gradcheck(f, (v, b), eps=1e-6, atol=1e-6), method
    x = dsla.solve(A.with_values(v), b, method="gmres", M=lambda r: dinv * r, rtol=1e-12)
    with pytest.raises((ValueError, RuntimeError), match="adjoint"):
        x.sum().backward()


# --------------------------------------------------------------------- Solver
def test_solver_reuse_adjoint_refactor():
    D = dense_general(20, 6)
    A = dsla.SparseTensor.from_dense(D)
    methods = ["gmres", "bicgstab"] + (["lu", "auto"] if HAVE_SS else [])
    for method in methods:
        S = dsla.Solver(A, method=method, rtol=1e-12)
        b = torch.randn(20, 2, dtype=torch.float64)
        assert torch.allclose(S.solve(b), torch.linalg.solve(D, b), atol=1e-9)
        assert torch.allclose(S.solve_adjoint(b), torch.linalg.solve(D.T, b), atol=1e-9)
        S.refactor(A.values * 2)
        assert torch.allclose(S.solve(b), torch.linalg.solve(2 * D, b), atol=1e-9)
    if HAVE_SS:
        assert dsla.Solver(dsla.SparseTensor.from_dense(dense_spd(10)), rtol=1e-12).method == "cholesky"
        assert dsla.Solver(A).method == "lu"


def test_refactor_after_forward_blocks_stale_backward():
    D = dense_spd(10, 7)
    A = dsla.SparseTensor.from_dense(D).requires_grad_()
    S = dsla.Solver(A, method="cg", rtol=1e-12)
    x = S.solve(torch.ones(10, dtype=torch.float64))
    S.refactor(A.values.detach() * 2)
    with pytest.raises((ValueError, RuntimeError), match="refactor"):
        x.sum().backward()


# --------------------------------------------------------------------- gradients
GRAD_METHODS = ITERATIVE + DIRECT


@pytest.mark.parametrize("method", GRAD_METHODS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_gradcheck(method, dtype):
    sym = method in SYMMETRIC_ONLY
    D = dense_spd(6, 8, dtype) if sym else dense_general(6, 8, dtype)
    A = dsla.SparseTensor.from_dense(D)
    v = A.values.detach().clone().requires_grad_()
    b = torch.randn(6, 2, dtype=dtype, requires_grad=True)

    def f(v, b):
        vv = sym_values(A, v) if sym else v
        return dsla.solve(A.with_values(vv), b, method=method, rtol=1e-13, maxiter=1000)

    assert torch.autograd.gradcheck(f, (v, b), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("method", DIRECT + ["cg", "gmres"])
def test_gradgradcheck(method):
    sym = method in SYMMETRIC_ONLY
    D = dense_spd(5, 9) if sym else dense_general(5, 9)
    A = dsla.SparseTensor.from_dense(D)
    v = A.values.detach().clone().requires_grad_()
    b = torch.randn(5, dtype=torch.float64, requires_grad=True)

    def f(v, b):
        vv = sym_values(A, v) if sym else v
        return dsla.solve(A.with_values(vv), b, method=method, rtol=1e-13)

    assert torch.autograd.gradgradcheck(f, (v, b), atol=1e-5, rtol=1e-4)


def test_gradcheck_batched():
    D = torch.stack([dense_general(5, s) for s in range(2)])
    A = dsla.SparseTensor.from_dense(D)
    v = A.values.detach().clone().requires_grad_()
    for b in [torch.randn(2, 5, dtype=torch.float64, requires_grad=True),
              torch.randn(5, 2, dtype=torch.float64, requires_grad=True)]:
        for method in ["gmres"] + DIRECT[-1:]:
            assert torch.autograd.gradcheck(
                lambda v, b: dsla.solve(A.with_values(v), b, method=method, rtol=1e-13), (v, b))


@pytest.mark.parametrize("method", ["cg"] + (["cholesky"] if HAVE_SS else []))
@pytest.mark.parametrize("name", ["bcsstk03.mtx", "gr_30_30.mtx"])
def test_directional_derivative_real_spd(method, name):
    A = load(name)
    n = A.shape[0]
    g = torch.Generator().manual_seed(0)
    b = torch.randn(n, dtype=torch.float64, generator=g)
    w = torch.randn(n, dtype=torch.float64, generator=g)
    v0 = A.values.detach()
    dv = sym_values(A, torch.randn(A.nnz, dtype=torch.float64, generator=g)) * v0.abs()
    db = torch.randn(n, dtype=torch.float64, generator=g)
    rtol = 1e-10

    def L(v, bb):
        return (w * dsla.solve(A.with_values(v), bb, method=method, rtol=rtol, maxiter=100000)).sum()

    v = v0.clone().requires_grad_()
    bb = b.clone().requires_grad_()
    L(v, bb).backward()
    analytic = (v.grad * dv).sum() + (bb.grad * db).sum()
    eps = 1e-6
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fd = (L(v0 + eps * dv, b + eps * db) - L(v0 - eps * dv, b - eps * db)) / (2 * eps)
    assert abs(analytic - fd) <= 1e-5 * abs(fd) + 1e-8, (analytic.item(), fd.item())


def test_graph_one_node_and_memory_independent_of_iterations():
    A = dsla.poisson2d(24).requires_grad_()
    b = torch.ones(A.shape[0], dtype=torch.float64, requires_grad=True)
    sizes = {}
    for rtol in [1e-2, 1e-12]:
        x, info = dsla.solve(A, b, method="cg", precond="none", rtol=rtol, return_info=True)
        fn = x.grad_fn
        # x.reshape -> SolveFunction -> (values, b): one solve node whatever the iteration count
        nodes, stack = set(), [fn]
        while stack:
            f = stack.pop()
            if f is None or f in nodes:
                continue
            nodes.add(f)
            stack.extend(g for g, _ in f.next_functions)
        names = sorted(type(f).__name__ for f in nodes)
        # the solve is one C++ node (CppFunction on torch 1.13, SolveFunction on newer)
        assert sum(("Solve" in nm or nm == "CppFunction") for nm in names) == 1, names
        sizes[rtol] = (len(nodes), info.iterations)
    assert sizes[1e-2][0] == sizes[1e-12][0]
    assert sizes[1e-12][1] > 2 * sizes[1e-2][1]


def test_backward_memory_does_not_grow_with_iterations():
    A = dsla.poisson2d(40)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    n = A.shape[0]
    saved = {}
    for rtol in [1e-2, 1e-12]:
        v = A.values.detach().clone().requires_grad_()
        numels = []

        def pack(t):
            numels.append(t.numel())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            x, info = dsla.solve(A.with_values(v), b, method="cg", rtol=rtol, return_info=True)
        saved[rtol] = (sum(numels), info.iterations)
        x.sum().backward()
        assert torch.isfinite(v.grad).all()
    # Saved state: x and the values handle, O(n + nnz), the same whatever the iteration count.
    assert saved[1e-2][0] == saved[1e-12][0], saved
    assert saved[1e-12][0] <= 2 * (n + A.nnz), saved
    assert saved[1e-12][1] > 2 * saved[1e-2][1]


# --------------------------------------------------------------------- bad input
def test_indefinite_to_cg():
    A = load("sherman1.mtx")
    b = A @ torch.ones(A.shape[0], dtype=torch.float64)
    x, info = dsla.solve(A, b, method="cg", precond="none", rtol=1e-10, return_info=True,
                         maxiter=5000) if False else (None, None)
    with pytest.warns(dsla.SolveWarning, match="indefinite"):
        x, info = dsla.solve(A, -A.diagonal().abs().sign() * 0 + b, method="cg", precond="none",
                             rtol=1e-10, return_info=True, maxiter=5000)
    assert info.status == "indefinite" and not info.converged
    D = torch.diag(torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64))
    x, info = dsla.solve(dsla.SparseTensor.from_dense(D), torch.ones(3, dtype=torch.float64),
                         method="cg", precond="none", return_info=True, raise_on_failure=False) \
        if False else (None, None)
    with pytest.raises(dsla.SolveError, match="indefinite"):
        dsla.solve(dsla.SparseTensor.from_dense(D), torch.ones(3, dtype=torch.float64),
                   method="cg", precond="none", raise_on_failure=True)


def test_singular():
    D = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64)
    A = dsla.SparseTensor.from_dense(D)
    b = torch.tensor([1.0, 0.0], dtype=torch.float64)
    if HAVE_SS:
        with pytest.raises(dsla.SingularMatrixError):
            dsla.solve(A, b, method="lu")
    for method in ["gmres", "bicgstab", "cg"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, info = dsla.solve(A, b, method=method, precond="none", maxiter=50, return_info=True)
        assert not info.converged, (method, info.message)
        assert info.residual > 1e-3


def test_maxiter_warns_and_raises():
    A = dsla.poisson2d(30)
    b = torch.ones(900, dtype=torch.float64)
    with pytest.warns(dsla.SolveWarning, match="max_iterations"):
        x, info = dsla.solve(A, b, method="cg", maxiter=3, return_info=True)
    assert info.status == "max_iterations" and info.iterations == 3
    with pytest.raises(dsla.SolveError):
        dsla.solve(A, b, method="cg", maxiter=3, raise_on_failure=True)


def test_bad_arguments():
    A = dsla.poisson2d(4)
    with pytest.raises(ValueError, match="'b'"):
        dsla.solve(A, torch.ones(5, dtype=torch.float64))
    with pytest.raises(TypeError, match="dtype"):
        dsla.solve(A, torch.ones(16, dtype=torch.float32))
    with pytest.raises(ValueError, match="NaN"):
        dsla.solve(A, torch.full((16,), float("nan"), dtype=torch.float64))
    v = A.values.clone()
    v[0] = float("inf")
    with pytest.raises(ValueError):
        dsla.solve(A.with_values(v), torch.ones(16, dtype=torch.float64), method="cg")
    with pytest.raises(ValueError, match="method"):
        dsla.solve(A, torch.ones(16, dtype=torch.float64), method="nope")
    with pytest.raises(ValueError, match="rtol"):
        dsla.solve(A, torch.ones(16, dtype=torch.float64), rtol=-1)
    R = dsla.SparseTensor.from_dense(torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="square"):
        dsla.solve(R, torch.ones(3, dtype=torch.float64), method="cg")
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="device"):
            dsla.solve(A, torch.ones(16, dtype=torch.float64, device="cuda"))


def test_sparse_tensor_solve_and_float32():
    A = dsla.poisson2d(10, dtype=torch.float32)
    b = torch.ones(100, dtype=torch.float32)
    x = A.solve(b, method="cg", rtol=1e-5)
    assert x.dtype == torch.float32
    assert ((b - A @ x).norm() / b.norm()) < 1e-5


PRECONDS = ["none", "jacobi", "block_jacobi", "ssor", "sgs", "mc_sgs", "mc_ssor", "dilu", "asm",
            "chebyshev", "ic0", "ilu0"]


@pytest.mark.parametrize("precond", PRECONDS)
@pytest.mark.parametrize("method", ["cg", "minres", "gmres", "fgmres", "bicgstab"])
def test_method_x_preconditioner_real(method, precond):
    A = load("gr_30_30.mtx")
    b = A @ torch.ones(900, dtype=torch.float64)
    x, info = dsla.solve(A, b, method=method, precond=precond, rtol=1e-10, return_info=True)
    assert info.converged, info.message
    assert torch.allclose(x, torch.ones(900, dtype=torch.float64), atol=1e-7)


@pytest.mark.parametrize("method,precond", [("gmres", "ilu0"), ("cg", "ic0"), ("bicgstab", "ssor")])
def test_gradcheck_preconditioned(method, precond):
    D = dense_spd(6, 11)
    A = dsla.SparseTensor.from_dense(D)
    v = A.values.detach().clone().requires_grad_()
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    f = lambda v, b: dsla.solve(A.with_values(sym_values(A, v)), b, method=method,  # noqa: E731
                                precond=precond, rtol=1e-13)
    assert torch.autograd.gradcheck(f, (v, b), atol=1e-6, rtol=1e-5)


@pytest.mark.direct
def test_direct_threads_env_is_checked(monkeypatch):
    A = dsla.poisson2d(8)
    b = torch.ones(64, dtype=torch.float64)
    monkeypatch.setenv("DSLA_DIRECT_THREADS", "1")
    x1 = dsla.solve(A, b, method="cholesky")
    monkeypatch.setenv("DSLA_DIRECT_THREADS", "2")
    torch.testing.assert_close(dsla.solve(A, b, method="cholesky"), x1)
    for bad in ("abc", "0", "-2", "3x"):
        monkeypatch.setenv("DSLA_DIRECT_THREADS", bad)
        with pytest.raises(ValueError, match="DSLA_DIRECT_THREADS"):
            dsla.solve(A, b, method="cholesky")


@pytest.mark.direct
@pytest.mark.parametrize("method", ["cholesky", "ldlt"])
@pytest.mark.parametrize("spec", ["poisson2d:48", "poisson3d:12", "mtx:bcsstk16.mtx"])
def test_nd_ordering_cpu(method, spec):
    """ordering='nd' (dsla's nested dissection) gives the same solution as the default ordering,
    on grids and a real matrix; LU refuses it with a message naming the argument."""
    if spec.startswith("mtx:"):
        path = DATA / spec[4:]
        if not path.exists():
            pytest.skip(f"{path} not found")
        A = dsla.read_mtx(path).to(dtype=torch.float64)
    else:
        A = dsla.generate(spec, dtype=torch.float64)
    b = torch.linspace(-1, 1, A.shape[0], dtype=torch.float64)
    x_nd = dsla.solve(A, b, method=method, ordering="nd")
    x_auto = dsla.solve(A, b, method=method)
    torch.testing.assert_close(x_nd, x_auto, rtol=1e-8, atol=1e-10)
    assert ((b - A @ x_nd).norm() / b.norm()).item() < 1e-9
    with pytest.raises(ValueError, match="ordering"):
        dsla.solve(A, b, method="lu", ordering="nd")


# ---------------------------------------------------------------- options refused by name
def _p10():
    A = dsla.poisson2d(10)
    return A, torch.ones(A.shape[0], dtype=torch.float64)


@pytest.mark.parametrize("kw,arg", [
    (dict(maxiter=2**70), "maxiter"), (dict(maxiter=-5), "maxiter"), (dict(maxiter=2.5), "maxiter"),
    (dict(check_every=-3), "check_every"), (dict(check_every=0), "check_every"),
    (dict(restart=0), "restart"), (dict(restart=2**64), "restart"),
])
def test_integer_options_refused_by_name(kw, arg):
    A, b = _p10()
    with pytest.raises((ValueError, TypeError), match=f"argument '{arg}'"):
        dsla.solve(A, b, method="cg", **kw)
    with pytest.raises((ValueError, TypeError), match=f"argument '{arg}'"):
        dsla.Solver(A, method="gmres", **kw)


def test_preconditioner_of_wrong_size_named():
    A, b = _p10()
    for M in (dsla.poisson2d(9), dsla.poisson2d(9).to_scipy()):
        with pytest.raises(ValueError, match=r"argument 'M'.*\(81, 81\).*\(100, 100\)"):
            dsla.solve(A, b, method="cg", M=M)
    # A callable that changes the length is caught when it is called.
    with pytest.raises(ValueError, match="argument 'M'"):
        dsla.solve(A, b, method="cg", M=lambda r: r[:-1])


def test_unknown_preconditioner_refused_for_every_method():
    A, b = _p10()
    for method in ("auto", "cg", "gmres", "cholesky", "lu"):
        with pytest.raises(ValueError, match="argument 'precond': unknown preconditioner 'bogus'"):
            dsla.solve(A, b, method=method, precond="bogus")


@pytest.mark.direct
def test_preconditioner_with_direct_method_refused():
    A, b = _p10()
    for method in ("cholesky", "ldlt", "lu"):
        with pytest.raises(ValueError, match="argument 'precond'.*direct"):
            dsla.solve(A, b, method=method, precond="jacobi")
        with pytest.raises(ValueError, match="argument 'precond'.*direct"):
            dsla.solve(A, b, method=method, M=dsla.poisson2d(10))
        dsla.solve(A, b, method=method, precond="none")  # accepted: nothing to ignore


def test_auto_with_a_named_preconditioner_is_iterative():
    A, b = _p10()
    x, info = dsla.solve(A, b, precond="jacobi", return_info=True)
    assert info.method == "cg" and info.preconditioner == "jacobi"
    assert torch.allclose(A @ x, b, atol=1e-8)


# ---------------------------------------------------------------- zero-size systems
def _empty(dtype=torch.float64):
    z = torch.zeros(0, dtype=torch.long)
    return dsla.SparseTensor(torch.zeros(0, dtype=dtype), z, z, (0, 0))


@pytest.mark.parametrize("method", ["auto", "cg", "bicgstab", "gmres", "fgmres", "minres",
                                    "lsqr", "lsmr"] +
                         (["cholesky", "ldlt", "lu"] if dsla.features["suitesparse"] else []))
def test_zero_size_solve_is_empty_and_converged(method):
    """Decision (docs/DESIGN-as-built.md "Zero-size matrices"): a 0 x 0 system is valid, like
    torch.linalg.solve: x is empty, info says converged in 0 iterations."""
    E = _empty()
    for b in (torch.zeros(0, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.float64)):
        x, info = dsla.solve(E, b, method=method, return_info=True)
        assert x.shape == b.shape and info.converged and info.iterations == 0


@pytest.mark.direct
def test_zero_size_determinants_follow_torch():
    E = _empty()
    v = E.values.clone().requires_grad_()
    E = E.with_values(v)
    sign, logabs = dsla.slogdet(E)
    ref = torch.linalg.slogdet(torch.zeros(0, 0, dtype=torch.float64))
    assert float(sign) == float(ref[0]) == 1.0 and float(logabs) == float(ref[1]) == 0.0
    assert float(dsla.det(E)) == 1.0 and float(dsla.logdet(E)) == 0.0
    dsla.logdet(E).backward()  # stays in the graph; the gradient is empty
    assert v.grad.shape == (0,)


def test_zero_size_refused_where_undefined():
    E = _empty()
    with pytest.raises(ValueError, match="argument 'A'"):
        dsla.amg(E)
    with pytest.raises(ValueError, match="argument 'k'"):
        dsla.eigsh(E, k=1, which="SA")


@pytest.mark.parametrize("method", ["cg", "minres", "bicgstab", "gmres", "lsqr", "lsmr"])
def test_iterations_do_not_depend_on_check_every(method):
    # A device checks convergence every 16 iterations (one host read per block); the steps run
    # after the last system stopped change nothing and must not be counted: SolveInfo reports
    # the iteration at which the slowest system stopped, whatever check_every is.
    sym = method in ("cg", "minres")
    A = dsla.poisson2d(30, dtype=torch.float64) if sym else dsla.convdiff2d(30, 2.0,
                                                                           dtype=torch.float64)
    n = A.shape[0]
    B = torch.stack([torch.ones(n, dtype=torch.float64),
                     torch.arange(n, dtype=torch.float64)], 1)
    pc = "none" if method in ("lsqr", "lsmr") else "jacobi"
    infos = [dsla.solve(A, B, method=method, precond=pc, rtol=1e-11, maxiter=4000,
                        check_every=ce, return_info=True)[1] for ce in (1, 16, 7)]
    assert all(i.converged for i in infos), infos
    assert infos[0].iterations % 16 != 0 or infos[0].iterations % 7 != 0
    assert [i.iterations for i in infos] == [infos[0].iterations] * 3, infos


@pytest.mark.parametrize("method", ["lsqr", "lsmr"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_least_squares_gradients_of_an_inconsistent_system(method, dtype):
    # x = A⁺ b: the values gradient is r μᴴ − λ xᴴ (r = b − A x, μ = (AᴴA)⁻¹ g, λ = A μ); the
    # r μᴴ term vanishes only when b is in A's range, so an inconsistent b is the test.
    g = torch.Generator().manual_seed(4)
    D = (torch.randn(30, 12, dtype=dtype, generator=g)
         * (torch.rand(30, 12, generator=g) < 0.5))
    A0 = dsla.SparseTensor.from_dense(D)
    vals = A0.values.detach().clone().requires_grad_()
    b = torch.randn(30, dtype=dtype, generator=g).requires_grad_()
    w = torch.randn(12, dtype=dtype, generator=g)
    x = dsla.solve(A0.with_values(vals), b, method=method, rtol=1e-13, maxiter=5000)
    (w.conj() * x).real.sum().backward()
    Dd = D.clone().requires_grad_()
    bb = b.detach().clone().requires_grad_()
    xr = torch.linalg.lstsq(Dd, bb.unsqueeze(1)).solution.squeeze(1)
    assert float((b.detach() - D @ xr.detach()).norm()) > 0.1  # inconsistent indeed
    (w.conj() * xr).real.sum().backward()
    ref = Dd.grad[A0.row.long(), A0.col.long()]
    assert torch.allclose(vals.grad, ref, rtol=1e-8, atol=1e-10), (vals.grad - ref).abs().max()
    assert torch.allclose(b.grad, bb.grad, rtol=1e-8, atol=1e-10)
    # Double backward through least squares is refused, not wrong.
    v2 = A0.values.detach().clone().requires_grad_()
    x2 = dsla.solve(A0.with_values(v2), b.detach(), method=method, rtol=1e-12, maxiter=5000)
    (gv,) = torch.autograd.grad((w.conj() * x2).real.sum(), v2, create_graph=False)
    with pytest.raises((NotImplementedError, RuntimeError), match="double backward"):
        x3 = dsla.solve(A0.with_values(v2), b.detach(), method=method, rtol=1e-12,
                        maxiter=5000)
        torch.autograd.grad((w.conj() * x3).real.sum(), v2, create_graph=True)


@pytest.mark.skipif(dict(dsla._C.features).get("cudss", False),
                    reason="this build has cuDSS (tests/python/test_cudss.py covers it)")
def test_cudss_prepare_without_cudss_names_the_fix():
    with pytest.raises(NotImplementedError, match="no cuDSS"):
        dsla.cudss_prepare()
