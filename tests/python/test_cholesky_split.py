"""The split CPU Cholesky (src/solve/direct/cholmod_split_factorization.cpp): two halves of a
nested dissection factored on two threads by dsla's supernodal kernel plus a dense separator
Schur complement. It engages from DSLA_CHOLMOD_SPLIT_MIN_ROWS rows (2^17 by default); the tests
lower that to 0 and compare with SciPy / dense torch.linalg on matrices small enough to check."""
import warnings

import pytest
import torch

import dsla

pytestmark = pytest.mark.direct  # skipped in builds without SuiteSparse (conftest.py)

SPLIT = "cholmod-supernodal-llt(nd, split)"


@pytest.fixture
def split_on(monkeypatch):
    monkeypatch.setenv("DSLA_CHOLMOD_SPLIT_MIN_ROWS", "0")
    monkeypatch.setenv("DSLA_DIRECT_THREADS", "2")  # both halves on their own thread


def dense(A):
    return A.to_dense().to(torch.float64)


def block_diag_laplacians(m1, m2):
    """Two unconnected grids: the top bisection splits by components (no separator)."""
    D = torch.block_diag(dense(dsla.poisson2d(m1)), dense(dsla.poisson2d(m2)))
    return dsla.SparseTensor.from_dense(D)


@pytest.mark.parametrize("make", [lambda: dsla.poisson2d(40), lambda: dsla.poisson3d(12),
                                  lambda: block_diag_laplacians(30, 20)])
def test_split_solve_matches_dense(split_on, make):
    A = make()
    n = A.shape[0]
    S = dsla.Solver(A, method="cholesky")
    assert S.factorization == SPLIT
    g = torch.Generator().manual_seed(0)
    B = torch.randn(n, 3, dtype=torch.float64, generator=g)
    ref = torch.linalg.solve(dense(A), B)
    torch.testing.assert_close(S.solve(B), ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(S.solve(B[:, 0]), ref[:, 0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(S.solve_adjoint(B), ref, rtol=1e-10, atol=1e-12)


def test_split_matches_scipy_and_whole_factorization(split_on, monkeypatch):
    spla = pytest.importorskip("scipy.sparse.linalg")
    A = dsla.aniso2d(48, 0.01)
    n = A.shape[0]
    b = torch.linspace(-1, 1, n, dtype=torch.float64)
    x = dsla.solve(A, b, method="cholesky")
    ref = spla.spsolve(A.to_scipy().tocsc(), b.numpy())
    torch.testing.assert_close(x, torch.from_numpy(ref), rtol=1e-10, atol=1e-12)
    monkeypatch.setenv("DSLA_CHOLMOD_SPLIT_MIN_ROWS", str(n + 1))  # one CHOLMOD factor
    S = dsla.Solver(A, method="cholesky", ordering="nd")
    assert S.factorization == "cholmod-supernodal-llt(nd)"
    torch.testing.assert_close(S.solve(b), x, rtol=1e-11, atol=1e-13)


def test_split_float32_values(split_on):
    A = dsla.poisson2d(32)
    A32 = A.with_values(A.values.to(torch.float32))
    b = torch.ones(A.shape[0], dtype=torch.float32)
    S = dsla.Solver(A32, method="cholesky", rtol=1e-5)  # the residual is checked in float32
    assert S.factorization == SPLIT
    x = S.solve(b)
    assert x.dtype == torch.float32
    torch.testing.assert_close(x.double(), torch.linalg.solve(dense(A), b.double()), rtol=1e-5,
                               atol=1e-6)


def test_split_refactor_and_logdet(split_on):
    from dsla.det import logdet, slogdet
    A = dsla.poisson2d(36)
    D = dense(A)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    S = dsla.Solver(A, method="cholesky")
    before = dsla._C.direct_analysis_count()
    S.refactor(A.values * 3.0)
    assert dsla._C.direct_analysis_count() == before  # the halves' analysis is reused
    torch.testing.assert_close(S.solve(b), torch.linalg.solve(3.0 * D, b), rtol=1e-10, atol=1e-12)
    sign, l = slogdet(A, method="cholesky")
    rs, rl = torch.linalg.slogdet(D)
    assert sign.item() == rs.item() == 1.0
    assert abs(l.item() - rl.item()) <= 1e-10 * abs(rl.item())
    # d logdet / d values = A⁻ᵀ on the pattern (selected inversion through one whole factor).
    v = A.values.detach().clone().requires_grad_()
    logdet(A.with_values(v), method="cholesky").backward()
    inv = torch.linalg.inv(D)
    torch.testing.assert_close(v.grad, inv[A.row.long(), A.col.long()], rtol=1e-9, atol=1e-12)


def test_split_gradients_match_finite_differences(split_on):
    A = dsla.poisson2d(20)
    n = A.shape[0]
    assert dsla.Solver(A, method="cholesky").factorization == SPLIT
    g = torch.Generator().manual_seed(1)
    b = torch.randn(n, dtype=torch.float64, generator=g)
    w = torch.randn(n, dtype=torch.float64, generator=g)
    rows, col = A.row.long(), A.col.long()
    # A symmetric perturbation of the values (the matrix must stay symmetric).
    P = torch.zeros(n, n, dtype=torch.float64)
    P[rows, col] = torch.randn(A.nnz, dtype=torch.float64, generator=g)
    dv = (P + P.T)[rows, col] * 0.1
    db = torch.randn(n, dtype=torch.float64, generator=g)

    def L(v, bb):
        return (w * dsla.solve(A.with_values(v), bb, method="cholesky")).sum()

    v = A.values.detach().clone().requires_grad_()
    bb = b.clone().requires_grad_()
    L(v, bb).backward()
    analytic = (v.grad * dv).sum() + (bb.grad * db).sum()
    eps = 1e-6
    with torch.no_grad():
        fd = (L(A.values + eps * dv, b + eps * db) - L(A.values - eps * dv, b - eps * db)) / (2 * eps)
    assert abs(analytic - fd) <= 1e-6 * abs(fd) + 1e-9, (analytic.item(), fd.item())


def test_split_reports_indefinite(split_on):
    A = dsla.poisson2d(32)
    D = dense(A)
    lam = torch.linalg.eigvalsh(D)
    # Shifted just past the smallest eigenvalue: the halves' blocks (principal submatrices) may
    # well stay positive definite, leaving the separator's Schur complement to fail.
    shift = 0.5 * (lam[0] + lam[1])
    Ab = A.with_values(torch.where(A.col == A.row, A.values - shift, A.values))
    with pytest.raises(dsla.SingularMatrixError, match="not positive definite"):
        dsla.Solver(Ab, method="cholesky")
    # A negative diagonal entry inside a half fails there.
    v = A.values.clone()
    v[(A.row == 5) & (A.col == 5)] = -100.0
    with pytest.raises(dsla.SingularMatrixError, match="not positive definite"):
        dsla.Solver(A.with_values(v), method="cholesky")


def test_split_refuses_asymmetric_values(split_on):
    A = dsla.poisson2d(24)
    v = A.values.clone()
    v[(A.row == 0) & (A.col == 1)] += 0.5  # (0, 1) only
    with pytest.raises(ValueError, match="symmetric"):
        dsla.Solver(A.with_values(v), method="cholesky")


def test_split_not_used_where_it_does_not_apply(split_on):
    A = dsla.poisson2d(6)  # separator of 6 rows > 36 / 16: one CHOLMOD factor
    assert dsla.Solver(A, method="cholesky").factorization.startswith("cholmod-supernodal-llt(")
    assert "split" not in dsla.Solver(A, method="cholesky").factorization
    B = dsla.poisson2d(24)
    assert "split" not in dsla.Solver(B, method="cholesky", ordering="amd").factorization
    assert dsla.Solver(B, method="ldlt").factorization.startswith("cholmod-simplicial-ldlt")
    assert dsla.Solver(B, method="cg").factorization == ""


def test_split_min_rows_env_is_checked(monkeypatch):
    A = dsla.poisson2d(24)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    for bad in ("abc", "-1", "1e5"):
        monkeypatch.setenv("DSLA_CHOLMOD_SPLIT_MIN_ROWS", bad)
        with pytest.raises(ValueError, match="DSLA_CHOLMOD_SPLIT_MIN_ROWS"):
            dsla.solve(A, b, method="cholesky")


def test_split_one_thread_gives_the_same_answer(split_on, monkeypatch):
    A = dsla.poisson2d(40)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    x2 = dsla.solve(A, b, method="cholesky")
    monkeypatch.setenv("DSLA_DIRECT_THREADS", "1")  # halves one after the other
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x1 = dsla.solve(A, b, method="cholesky")
    torch.testing.assert_close(x1, x2, rtol=0, atol=0)


@pytest.mark.parametrize("split", [True, False])
def test_refactor_after_a_failed_factorization(monkeypatch, split):
    # The failure must not stick to the factorization (split, or one factor by dsla's kernel).
    monkeypatch.setenv("DSLA_CHOLMOD_SPLIT_MIN_ROWS", "0" if split else "1000000000")
    A = dsla.poisson2d(32)
    S = dsla.Solver(A, method="cholesky")
    assert ("split" in S.factorization) == split
    with pytest.raises(dsla.SingularMatrixError, match="not positive definite"):
        S.refactor(-A.values)
    S.refactor(2.0 * A.values)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    torch.testing.assert_close(S.solve(b), torch.linalg.solve(2.0 * dense(A), b), rtol=1e-10,
                               atol=1e-12)


def test_whole_factor_kernel_matches_cholmod_numeric(monkeypatch):
    # <= 2 threads: dsla's supernodal kernel does CHOLMOD's numeric phase; more: CHOLMOD itself.
    monkeypatch.setenv("DSLA_CHOLMOD_SPLIT_MIN_ROWS", "1000000000")
    from dsla.det import slogdet
    A = dsla.poisson3d(10)
    b = torch.linspace(0, 1, A.shape[0], dtype=torch.float64)
    out = {}
    for threads in ("1", "4"):
        monkeypatch.setenv("DSLA_DIRECT_THREADS", threads)
        for ordering in ("amd", "nd"):
            S = dsla.Solver(A, method="cholesky", ordering=ordering)
            out[threads, ordering] = (S.solve(b), slogdet(A, method="cholesky", ordering=ordering)[1])
    for ordering in ("amd", "nd"):
        torch.testing.assert_close(out["1", ordering][0], out["4", ordering][0], rtol=1e-12,
                                   atol=1e-14)
        torch.testing.assert_close(out["1", ordering][1], out["4", ordering][1], rtol=1e-13, atol=0)


def test_split_batched_values(split_on):
    A = dsla.poisson2d(24)
    scales = torch.tensor([1.0, 2.5, 4.0], dtype=torch.float64)
    Ab = A.with_values(scales[:, None] * A.values)  # [3, nnz]: one split factorization each
    b = torch.randn(3, A.shape[0], 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    S = dsla.Solver(Ab, method="cholesky")
    assert S.factorization == SPLIT
    ref = torch.linalg.solve(scales[:, None, None] * dense(A), b)
    torch.testing.assert_close(S.solve(b), ref, rtol=1e-10, atol=1e-12)
