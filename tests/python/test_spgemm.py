"""Sparse x sparse product ``A @ B`` (dsla._C.spgemm): values against scipy.sparse, pattern reuse,
validation, and gradients w.r.t. both operands' values (gradcheck, gradgradcheck)."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import dsla

DTYPES = [torch.float32, torch.float64, torch.complex64, torch.complex128]


def random_scipy(rows, cols, density, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    S = sp.random(rows, cols, density=density, format="csr", random_state=rng, dtype=np.float64)
    if np.issubdtype(dtype, np.complexfloating):
        S = S + 1j * sp.random(rows, cols, density=density, format="csr", random_state=rng)
    return S.astype(dtype).tocsr()


def np_dtype(t):
    return {torch.float32: np.float32, torch.float64: np.float64,
            torch.complex64: np.complex64, torch.complex128: np.complex128}[t]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(20, 30, 15), (1, 7, 1), (40, 5, 40)])
def test_matches_scipy(dtype, shape):
    m, k, n = shape
    Sa = random_scipy(m, k, 0.2, 1, np_dtype(dtype))
    Sb = random_scipy(k, n, 0.2, 2, np_dtype(dtype))
    C = dsla.SparseTensor.from_scipy(Sa, dtype) @ dsla.SparseTensor.from_scipy(Sb, dtype)
    ref = (Sa @ Sb).toarray()
    tol = 1e-5 if dtype in (torch.float32, torch.complex64) else 1e-12
    np.testing.assert_allclose(C.to_dense().numpy(), ref, rtol=tol, atol=tol)
    assert C.shape == (m, n)


def test_real_matrix_and_pattern_reuse():
    A = dsla.poisson2d(64)
    C1 = A @ A
    S = A.to_scipy()
    np.testing.assert_allclose(C1.to_scipy().toarray(), (S @ S).toarray(), atol=1e-12)
    A2 = A.with_values(A.values * 3.0)
    C2 = A2 @ A
    assert C2._m.same_pattern(C1._m)  # symbolic phase cached on A's pattern
    torch.testing.assert_close(C2.values, 3.0 * C1.values)


def test_galerkin_triple_product():
    A = dsla.poisson2d(16)
    n, m = A.shape[0], 20
    agg = torch.randint(m, (n,), generator=torch.Generator().manual_seed(0))
    P = dsla.SparseTensor(torch.ones(n, dtype=torch.float64), torch.arange(n), agg, (n, m))
    Ac = P.T @ (A @ P)
    Ps = P.to_scipy()
    np.testing.assert_allclose(Ac.to_dense().numpy(), (Ps.T @ A.to_scipy() @ Ps).toarray(),
                               atol=1e-12)


def test_batched_broadcast():
    Sa = random_scipy(6, 5, 0.5, 3)
    Sb = random_scipy(5, 4, 0.5, 4)
    A = dsla.SparseTensor.from_scipy(Sa)
    B = dsla.SparseTensor.from_scipy(Sb)
    Ab = A.with_values(torch.stack([A.values, 2 * A.values]))
    C = Ab @ B
    assert C.values.shape == (2, C.nnz)
    ref = (Sa @ Sb).toarray()
    np.testing.assert_allclose(C.to_dense()[1].numpy(), 2 * ref, atol=1e-12)


def test_bad_input_names_argument():
    A = dsla.SparseTensor.from_scipy(random_scipy(4, 3, 0.5, 5))
    with pytest.raises(ValueError, match="argument 'B'"):
        A @ A
    with pytest.raises(TypeError, match="argument 'B'"):
        A @ A.T.float()


def _grad_setup(dtype, seed):
    Sa = random_scipy(6, 5, 0.4, seed, np_dtype(dtype))
    Sb = random_scipy(5, 7, 0.4, seed + 1, np_dtype(dtype))
    A = dsla.SparseTensor.from_scipy(Sa, dtype)
    B = dsla.SparseTensor.from_scipy(Sb, dtype)
    av = A.values.clone().requires_grad_()
    bv = B.values.clone().requires_grad_()

    def f(a, b):
        return (A.with_values(a) @ B.with_values(b)).values

    return f, av, bv


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_gradcheck(dtype):
    f, av, bv = _grad_setup(dtype, 10)
    assert torch.autograd.gradcheck(f, (av, bv))


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_gradgradcheck(dtype):
    f, av, bv = _grad_setup(dtype, 20)
    assert torch.autograd.gradgradcheck(f, (av, bv))


def test_gradcheck_batched():
    f, av, bv = _grad_setup(torch.float64, 30)
    av = torch.stack([av.detach(), -av.detach()]).requires_grad_()
    assert torch.autograd.gradcheck(f, (av, bv))


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape,density", [((300, 200, 250), 0.03), ((50, 40, 60), 0.5),
                                           ((20, 3000, 20), 0.9)])
def test_cuda_matches_cpu(dtype, shape, density):
    """The CUDA kernels (warp rows, block rows above 256 columns, host fallback above the block
    tables) give CPU's pattern and values."""
    m, k, n = shape
    A = dsla.SparseTensor.from_scipy(random_scipy(m, k, density, 3), dtype)
    B = dsla.SparseTensor.from_scipy(random_scipy(k, n, density, 4), dtype)
    C = A @ B
    Cg = A.to(device="cuda") @ B.to(device="cuda")
    assert torch.equal(Cg.crow.cpu().long(), C.crow.long())
    assert torch.equal(Cg.col.cpu().long(), C.col.long())
    tol = 1e-4 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(Cg.values.cpu(), C.values, rtol=tol, atol=tol)


@needs_cuda
def test_cuda_wide_rows_and_gradient():
    # Rows of C wider than the warp tables (dense-ish) and the autograd path on CUDA.
    S = random_scipy(64, 64, 0.6, 5)
    A = dsla.SparseTensor.from_scipy(S, torch.float64).to(device="cuda")
    C = A @ A
    np.testing.assert_allclose(C.to_dense().cpu().numpy(), (S @ S).toarray(), atol=1e-10)
    vals = A.values.clone().requires_grad_(True)
    Av = A.with_values(vals)
    (Av @ Av).values.sum().backward()
    Ad = torch.tensor(S.toarray(), device="cuda", requires_grad=True)
    (Ad @ Ad).sum().backward()
    ref = Ad.grad[A.row.long(), A.col.long()]
    torch.testing.assert_close(vals.grad, ref, atol=1e-10, rtol=1e-10)


@needs_cuda
@pytest.mark.parametrize("batch", [1, 3])
def test_cuda_tiers_in_one_product(batch):
    """One product whose rows fall in every CUDA tier: few products (a thread per row, kSmall =
    64), more products (a warp per row), more than 256 distinct columns (a block per row), and
    empty rows: CPU's pattern and SciPy's values for each batch member."""
    rng = np.random.default_rng(7)
    m, k, n = 400, 300, 600
    rows, cols = [], []
    for i in range(m):
        width = [0, 1, 3, 8, 40, 120][i % 6]  # empty, small, small, warp, warp / block, block
        for c in rng.choice(k, size=width, replace=False):
            rows.append(i)
            cols.append(int(c))
    A0 = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, k))
    B0 = random_scipy(k, n, 0.012, 8)
    vals_a = torch.randn(batch, A0.nnz, dtype=torch.float64)
    vals_b = torch.randn(batch, B0.nnz, dtype=torch.float64)
    A = dsla.SparseTensor.from_scipy(A0, torch.float64)
    B = dsla.SparseTensor.from_scipy(B0, torch.float64)
    A = A.with_values(vals_a.squeeze(0) if batch == 1 else vals_a)
    B = B.with_values(vals_b.squeeze(0) if batch == 1 else vals_b)
    C = A @ B
    Cg = A.to(device="cuda") @ B.to(device="cuda")
    assert torch.equal(Cg.crow.cpu().long(), C.crow.long())
    assert torch.equal(Cg.col.cpu().long(), C.col.long())
    torch.testing.assert_close(Cg.values.cpu(), C.values, rtol=1e-12, atol=1e-12)
    for b in range(batch):
        Ab = sp.csr_matrix((vals_a[b].numpy(), A0.indices, A0.indptr), shape=(m, k))
        Bb = sp.csr_matrix((vals_b[b].numpy(), B0.indices, B0.indptr), shape=(k, n))
        ref = (Ab @ Bb).toarray()
        got = (Cg.to_dense().cpu() if batch == 1 else Cg.to_dense()[b].cpu()).numpy()
        np.testing.assert_allclose(got, ref, atol=1e-11)
