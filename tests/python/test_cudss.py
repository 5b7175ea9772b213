"""cuDSS direct solves of CUDA matrices (cholesky / ldlt / lu) against dense torch.linalg on the
CPU, SciPy and the CPU dsla factorizations. Skipped without a GPU or a dsla built with cuDSS."""
import os
import pathlib
import sys

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
dsla = pytest.importorskip("dsla")
from dsla import _C  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
    pytest.mark.skipif(not dict(_C.features).get("cudss", False),
                       reason="dsla built without cuDSS (see dsla._C.build_info['cudss'])"),
]

DATA = pathlib.Path(os.environ.get("DSLA_DATA_DIR", ROOT.parent / "shared" / "data"))
HAVE_SS = dict(_C.features).get("suitesparse", False)
DIRECT = ["cholesky", "ldlt", "lu"]


def dense_spd(n, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(n, n, generator=g, dtype=torch.float64) * (torch.rand(n, n, generator=g) < 0.3)
    if dtype.is_complex:
        r = torch.complex(r, torch.randn(n, n, generator=g, dtype=torch.float64) * (r != 0))
    r = r.to(dtype)
    s = r + r.conj().T
    return s + torch.diag(s.abs().sum(1) + 1).to(dtype)


def dense_sym_indefinite(n, seed):
    S = dense_spd(n, seed)
    return S - 1.2 * torch.diag(S.diagonal()) * (torch.arange(n) % 2 == 0)


def dense_general(n, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(n, n, generator=g, dtype=torch.float64) * (torch.rand(n, n, generator=g) < 0.3)
    if dtype.is_complex:
        r = torch.complex(r, torch.randn(n, n, generator=g, dtype=torch.float64) * (r != 0))
    r = r.to(dtype)
    return r + torch.diag(r.abs().sum(1) + 1).to(dtype)


def load(name, dtype=torch.float64):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} not found (set DSLA_DATA_DIR)")
    return dsla.read_mtx(path).to(dtype=dtype)


def rel_residual(A, x, b):
    """‖b − A x‖ / ‖b‖ on the CPU in float64/complex128."""
    Ac = A.cpu()
    Ac = Ac.to(dtype=torch.complex128 if A.dtype.is_complex else torch.float64)
    xc = x.detach().cpu().to(Ac.dtype)
    bc = b.detach().cpu().to(Ac.dtype)
    return ((bc - Ac @ xc).norm() / bc.norm()).item()


# ------------------------------------------------------------------------------------ accuracy

@pytest.mark.parametrize("method", DIRECT)
def test_poisson2d_matches_dense(method):
    A = dsla.poisson2d(20)
    D = A.to_dense()
    b = torch.randn(A.shape[0], dtype=torch.float64)
    x, info = dsla.solve(A.cuda(), b.cuda(), method=method, return_info=True)
    assert x.is_cuda and x.dtype == torch.float64
    assert info.converged and info.method == method
    torch.testing.assert_close(x.cpu(), torch.linalg.solve(D, b), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_general_and_indefinite(dtype):
    for D, methods in [(dense_general(40, 1, dtype), ["lu"]),
                       (dense_spd(40, 2, dtype), DIRECT)]:
        A = dsla.SparseTensor.from_dense(D).cuda()
        b = torch.randn(40, dtype=dtype)
        ref = torch.linalg.solve(D, b)
        for m in methods:
            x = dsla.solve(A, b.cuda(), method=m)
            torch.testing.assert_close(x.cpu(), ref, rtol=1e-9, atol=1e-9)
    D = dense_sym_indefinite(40, 3)
    A = dsla.SparseTensor.from_dense(D).cuda()
    b = torch.randn(40, dtype=torch.float64)
    for m in ["ldlt", "lu"]:
        x = dsla.solve(A, b.cuda(), method=m)
        torch.testing.assert_close(x.cpu(), torch.linalg.solve(D, b), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name,methods", [
    ("bcsstk16.mtx", ["cholesky", "ldlt", "lu"]),   # SPD, n = 4884
    ("bcsstk03.mtx", ["cholesky"]),
    ("orsirr_1.mtx", ["lu"]),                       # nonsymmetric
    ("sherman5.mtx", ["lu"]),                       # nonsymmetric
    ("cage8.mtx", ["lu"]),
])
def test_real_matrices(name, methods):
    A = load(name)
    n = A.shape[0]
    b = A @ torch.ones(n, dtype=torch.float64)  # BENCHMARKS.md: b = A·1
    Ag = A.cuda()
    for m in methods:
        x, info = dsla.solve(Ag, b.cuda(), method=m, return_info=True)
        assert info.converged, (name, m, info.message)
        assert rel_residual(A, x, b) < 1e-10, (name, m)
        if HAVE_SS:
            xc = dsla.solve(A, b, method=m)
            scale = xc.abs().max().item()
            assert (x.cpu() - xc).abs().max().item() < 1e-6 * max(1.0, scale), (name, m)


def test_matches_scipy():
    sp = pytest.importorskip("scipy.sparse.linalg")
    A = load("sherman1.mtx")
    b = torch.randn(A.shape[0], dtype=torch.float64)
    x = dsla.solve(A.cuda(), b.cuda(), method="lu")
    xs = torch.from_numpy(sp.spsolve(A.to_scipy().tocsc(), b.numpy()))
    torch.testing.assert_close(x.cpu(), xs, rtol=1e-8, atol=1e-8)


def test_float32():
    A = dsla.poisson2d(16, dtype=torch.float32)
    D = A.to_dense().double()
    b = torch.randn(A.shape[0], dtype=torch.float32)
    ref = torch.linalg.solve(D, b.double())
    for m in DIRECT:
        x = dsla.solve(A.cuda(), b.cuda(), method=m)
        assert x.dtype == torch.float32
        assert (x.cpu().double() - ref).abs().max().item() < 1e-4 * ref.abs().max().item(), m
    G = dense_general(30, 5, torch.complex64)
    x = dsla.solve(dsla.SparseTensor.from_dense(G).cuda(), torch.ones(30, dtype=torch.complex64,
                                                                    device="cuda"), method="lu")
    ref = torch.linalg.solve(G.to(torch.complex128), torch.ones(30, dtype=torch.complex128))
    assert (x.cpu().to(torch.complex128) - ref).abs().max().item() < 1e-4


def test_int64_indices():
    D = dense_general(25, 4)
    idx = D.nonzero().T
    A = dsla.SparseTensor._wrap(_C.SparseMatrix.from_coo(
        idx[0], idx[1], D[idx[0], idx[1]], 25, 25, True, True, "int64"))
    assert A.index_dtype == torch.int64
    b = torch.randn(25, dtype=torch.float64)
    x = dsla.solve(A.cuda(), b.cuda(), method="lu")
    torch.testing.assert_close(x.cpu(), torch.linalg.solve(D, b), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------- solver: reuse, shapes, adjoint

def test_multi_rhs_and_adjoint():
    for D, m in [(dense_general(30, 6), "lu"), (dense_spd(30, 7), "cholesky"),
                 (dense_sym_indefinite(30, 8), "ldlt"),
                 (dense_general(30, 9, torch.complex128), "lu"),
                 (dense_spd(30, 10, torch.complex128), "cholesky")]:
        A = dsla.SparseTensor.from_dense(D).cuda()
        S = dsla.Solver(A, method=m)
        B = torch.randn(30, 5, dtype=D.dtype)
        x = S.solve(B.cuda())
        assert x.shape == (30, 5)
        torch.testing.assert_close(x.cpu(), torch.linalg.solve(D, B), rtol=1e-9, atol=1e-9)
        y, info = S.solve_adjoint(B.cuda(), return_info=True)
        assert info.converged, (m, info.message)
        torch.testing.assert_close(y.cpu(), torch.linalg.solve(D.conj().T, B), rtol=1e-9,
                                   atol=1e-9)
        # a complex right-hand side with a real matrix is refused, as on the CPU (the dtypes
        # must match: convert one of them)
        if not D.dtype.is_complex:
            bc = torch.randn(30, dtype=torch.complex128)
            with pytest.raises(TypeError, match="does not match the matrix dtype"):
                S.solve(bc.cuda())


def test_transpose_fallback_env(monkeypatch):
    """The adjoint LU solve through a second factorization of Aᴴ (DSLA_CUDSS_TRANSPOSE=factor)."""
    monkeypatch.setenv("DSLA_CUDSS_TRANSPOSE", "factor")
    D = dense_general(35, 11)
    S = dsla.Solver(dsla.SparseTensor.from_dense(D).cuda(), method="lu")
    b = torch.randn(35, 2, dtype=torch.float64)
    torch.testing.assert_close(S.solve_adjoint(b.cuda()).cpu(), torch.linalg.solve(D.T, b))
    S.refactor(dsla.SparseTensor.from_dense(2 * D).cuda().values)
    torch.testing.assert_close(S.solve_adjoint(b.cuda()).cpu(), torch.linalg.solve(2 * D.T, b))


def test_refactor_and_analysis_reuse():
    A = dsla.poisson2d(24).cuda()
    b = torch.ones(A.shape[0], dtype=torch.float64, device="cuda")
    S = dsla.Solver(A, method="cholesky")
    n0 = _C.direct_analysis_count()
    for scale in [2.0, 0.5, 3.0]:
        S.refactor(A.values * scale)  # same pattern, new values: numeric phase only
        x = S.solve(b)
        ref = torch.linalg.solve(A.to_dense().cpu() * scale, b.cpu())
        torch.testing.assert_close(x.cpu(), ref, rtol=1e-10, atol=1e-10)
    # A new Solver on the same pattern reuses an analyzed cuDSS engine: no new analysis.
    del S
    torch.cuda.synchronize()
    x2 = dsla.solve(A.with_values(A.values * 7), b, method="cholesky")
    assert _C.direct_analysis_count() == n0
    torch.testing.assert_close(x2.cpu(), torch.linalg.solve(A.to_dense().cpu() * 7, b.cpu()),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("ubatch", ["1", "0"])
@pytest.mark.parametrize("method", DIRECT)
def test_batched(method, ubatch, monkeypatch):
    monkeypatch.setenv("DSLA_CUDSS_UBATCH", ubatch)
    D = torch.stack([dense_spd(12, s) for s in range(4)])
    A = dsla.SparseTensor.from_dense(D).cuda()  # union pattern, values [4, nnz]
    for b in [torch.randn(4, 12, dtype=torch.float64), torch.randn(4, 12, 3, dtype=torch.float64),
              torch.randn(12, dtype=torch.float64)]:
        x = dsla.solve(A, b.cuda(), method=method)
        bb = b if b.dim() > 1 else b.expand(4, 12)
        ref = torch.linalg.solve(D, bb.unsqueeze(-1) if bb.dim() == 2 else bb)
        torch.testing.assert_close(x.cpu(), ref.reshape(x.shape), rtol=1e-9, atol=1e-9)
    # refactor a batch, then the adjoint
    S = dsla.Solver(A, method=method)
    S.refactor(A.values * 2)
    b = torch.randn(4, 12, dtype=torch.float64)
    torch.testing.assert_close(S.solve(b.cuda()).cpu(),
                               torch.linalg.solve(2 * D, b.unsqueeze(-1)).squeeze(-1))
    torch.testing.assert_close(S.solve_adjoint(b.cuda()).cpu(),
                               torch.linalg.solve(2 * D.mT, b.unsqueeze(-1)).squeeze(-1))


def test_auto_picks_direct_on_cuda():
    A = dsla.poisson2d(12).cuda()
    x, info = dsla.solve(A, torch.ones(144, dtype=torch.float64, device="cuda"), return_info=True)
    assert info.method == "cholesky"
    G = dsla.SparseTensor.from_dense(dense_general(20, 12)).cuda()
    x, info = dsla.solve(G, torch.ones(20, dtype=torch.float64, device="cuda"), return_info=True)
    assert info.method == "lu"


# -------------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("method,make", [("lu", dense_general), ("cholesky", dense_spd),
                                         ("ldlt", dense_spd)])
def test_gradients_match_cpu(method, make):
    D = make(15, 13)
    A = dsla.SparseTensor.from_dense(D)
    b = torch.randn(15, 2, dtype=torch.float64)
    w = torch.randn(15, 2, dtype=torch.float64)
    grads = []
    for dev in ("cpu", "cuda"):
        if dev == "cpu" and not HAVE_SS:
            continue
        v = A.values.detach().to(dev).requires_grad_(True)
        bb = b.to(dev).requires_grad_(True)
        x = dsla.solve(A.to(device=dev).with_values(v), bb, method=method)
        gv, gb = torch.autograd.grad((x * w.to(dev)).sum(), [v, bb])
        grads.append((gv.cpu(), gb.cpu()))
    # reference without SuiteSparse: dense autograd
    vd = A.values.detach().clone().requires_grad_(True)
    bd = b.clone().requires_grad_(True)
    Dd = torch.zeros(15, 15, dtype=torch.float64).index_put((A.row, A.col), vd)
    gv_ref, gb_ref = torch.autograd.grad((torch.linalg.solve(Dd, bd) * w).sum(), [vd, bd])
    for gv, gb in grads:
        torch.testing.assert_close(gb, gb_ref, rtol=1e-8, atol=1e-10)
        torch.testing.assert_close(gv, gv_ref, rtol=1e-8, atol=1e-10)


def test_gradcheck_lu():
    D = dense_general(6, 14)
    A = dsla.SparseTensor.from_dense(D).cuda()
    v = A.values.detach().clone().requires_grad_()
    b = torch.randn(6, 2, dtype=torch.float64, device="cuda", requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda v, b: dsla.solve(A.with_values(v), b, method="lu", rtol=1e-13), (v, b))


def test_gradcheck_batched_lu():
    D = torch.stack([dense_general(5, s) for s in range(2)])
    A = dsla.SparseTensor.from_dense(D).cuda()
    v = A.values.detach().clone().requires_grad_()
    b = torch.randn(2, 5, dtype=torch.float64, device="cuda", requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda v, b: dsla.solve(A.with_values(v), b, method="lu", rtol=1e-13), (v, b))


# ------------------------------------------------------------------------- failures, det

def test_singular_reported():
    # Neumann Laplacian (rows sum to zero): singular to working precision.
    n = 30
    D = torch.diag(torch.full((n,), 2.0, dtype=torch.float64))
    D -= torch.diag(torch.ones(n - 1, dtype=torch.float64), 1)
    D -= torch.diag(torch.ones(n - 1, dtype=torch.float64), -1)
    D[0, 0] = D[-1, -1] = 1.0
    A = dsla.SparseTensor.from_dense(D).cuda()
    b = torch.randn(n, dtype=torch.float64, device="cuda")
    with pytest.raises(Exception, match="singular|positive definite"):
        dsla.solve(A, b, method="cholesky", raise_on_failure=True)
    # LU: cuDSS may perturb the zero pivot; then the solve must be reported inaccurate.
    try:
        x, info = dsla.solve(A, b, method="lu", return_info=True)
    except Exception as e:  # noqa: BLE001
        assert "singular" in str(e)
    else:
        assert not info.converged


def test_not_spd_raises():
    A = dsla.SparseTensor.from_dense(dense_sym_indefinite(20, 15)).cuda()
    with pytest.raises(Exception, match="positive definite|singular"):
        dsla.Solver(A, method="cholesky")


def test_nonsymmetric_values_refused_by_cholesky():
    A = dsla.poisson2d(5)
    v = A.values.clone()
    off = ((A.row == 0) & (A.col == 1)).nonzero()[0, 0]
    v[off] = -2.0  # symmetric pattern, nonsymmetric values: cuDSS would read one triangle only
    with pytest.raises(ValueError, match="symmetric"):
        dsla.Solver(A.with_values(v).cuda(), method="cholesky")


def test_slogdet_cuda():
    for D, m in [(dense_spd(30, 17), "cholesky"), (dense_sym_indefinite(30, 18), "ldlt"),
                 (dense_spd(30, 19), "auto")]:
        A = dsla.SparseTensor.from_dense(D).cuda()
        if m == "ldlt":
            # cuDSS may pivot with 2 x 2 blocks; then the determinant is not on the diagonal and
            # dsla says so instead of returning a wrong number.
            try:
                s, l = dsla.slogdet(A, method=m)
            except RuntimeError as e:
                assert "2 x 2 pivots" in str(e)
                continue
        else:
            s, l = dsla.slogdet(A, method=m)
        rs, rl = torch.linalg.slogdet(D)
        assert s.is_cuda and l.is_cuda
        assert abs(l.item() - rl.item()) < 1e-9 * max(1.0, abs(rl.item())), m
        assert s.item() == rs.item(), m
    # gradient of logdet (SPD) against dense autograd
    D = dense_spd(10, 20)
    A = dsla.SparseTensor.from_dense(D)
    v = A.values.detach().cuda().requires_grad_()
    (g,) = torch.autograd.grad(dsla.logdet(A.cuda().with_values(v)), [v])
    vd = A.values.detach().clone().requires_grad_()
    Dd = torch.zeros(10, 10, dtype=torch.float64).index_put((A.row, A.col), vd)
    (gr,) = torch.autograd.grad(torch.logdet(Dd), [vd])
    torch.testing.assert_close(g.cpu(), gr, rtol=1e-8, atol=1e-10)


def test_slogdet_lu_cuda_is_a_clear_error():
    A = dsla.SparseTensor.from_dense(dense_general(10, 21)).cuda()
    with pytest.raises(Exception, match="cholesky|ldlt|CPU"):
        dsla.slogdet(A, method="lu")


def test_wrong_device_and_shape_errors():
    A = dsla.poisson2d(8).cuda()
    with pytest.raises(ValueError):
        dsla.solve(A, torch.ones(64, dtype=torch.float64), method="cholesky")  # b on the CPU
    with pytest.raises(ValueError):
        dsla.solve(A, torch.ones(63, dtype=torch.float64, device="cuda"), method="lu")


def test_build_info():
    info = dict(_C.build_info)
    assert info["cudss_version"].count(".") == 2


@pytest.mark.parametrize("method", ["cholesky", "ldlt"])
@pytest.mark.parametrize("ordering", ["nd", "auto"])
def test_nd_ordering_handed_to_cudss(method, ordering, monkeypatch):
    """dsla's nested dissection handed to cuDSS as permutation + partition tree ('nd', and
    'auto' from 2^17 rows on): same solution as cuDSS's own ordering."""
    A = dsla.poisson2d(400, device="cuda")  # 160000 rows: 'auto' takes dsla's ordering
    b = torch.linspace(-1, 1, A.shape[0], dtype=torch.float64, device="cuda")
    monkeypatch.setenv("DSLA_CUDSS_ORDERING", "cudss")
    x_ref = dsla.solve(A, b, method=method, ordering="metis")
    monkeypatch.delenv("DSLA_CUDSS_ORDERING")
    A2 = dsla.poisson2d(400, device="cuda")  # a fresh Pattern: no cached ordering
    x = dsla.solve(A2, b, method=method, ordering=ordering)
    assert rel_residual(A2, x, b) < 1e-10
    torch.testing.assert_close(x, x_ref, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="ordering"):
        dsla.solve(A, b, method="lu", ordering="nd")


def test_prepare_once_then_solves():
    # The one-time set-up on a 2 x 2 problem: once per device, the same thread on repeat calls,
    # the synchronous form returns when done; a solve after it is correct.
    t = dsla.cudss_prepare()
    assert t is dsla.cudss_prepare("cuda") and t.daemon
    t.join(timeout=120)
    assert not t.is_alive()
    assert dsla.cudss_prepare(torch.cuda.current_device(), background=False) is None
    A = dsla.poisson2d(20).cuda()
    b = torch.rand(A.shape[0], dtype=torch.float64, device="cuda")
    x = dsla.solve(A, b, method="cholesky")
    assert ((b - A @ x).norm() / b.norm()).item() < 1e-12
    with pytest.raises(ValueError, match="expected a CUDA device"):
        dsla.cudss_prepare("cpu")
    with pytest.raises(ValueError, match="argument 'device'.*does not exist"):
        dsla.cudss_prepare(torch.cuda.device_count())


def test_trace_names_each_phase(tmp_path):
    # DSLA_CUDSS_TRACE=1: one stderr line per cuDSS phase, in a fresh process (read once).
    import subprocess
    code = ("import sys, torch; sys.path.insert(0, %r); import dsla; "
            "A = dsla.poisson2d(8).cuda(); "
            "dsla.solve(A, torch.ones(64, dtype=torch.float64, device='cuda'), "
            "method='cholesky')" % str(pathlib.Path(__file__).resolve().parents[2] / "python"))
    env = dict(os.environ, DSLA_CUDSS_TRACE="1")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    names = [line.split(" ")[2] for line in p.stderr.splitlines()
             if line.startswith("dsla cuDSS: ")]
    for phase in ("handle", "analysis", "factorization", "solve"):
        assert phase in names, p.stderr
