"""dsla.logdet(A, method="stochastic") (issue #19, item 4): Hutchinson probes with Lanczos
quadrature for SPD matrices, its standard error and its probe gradient.

Tolerances are statistical and stated per test; every test fixes its seed, so it is
deterministic. References: dsla's exact logdet (CHOLMOD where the build has SuiteSparse, else
torch.linalg.slogdet of the dense matrix), dense inverses, dense eigendecompositions."""
import math

import pytest
import torch

import dsla
from conftest import HAVE_DIRECT_CPU

CUDA = pytest.mark.skipif(not torch.cuda.is_available() or not dsla.features.get("cuda"),
                          reason="needs a CUDA device and a CUDA build of dsla")


def exact_logdet(A):
    if HAVE_DIRECT_CPU and A.device.type == "cpu":
        return dsla.logdet(A)
    return torch.linalg.slogdet(A.to_dense())[1]


# The SPD matrices of ../shared/data (data/ ships some of them), with the Lanczos steps after
# which the quadrature has converged below half a standard error at 64 probes (checked by the
# test through info.lanczos_change).
SPD = [("gr_30_30", 50), ("494_bus", 300), ("662_bus", 200), ("bcsstk03", 112),
       ("bcsstk08", 100), ("bcsstk09", 150), ("bcsstk13", 300), ("bcsstk16", 80)]


@pytest.mark.parametrize("name,steps", SPD, ids=[s[0] for s in SPD])
def test_estimate_within_four_standard_errors_of_the_exact_value(data_dir, name, steps):
    path = data_dir / f"{name}.mtx"
    if not path.exists():
        pytest.skip(f"{path} not found")
    A = dsla.read_mtx(str(path))
    est, info = dsla.logdet(A, method="stochastic", probes=64, lanczos_steps=steps, seed=0,
                            return_info=True)
    exact = exact_logdet(A)
    se = info.std_error
    assert info.method == "stochastic" and info.probes == 64 and info.lanczos_steps == steps
    assert info.lanczos_change < 0.5 * se  # the quadrature converged: the error is Hutchinson's
    # Tolerance: 4 standard errors (a fixed seed; a z-score beyond 4 would be a 6e-5 event)
    assert abs(est - exact) <= 4 * se, (float(est), float(exact), float(se))
    assert float(se) < 5e-3 * abs(float(exact))  # and the error bar is useful: < 0.5 %
    torch.testing.assert_close(info.variance, se ** 2)
    assert info.samples.shape == (64,)
    torch.testing.assert_close(info.samples.mean(), est)


def test_standard_error_matches_the_spread_over_seeds():
    # 40 independent estimates of 16 probes: their spread is the true standard error; the
    # reported one (a sample estimate per run) must agree on average within 25 %.
    A = dsla.poisson2d(12)
    runs = [dsla.logdet(A, method="stochastic", probes=16, seed=s, return_info=True)
            for s in range(40)]
    ests = torch.stack([r[0] for r in runs])
    reported = torch.stack([r[1].std_error for r in runs]).mean()
    assert 0.75 < float(ests.std() / reported) < 1.25
    exact = exact_logdet(A)
    # the mean of the 40 (640 probes) is within 4 of its own standard errors
    assert abs(ests.mean() - exact) <= 4 * reported / math.sqrt(40)


def test_full_lanczos_reproduces_the_dense_quadratic_forms():
    # With n steps and full reorthogonalization the Gauss quadrature is exact: each sample
    # is zᵀ log(C) z + Σ log a_ii computed densely.
    A = dsla.random_spd(30, 0.2, seed=5)
    n = A.shape[0]
    g = torch.Generator().manual_seed(1)
    Z = (torch.randint(0, 2, (n, 8), generator=g) * 2 - 1).to(torch.float64)
    est, info = dsla.logdet(A, method="stochastic", probes=Z, lanczos_steps=n,
                            reorthogonalize=True, return_info=True)
    d = A.diagonal()
    C = A.to_dense() / torch.outer(d.sqrt(), d.sqrt())
    lam, U = torch.linalg.eigh(C)
    logC = U @ torch.diag(lam.log()) @ U.T
    want = (Z * (logC @ Z)).sum(0) + d.log().sum()
    torch.testing.assert_close(info.samples, want, rtol=1e-10, atol=1e-9)
    # without scaling: the quadratic forms of log A itself
    _, info2 = dsla.logdet(A, method="stochastic", probes=Z, lanczos_steps=n, scaling="none",
                           reorthogonalize=True, return_info=True)
    lam, U = torch.linalg.eigh(A.to_dense())
    want2 = (Z * ((U @ torch.diag(lam.log()) @ U.T) @ Z)).sum(0)
    torch.testing.assert_close(info2.samples, want2, rtol=1e-10, atol=1e-9)


def test_gradient_is_an_unbiased_estimate_of_the_inverse_transpose():
    A = dsla.random_spd(40, 0.1, seed=3)
    exact = torch.linalg.inv(A.to_dense()).T[A.row.long(), A.col.long()]
    grads = []
    for seed in range(20):
        v = A.values.clone().requires_grad_()
        dsla.logdet(A.with_values(v), method="stochastic", probes=50, seed=seed,
                    grad_rtol=1e-10).backward()
        grads.append(v.grad)
    G = torch.stack(grads)
    mean, se = G.mean(0), G.std(0) / math.sqrt(len(grads))
    # Unbiased: the mean of 20 independent estimates is within 5 of its standard errors of the
    # exact A^-T on every entry (5: a max over ~240 entries; 1e-7 floor: the CG tolerance, for
    # entries whose estimator has no variance, e.g. a row without off-diagonal entries)
    assert ((mean - exact).abs() <= 5 * se + 1e-7 * exact.abs()).all()
    # Direction: one estimate with 50 probes points the way of the exact gradient
    g = grads[0]
    assert float(torch.dot(g, exact) / (g.norm() * exact.norm())) > 0.95
    # and it is the exact gradient of the dsla.logdet of a factorization, on the same pattern
    w = A.values.clone().requires_grad_()
    dsla.logdet(A.with_values(w)).backward()
    torch.testing.assert_close(w.grad, exact)


def test_batches_float32_int64_and_seeds():
    A = dsla.poisson2d(8)
    vals = torch.stack([A.values, 2 * A.values, A.values + (A.row == A.col).double()])
    B = A.with_values(vals.clone().requires_grad_())
    est, info = dsla.logdet(B, method="stochastic", probes=32, seed=2, return_info=True)
    exact = torch.stack([exact_logdet(A.with_values(v)) for v in vals])
    assert est.shape == (3,) and info.std_error.shape == (3,)
    assert (abs(est - exact) <= 4 * info.std_error).all()
    est.sum().backward()
    assert B.values.grad.shape == (3, A.nnz)
    # float32 in, float32 out, the same numbers (computed in float64)
    e32 = dsla.logdet(A.float(), method="stochastic", seed=4)
    e64 = dsla.logdet(A, method="stochastic", seed=4)
    assert e32.dtype == torch.float32
    torch.testing.assert_close(e32, e64.float())
    # int64 indices: the same estimate
    A64 = dsla.SparseTensor.from_csr(A.crow.long(), A.col.long(), A.values, A.shape)
    assert A64.index_dtype == torch.int64
    torch.testing.assert_close(dsla.logdet(A64, method="stochastic", seed=4), e64)
    # seed=None draws from torch's generator: torch.manual_seed governs it
    torch.manual_seed(7)
    a = dsla.logdet(A, method="stochastic")
    torch.manual_seed(7)
    b = dsla.logdet(A, method="stochastic")
    assert a == b and a != dsla.logdet(A, method="stochastic", seed=1)
    # A.logdet forwards the keywords; reorthogonalization changes nothing once converged
    torch.testing.assert_close(A.logdet(method="stochastic", seed=4, reorthogonalize=True), e64)


def test_edge_cases_zero_one_and_diagonal():
    E = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (0, 0))
    est, info = dsla.logdet(E, method="stochastic", return_info=True)
    assert est.item() == 0.0 and info.std_error.item() == 0.0
    O = dsla.SparseTensor(torch.tensor([3.0], dtype=torch.float64), [0], [0], (1, 1))
    v = O.values.clone().requires_grad_()
    e = dsla.logdet(O.with_values(v), method="stochastic", seed=0)
    assert abs(e.item() - math.log(3.0)) < 1e-14
    e.backward()
    assert abs(v.grad.item() - 1 / 3) < 1e-12
    # a diagonal matrix: the Jacobi scaling makes every probe exact
    d = torch.rand(50, dtype=torch.float64) + 0.5
    est, info = dsla.logdet(dsla.diag(d), method="stochastic", seed=0, return_info=True)
    assert abs(est.item() - d.log().sum().item()) < 1e-10 and info.std_error.item() < 1e-10
    # an exact method reports a zero standard error
    val, info = dsla.logdet(dsla.poisson2d(4), return_info=True)
    assert info.method == "auto" and info.std_error.item() == 0.0


def test_bad_input_names_the_argument_and_the_fix():
    A = dsla.poisson2d(5)
    with pytest.raises(ValueError, match="'A'.*square"):
        dsla.logdet(dsla.random_sparse(5, 4, 0.5), method="stochastic")
    with pytest.raises(ValueError, match="'A'.*not symmetric.*method='lu'"):
        dsla.logdet(dsla.convdiff2d(5, 3.0), method="stochastic")
    # symmetric with a positive diagonal but indefinite: Lanczos meets a negative Ritz value
    n = 20
    Ind = dsla.tridiagonal(torch.ones(n - 1, dtype=torch.float64),
                           0.5 * torch.ones(n, dtype=torch.float64),
                           torch.ones(n - 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="not positive definite: Lanczos found a Ritz value"):
        dsla.logdet(Ind, method="stochastic", seed=0)
    with pytest.raises(ValueError, match=r"not positive definite: the diagonal entry a\[3, 3\]"):
        d = torch.ones(6, dtype=torch.float64)
        d[3] = -1
        dsla.logdet(dsla.diag(d), method="stochastic")
    with pytest.raises(TypeError, match="'A'.*torch.float64 or torch.float32.*complex128"):
        dsla.logdet(A.to(dtype=torch.complex128), method="stochastic")
    with pytest.raises(TypeError, match=r"'probes'.*torch.float32.*probes.to\(torch.float64\)"):
        dsla.logdet(A, method="stochastic", probes=torch.ones(25, 4))
    with pytest.raises(ValueError, match="'probes'.*shape"):
        dsla.logdet(A, method="stochastic", probes=torch.ones(24, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="'probes'.*>= 1"):
        dsla.logdet(A, method="stochastic", probes=0)
    with pytest.raises(TypeError, match="'probes'"):
        dsla.logdet(A, method="stochastic", probes=2.5)
    with pytest.raises(ValueError, match="'lanczos_steps'"):
        dsla.logdet(A, method="stochastic", lanczos_steps=0)
    with pytest.raises(ValueError, match="'seed'"):
        dsla.logdet(A, method="stochastic", seed=-1)
    with pytest.raises(ValueError, match="'scaling'"):
        dsla.logdet(A, method="stochastic", scaling="amg")
    with pytest.raises(ValueError, match="'probes' applies to method='stochastic' only"):
        dsla.logdet(A, probes=10)
    with pytest.raises(ValueError, match="dsla.logdet\\(A, method='stochastic'\\)"):
        dsla.slogdet(A, method="stochastic")
    with pytest.raises(ValueError, match="dsla.logdet\\(A, method='stochastic'\\)"):
        dsla.det(A, method="stochastic")


@CUDA
def test_stochastic_logdet_on_cuda_matches_cpu():
    A = dsla.poisson2d(20)
    est_cpu, info_cpu = dsla.logdet(A, method="stochastic", seed=3, return_info=True)
    v = A.values.cuda().requires_grad_()
    est, info = dsla.logdet(A.cuda().with_values(v), method="stochastic", seed=3,
                            return_info=True)
    assert est.device.type == "cuda"
    torch.testing.assert_close(est.cpu(), est_cpu)  # the same probes on every device
    torch.testing.assert_close(info.std_error.cpu(), info_cpu.std_error)
    est.backward()
    w = A.values.clone().requires_grad_()
    dsla.logdet(A.with_values(w), method="stochastic", seed=3).backward()
    torch.testing.assert_close(v.grad.cpu(), w.grad, rtol=1e-5, atol=1e-7)

