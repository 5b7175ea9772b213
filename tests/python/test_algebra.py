"""Algebra on SparseTensors (issue #19, item 2): entrywise functions of the stored values,
sums and Hadamard products of different patterns, scalar offsets, reductions over rows /
columns / all entries, and the factories tridiagonal, kron, block_diag / split_block_diag.
References: the dense matrices with torch, scipy.sparse; torch.autograd.gradcheck."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import dsla

DTYPES = [torch.float32, torch.float64, torch.complex64, torch.complex128]
INDEX = [torch.int32, torch.int64]
CUDA = pytest.mark.skipif(not torch.cuda.is_available() or not dsla.features.get("cuda"),
                          reason="needs a CUDA device and a CUDA build of dsla")


def tol(dtype):
    return (dict(rtol=1e-5, atol=1e-5) if dtype in (torch.float32, torch.complex64)
            else dict(rtol=1e-12, atol=1e-12))


def mat(n=7, m=6, density=0.4, dtype=torch.float64, index=torch.int64, seed=0, batch=None,
        device="cpu"):
    """(A, D): a random SparseTensor (explicit structure, some empty rows likely) and its dense
    matrix (a batch [batch, n, m] when batch is given)."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, m, generator=g) < density
    r, c = mask.nonzero(as_tuple=True)
    shape = (batch, r.numel()) if batch else (r.numel(),)
    v = torch.randn(shape, generator=g, dtype=torch.float64)
    if dtype.is_complex:
        v = v + 1j * torch.randn(shape, generator=g, dtype=torch.float64)
    v = v.to(dtype)
    A = dsla.SparseTensor(v, r.to(index), c.to(index), (n, m)).to(device)
    return A, A.to_dense()


def mask_of(A):
    return (A.with_values(torch.ones_like(A.values)).to_dense() != 0)


def same_pattern(A, B):
    return torch.equal(A.crow.long(), B.crow.long()) and torch.equal(A.col.long(), B.col.long())


# ------------------------------------------------------------------------------- entrywise
ALL_FUNCS = sorted(set(dsla._algebra.ELEMENTWISE) - {"real", "imag"})


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.complex128])
@pytest.mark.parametrize("name", ALL_FUNCS)
def test_entrywise_functions_apply_to_stored_values_only(name, dtype):
    A, D = mat(dtype=dtype)
    real_only = dsla._algebra.ELEMENTWISE[name][0]
    if real_only and dtype.is_complex:
        with pytest.raises(TypeError, match=f"A.{name}\\(\\).*complex"):
            getattr(A, name)()
        return
    f = getattr(torch, name)
    try:
        f(D)
    except RuntimeError:  # this torch has no such kernel for the dtype (e.g. complex expm1)
        with pytest.raises(TypeError, match=f"torch.{name} does not support {dtype}"):
            getattr(A, name)()
        return
    B = getattr(A, name)()
    assert same_pattern(A, B) and B.nnz == A.nnz
    want = torch.where(mask_of(A), f(D), torch.zeros((), dtype=f(D).dtype))
    torch.testing.assert_close(B.to_dense(), want, equal_nan=True, **tol(dtype))
    # torch.<name>(A) reaches the same method through __torch_function__
    torch.testing.assert_close(f(A).values, B.values, equal_nan=True)


def test_exp_keeps_implicit_zeros_zero_and_says_so():
    A, D = mat()
    E = A.exp()
    assert (E.to_dense()[D == 0] == 0).all()  # f(0) = 1 is not applied to implicit zeros
    assert "implicit zeros" in dsla.SparseTensor.exp.__doc__
    assert "exp(0) = 1" in dsla.SparseTensor.exp.__doc__


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_pow_clamp_real_imag_conj(dtype):
    A, D = mat(dtype=dtype)
    M = mask_of(A)
    torch.testing.assert_close((A ** 2).to_dense(), D ** 2)
    torch.testing.assert_close(torch.pow(A, 3).to_dense(), D ** 3)
    torch.testing.assert_close(A.pow(-1).to_dense(), torch.where(M, 1 / D, D))
    torch.testing.assert_close(A.pow(0).to_dense(), M.to(dtype))  # implicit zeros stay 0
    torch.testing.assert_close(torch.conj(A).to_dense(), D.conj())
    torch.testing.assert_close(abs(A).to_dense(), D.abs())
    if dtype.is_complex:
        torch.testing.assert_close(A.real.to_dense(), D.real)
        torch.testing.assert_close(torch.imag(A).to_dense(), D.imag)
        assert A.real.dtype == torch.float64 and A.abs().dtype == torch.float64
        with pytest.raises(TypeError, match="complex"):
            A.clamp(min=0)
        with pytest.raises(TypeError, match="A.sgn()"):
            A.sign()
    else:
        assert A.real is A
        with pytest.raises(TypeError, match="imaginary part is zero.*torch.complex128"):
            A.imag
        C = torch.clamp(A, min=-0.5, max=0.5)
        torch.testing.assert_close(C.to_dense(), torch.where(M, D.clamp(-0.5, 0.5), D))
        assert (A.clamp(min=1).to_dense()[~M] == 0).all()
        with pytest.raises(ValueError, match="'min' or 'max'"):
            A.clamp()
    with pytest.raises(TypeError, match="'exponent'"):
        A.pow(torch.ones(3))


def test_entrywise_gradcheck():
    A, _ = mat()
    v = A.values.clone().requires_grad_()
    for f in (lambda B: B.exp(), lambda B: B.tanh(), lambda B: B.sin(), lambda B: B ** 3,
              lambda B: B.abs().sqrt(), lambda B: torch.square(B), lambda B: B.clamp(-0.3, 0.3)):
        assert torch.autograd.gradcheck(lambda v: f(A.with_values(v)).values, (v,))
    Ac, _ = mat(dtype=torch.complex128)
    vc = Ac.values.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda v: Ac.with_values(v).real.values, (vc,))
    assert torch.autograd.gradcheck(lambda v: Ac.with_values(v).imag.values, (vc,))
    assert torch.autograd.gradcheck(lambda v: Ac.with_values(v).abs().values, (vc,))


def test_entrywise_on_batches_and_empty_matrices():
    A, D = mat(batch=3)
    torch.testing.assert_close(A.exp().to_dense(), torch.where(D != 0, D.exp(), D))
    for shape in ((0, 0), (4, 3)):
        E = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                              torch.zeros(0, dtype=torch.long), shape)
        assert E.exp().nnz == 0 and E.log().shape == shape


# ------------------------------------------------------------------------------- + - *
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", INDEX)
def test_sum_and_hadamard_of_different_patterns_match_scipy(dtype, index):
    A, D = mat(dtype=dtype, index=index, seed=1)
    B, E = mat(dtype=dtype, index=index, seed=2)
    S, T = A.to_scipy(), B.to_scipy()
    for got, want, dense in ((A + B, S + T, D + E), (A - B, S - T, D - E),
                             (A * B, S.multiply(T), D * E), (A.multiply(B), S.multiply(T), D * E),
                             (torch.mul(A, B), S.multiply(T), D * E),
                             (torch.add(A, B, alpha=2), S + 2 * T, D + 2 * E)):
        assert got.dtype == dtype
        torch.testing.assert_close(got.to_dense(), dense, **tol(dtype))
        torch.testing.assert_close(got.to_dense(), torch.from_numpy(sp.csr_matrix(want).toarray()),
                                   **tol(dtype))
    I = A * B  # the intersection pattern exactly
    inter = mask_of(A) & mask_of(B)
    assert I.nnz == int(inter.sum()) and torch.equal(mask_of(I), inter)
    U = A + B  # the union pattern exactly (a cancellation stays a stored zero)
    assert torch.equal(mask_of(U), mask_of(A) | mask_of(B))


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_sum_and_hadamard_gradcheck_in_both_values(dtype):
    A, _ = mat(n=5, m=4, dtype=dtype, seed=3)
    B, _ = mat(n=5, m=4, dtype=dtype, seed=4)
    va, vb = A.values.clone().requires_grad_(), B.values.clone().requires_grad_()
    for op in (lambda X, Y: X + Y, lambda X, Y: X - Y, lambda X, Y: X * Y,
               lambda X, Y: (X * Y) + X * 2):
        assert torch.autograd.gradcheck(
            lambda a, b: op(A.with_values(a), B.with_values(b)).to_dense(), (va, vb))


def test_batched_sum_and_hadamard_broadcast():
    A, D = mat(batch=3, seed=5)
    B, E = mat(seed=6)
    torch.testing.assert_close((A * B).to_dense(), D * E)
    torch.testing.assert_close((B * A).to_dense(), D * E)
    torch.testing.assert_close((A + B).to_dense(), D + E)
    C, F = mat(batch=3, seed=7)
    torch.testing.assert_close((A * C).to_dense(), D * F)
    with pytest.raises(ValueError, match="batch of 2 but A has 3"):
        A * mat(batch=2, seed=8)[0]


def test_duplicates_unsorted_and_edge_cases():
    # unsorted COO with duplicates: summed at construction, then combined
    r = torch.tensor([2, 0, 2, 1, 0, 2])
    c = torch.tensor([1, 0, 1, 2, 0, 0])
    v = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=torch.float64)
    A = dsla.SparseTensor(v, r, c, (3, 3))
    B = dsla.SparseTensor(torch.tensor([10.0, 20.0], dtype=torch.float64), [2, 1], [1, 1], (3, 3))
    D, E = A.to_dense(), B.to_dense()
    assert D[2, 1] == 4.0 and D[0, 0] == 7.0
    torch.testing.assert_close((A * B).to_dense(), D * E)
    assert (A * B).nnz == 1
    torch.testing.assert_close((A + B).to_dense(), D + E)
    # no common entry, 0 x 0, 0 nnz, 1 x 1
    Z = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (3, 3))
    assert (A * Z).nnz == 0 and (Z * A).nnz == 0 and (A + Z).nnz == A.nnz
    E0 = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                           torch.zeros(0, dtype=torch.long), (0, 0))
    assert (E0 * E0).shape == (0, 0) and (E0 + E0).nnz == 0 and (E0 + 1).nnz == 0
    O = dsla.SparseTensor(torch.tensor([3.0], dtype=torch.float64), [0], [0], (1, 1))
    assert (O * O).values.item() == 9.0 and (O + O).values.item() == 6.0


def test_mismatches_name_the_argument_and_the_fix():
    A, _ = mat()
    with pytest.raises(TypeError, match=r"'B' has dtype torch.float32 .* B.to\(torch.float64\)"):
        A * A.float()
    with pytest.raises(TypeError, match=r"B.to\(torch.float64\)"):
        A + A.float()
    with pytest.raises(ValueError, match="'B' has shape"):
        A * mat(n=6)[0]
    with pytest.raises(ValueError, match="'B' has shape"):
        A - mat(n=6)[0]
    with pytest.raises(TypeError, match="dividing by a sparse matrix"):
        A / A


def test_scalar_offsets_touch_stored_entries_only():
    A, D = mat()
    M = mask_of(A)
    torch.testing.assert_close((A + 1).to_dense(), torch.where(M, D + 1, D))
    torch.testing.assert_close((1 + A).to_dense(), torch.where(M, D + 1, D))
    torch.testing.assert_close((A - 2).to_dense(), torch.where(M, D - 2, D))
    torch.testing.assert_close((2 - A).to_dense(), torch.where(M, 2 - D, D))
    torch.testing.assert_close(torch.add(A, 1).to_dense(), torch.where(M, D + 1, D))
    s = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    (A + s).values.sum().backward()
    assert s.grad.item() == A.nnz  # differentiable in the scalar too
    assert same_pattern(A + 1, A)
    for dense in (D, torch.ones(6, dtype=torch.float64)):
        with pytest.raises(TypeError, match=r"A.to_dense\(\) \+ D"):
            A + dense
        with pytest.raises(TypeError, match=r"A.to_dense\(\) \+ D"):
            dense + A
        with pytest.raises(TypeError, match=r"A.to_dense\(\) \+ D"):
            A - dense
    assert "stored" in dsla.SparseTensor.__add__.__doc__


def test_product_with_dense_is_sampled_and_differentiable():
    A, D = mat()
    W = torch.randn(7, 6, dtype=torch.float64, requires_grad=True)
    M = mask_of(A)
    torch.testing.assert_close((A * W).to_dense(), D * W * M)
    torch.testing.assert_close((W * A).to_dense(), D * W * M)
    v = torch.randn(6, dtype=torch.float64)
    torch.testing.assert_close((A * v).to_dense(), D * v)  # column scaling
    u = torch.randn(7, 1, dtype=torch.float64)
    torch.testing.assert_close((A * u).to_dense(), D * u)  # row scaling
    torch.testing.assert_close((A / (u + 3)).to_dense(), D / (u + 3))
    assert torch.autograd.gradcheck(lambda W: (A * W).values, (W,))
    with pytest.raises(ValueError, match="broadcast"):
        A * torch.ones(5, dtype=torch.float64)


# ------------------------------------------------------------------------------- reductions
DIMS = [None, 0, 1]


def _dense_ref(D, op, dim, ord=None):
    if op == "norm":
        d = D if dim is not None else D.reshape(D.shape[:-2] + (-1,))
        return torch.linalg.vector_norm(d, ord, dim=(-1 if dim in (1, None) else -2))
    red = {"sum": torch.sum, "mean": torch.mean, "prod": torch.prod, "max": torch.amax,
           "min": torch.amin}[op]
    if dim is None:
        return red(D.reshape(D.shape[:-2] + (-1,)), -1)
    return red(D, dim - 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "max", "min"])
def test_reductions_match_dense(op, dim, dtype):
    A, D = mat(n=6, m=5, density=0.5, dtype=dtype, seed=11)
    # full rows and a full column, so that prod has nonzero entries to test
    D[1] = torch.randn(5, dtype=torch.float64).to(dtype)
    D[:, 3] = (torch.rand(6, dtype=torch.float64) + 0.5).to(dtype)
    A = dsla.SparseTensor.from_dense(D)
    if op in ("max", "min") and dtype.is_complex:
        with pytest.raises(TypeError, match="complex"):
            getattr(A, op)(dim)
        return
    got = getattr(A, op)(dim)
    torch.testing.assert_close(got, _dense_ref(D, op, dim), **tol(dtype))


@pytest.mark.parametrize("dim", DIMS)
def test_max_min_mean_sum_match_scipy(dim):
    A, _ = mat(n=9, m=8, density=0.3, seed=12)
    S = A.to_scipy()
    for op in ("max", "min", "mean", "sum"):
        want = getattr(S, op)(axis=dim)  # SciPy axis 1 = dim 1: one value per row
        want = np.asarray(want.todense() if sp.issparse(want) else want).ravel()
        got = getattr(A, op)(dim).reshape(-1).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ord", ["fro", 1, 2, 3.5, 0, float("inf"), float("-inf")])
@pytest.mark.parametrize("dim", [0, 1])
def test_vector_norms_of_rows_and_columns(ord, dim):
    A, D = mat(n=6, m=5, density=0.5, seed=13, dtype=torch.complex128)
    D[2] = 1 + torch.rand(5, dtype=torch.float64)
    A = dsla.SparseTensor.from_dense(D)
    torch.testing.assert_close(A.norm(ord, dim=dim),
                               torch.linalg.vector_norm(D, 2 if ord == "fro" else ord,
                                                        dim=dim - 2))
    torch.testing.assert_close(torch.norm(A, 2, dim=1), D.norm(dim=1))
    assert abs(A.norm().item() - torch.linalg.norm(D).item()) < 1e-12  # the matrix norm


def test_reductions_gradcheck():
    g = torch.Generator().manual_seed(14)
    D = torch.randn(5, 4, generator=g, dtype=torch.float64) * (torch.rand(5, 4, generator=g) < 0.6)
    D[0] = torch.tensor([1.5, -2.0, 0.7, 1.1], dtype=torch.float64)  # a full row
    D[:, 2] = torch.tensor([0.3, 1.7, -0.4, 2.2, 0.9], dtype=torch.float64)  # a full column
    D[4, :] = 0  # an empty row
    A = dsla.SparseTensor.from_dense(D)
    v = A.values.clone().requires_grad_()
    for op in ("sum", "mean", "prod", "max", "min"):
        for dim in DIMS:
            assert torch.autograd.gradcheck(lambda v: getattr(A.with_values(v), op)(dim), (v,)), \
                (op, dim)
    for ord in ("fro", 1, 3.0, float("inf")):
        for dim in (0, 1):
            assert torch.autograd.gradcheck(lambda v: A.with_values(v).norm(ord, dim=dim), (v,))
    # an explicit zero in a full row: prod's gradient is the product of the others
    w = A.values.detach().clone()
    w[0] = 0.0
    w.requires_grad_()
    A.with_values(w).prod(1)[0].backward()
    torch.testing.assert_close(w.grad[1:4], torch.zeros(3, dtype=torch.float64))
    full = D[0].clone()
    full[0] = 0
    torch.testing.assert_close(w.grad[0], full[1:].prod())
    # a zero row has a zero (not NaN) norm gradient
    g2 = torch.autograd.grad(A.with_values(v).norm(dim=1).sum(), v)[0]
    assert torch.isfinite(g2).all()


def test_reductions_of_batches_and_edge_cases():
    A, D = mat(n=5, m=4, density=0.5, batch=3, seed=15)
    for op in ("sum", "mean", "prod", "max", "min"):
        for dim in DIMS:
            torch.testing.assert_close(getattr(A, op)(dim), _dense_ref(D, op, dim))
    torch.testing.assert_close(A.norm(dim=1), D.norm(dim=-1))
    E = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (0, 0))
    assert E.sum().item() == 0 and E.prod().item() == 1 and E.mean().isnan()
    with pytest.raises(ValueError, match="empty matrix"):
        E.max()
    Z = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (3, 2))
    assert Z.max().item() == 0 and Z.min(1).tolist() == [0, 0, 0] and Z.prod(0).tolist() == [0, 0]
    assert Z.norm(dim=1).tolist() == [0, 0, 0] and Z.mean(0).tolist() == [0, 0]
    N = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (3, 0))
    assert N.prod(1).tolist() == [1, 1, 1] and N.sum(1).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="0 columns"):
        N.max(1)
    O = dsla.SparseTensor(torch.tensor([-3.0], dtype=torch.float64), [0], [0], (1, 1))
    assert O.max().item() == -3 and O.prod(1).item() == -3 and O.mean().item() == -3
    with pytest.raises(ValueError, match="argument 'dim'"):
        O.sum(2)
    with pytest.raises(ValueError, match="argument 'dim'"):
        O.max(dim=(0, 0))
    assert O.sum((0, 1)).item() == -3


def test_torch_reductions_dispatch():
    A, D = mat(seed=16)
    torch.testing.assert_close(torch.sum(A, 1), D.sum(1))
    torch.testing.assert_close(torch.sum(A), D.sum())
    torch.testing.assert_close(torch.mean(A, dim=0), D.mean(0))
    torch.testing.assert_close(torch.amax(A, 1), D.amax(1))
    torch.testing.assert_close(torch.amin(A, 0), D.amin(0))
    torch.testing.assert_close(torch.max(A), D.max())
    torch.testing.assert_close(torch.prod(A, 1), D.prod(1))
    with pytest.raises(TypeError, match="torch.amax"):
        torch.max(A, 1)
    with pytest.raises(TypeError, match="keepdim"):
        torch.sum(A, 1, keepdim=True)


# ------------------------------------------------------------------------------- factories
@pytest.mark.parametrize("dtype", DTYPES)
def test_tridiagonal_matches_scipy_diags(dtype):
    n = 6
    g = torch.Generator().manual_seed(17)
    lo, d, up = (torch.randn(k, generator=g, dtype=torch.float64).to(dtype)
                 for k in (n - 1, n, n - 1))
    T = dsla.tridiagonal(lo, d, up)
    S = sp.diags([lo.numpy(), d.numpy(), up.numpy()], [-1, 0, 1])
    torch.testing.assert_close(T.to_dense(), torch.from_numpy(S.toarray()).to(dtype))
    assert T.nnz == 3 * n - 2 and T.dtype == dtype
    Z = dsla.tridiagonal(torch.zeros(n - 1), torch.zeros(n), torch.zeros(n - 1))
    assert Z.nnz == 3 * n - 2  # zeros are stored: the pattern depends on n only
    assert dsla.tridiagonal(torch.ones(0), torch.ones(1), torch.ones(0)).to_dense().item() == 1
    assert dsla.tridiagonal(torch.ones(0), torch.ones(0), torch.ones(0)).shape == (0, 0)


def test_tridiagonal_gradcheck_batches_and_errors():
    lo, d, up = (torch.randn(k, dtype=torch.float64, requires_grad=True) for k in (3, 4, 3))
    assert torch.autograd.gradcheck(lambda a, b, c: dsla.tridiagonal(a, b, c).to_dense(),
                                    (lo, d, up))
    db = torch.randn(2, 4, dtype=torch.float64)
    Tb = dsla.tridiagonal(lo.detach(), db, up.detach())
    assert Tb.shape == (2, 4, 4)
    torch.testing.assert_close(Tb.to_dense()[1].diagonal(), db[1])
    torch.testing.assert_close(Tb.to_dense()[1].diagonal(-1), lo.detach())
    with pytest.raises(ValueError, match="'lower': expected n - 1 = 3"):
        dsla.tridiagonal(torch.ones(4, dtype=torch.float64), d, up)
    with pytest.raises(TypeError, match=r"'upper'.*upper.to\(torch.float64\)"):
        dsla.tridiagonal(lo, d, up.float())
    with pytest.raises(TypeError, match=r"'diag'.*torch.int64.*diag.to\(torch.float64\)"):
        dsla.tridiagonal(torch.ones(2), torch.ones(3, dtype=torch.int64), torch.ones(2))
    with pytest.raises(TypeError, match="'lower'"):
        dsla.tridiagonal([1.0], d, up)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.complex128])
@pytest.mark.parametrize("index", INDEX)
def test_kron_matches_scipy(dtype, index):
    A, D = mat(n=4, m=3, dtype=dtype, index=index, seed=18)
    B, E = mat(n=3, m=5, dtype=dtype, index=index, seed=19)
    K = dsla.kron(A, B)
    assert K.shape == (12, 15) and K.nnz == A.nnz * B.nnz
    W = sp.kron(A.to_scipy(), B.to_scipy())
    torch.testing.assert_close(K.to_dense(), torch.from_numpy(W.toarray()), **tol(dtype))
    torch.testing.assert_close(torch.kron(A, B).to_dense(), torch.kron(D, E), **tol(dtype))
    # CSR order built without a sort is what from_coo would give
    R = dsla.SparseTensor(K.values, K.row, K.col, K.shape)
    assert same_pattern(R, K)


def test_kron_gradcheck_batches_and_edge_cases():
    A, D = mat(n=3, m=3, seed=20)
    B, E = mat(n=2, m=3, seed=21)
    va, vb = A.values.clone().requires_grad_(), B.values.clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: dsla.kron(A.with_values(a), B.with_values(b)).to_dense(), (va, vb))
    Ab, Db = mat(n=3, m=3, seed=20, batch=2)
    torch.testing.assert_close(dsla.kron(Ab, B).to_dense(),
                               torch.stack([torch.kron(x, E) for x in Db]))
    Z = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (2, 2))
    assert dsla.kron(A, Z).nnz == 0 and dsla.kron(A, Z).shape == (6, 6)
    E0 = dsla.eye(0, dtype=torch.float64)
    assert dsla.kron(E0, A).shape == (0, 0) and dsla.kron(A, E0).shape == (0, 0)
    I2 = dsla.eye(2, dtype=torch.float64)
    torch.testing.assert_close(dsla.kron(I2, A).to_dense(), torch.block_diag(D, D))
    with pytest.raises(TypeError, match=r"'B' has dtype torch.float32.*B.to\(torch.float64\)"):
        dsla.kron(A, B.float())


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex64])
@pytest.mark.parametrize("index", INDEX)
def test_block_diag_matches_scipy_and_splits_back(dtype, index):
    blocks = [mat(n=3, m=3, dtype=dtype, index=index, seed=22)[0],
              mat(n=2, m=4, dtype=dtype, index=index, seed=23)[0],
              dsla.SparseTensor(torch.zeros(0, dtype=dtype), torch.zeros(0, dtype=index),
                                torch.zeros(0, dtype=index), (0, 0)),
              mat(n=1, m=1, density=1.0, dtype=dtype, index=index, seed=24)[0]]
    M = dsla.block_diag(blocks)
    W = sp.block_diag([b.to_scipy() for b in blocks])
    assert M.shape == W.shape
    torch.testing.assert_close(M.to_dense(), torch.from_numpy(W.toarray()))
    torch.testing.assert_close(torch.block_diag(*blocks).to_dense(), M.to_dense())
    torch.testing.assert_close(M.values, torch.cat([b.values for b in blocks]))
    parts = dsla.split_block_diag(M, [3, (2, 4), 0, 1])
    for p, b in zip(parts, blocks):
        assert p.shape == b.shape and same_pattern(p, b)
        torch.testing.assert_close(p.values, b.values)


def test_block_diag_gradcheck_batches_and_errors():
    A, D = mat(n=3, m=3, seed=25)
    B, E = mat(n=2, m=2, density=0.8, seed=26)
    va, vb = A.values.clone().requires_grad_(), B.values.clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: dsla.block_diag([A.with_values(a), B.with_values(b)]).to_dense(), (va, vb))
    M = dsla.block_diag([A, B]).with_values(torch.cat([va, vb]))
    assert torch.autograd.gradcheck(
        lambda v: [p.values for p in dsla.split_block_diag(M.with_values(v), [3, 2])][1],
        (torch.cat([va, vb]).detach().requires_grad_(),))
    Ab, Db = mat(n=3, m=3, seed=25, batch=2)
    Mb = dsla.block_diag([Ab, B])
    torch.testing.assert_close(Mb.to_dense(), torch.stack([torch.block_diag(x, E) for x in Db]))
    assert dsla.split_block_diag(Mb, [3, 2])[1].shape == (2, 2, 2)
    # scipy / dense / torch sparse blocks are accepted as matrices
    torch.testing.assert_close(dsla.block_diag([D, B.to_scipy()]).to_dense(),
                               torch.block_diag(D, E))
    with pytest.raises(ValueError, match="empty"):
        dsla.block_diag([])
    with pytest.raises(TypeError, match="list of matrices"):
        dsla.block_diag(A)
    with pytest.raises(TypeError, match=r"'matrices\[1\]' has dtype.*to\(torch.float64\)"):
        dsla.block_diag([A, B.float()])
    with pytest.raises(ValueError, match="batch sizes differ"):
        dsla.block_diag([Ab, mat(seed=1, batch=3)[0]])
    with pytest.raises(ValueError, match="add up to A's shape"):
        dsla.split_block_diag(M, [3, 3])
    full = dsla.SparseTensor.from_dense(torch.ones(5, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="entries outside.*check=False"):
        dsla.split_block_diag(full, [3, 2])
    p = dsla.split_block_diag(full, [3, 2], check=False)
    assert [q.nnz for q in p] == [9, 4]
    with pytest.raises(TypeError, match="'sizes"):
        dsla.split_block_diag(full, [2.5, 2.5])


def test_unsupported_torch_functions_are_still_refused():
    A, _ = mat()
    with pytest.raises(TypeError):
        torch.cumsum(A, 0)
    with pytest.raises(TypeError, match="sparse exponent"):
        torch.pow(2.0, A)


@CUDA
def test_algebra_on_cuda_matches_cpu():
    A, D = mat(n=30, m=20, density=0.2, seed=27)
    B, E = mat(n=30, m=20, density=0.2, seed=28)
    Ac, Bc = A.cuda(), B.cuda()
    for f in (lambda X, Y: X * Y, lambda X, Y: X + Y, lambda X, Y: X.exp() - 2,
              lambda X, Y: dsla.kron(X, Y.submatrix(torch.arange(3), torch.arange(2))),
              lambda X, Y: dsla.block_diag([X, Y]),
              lambda X, Y: dsla.split_block_diag(dsla.block_diag([X, Y]), [(30, 20)] * 2)[1]):
        got, want = f(Ac, Bc), f(A, B)
        assert got.device.type == "cuda"
        torch.testing.assert_close(got.to_dense().cpu(), want.to_dense())
    for op in ("sum", "mean", "prod", "max", "min"):
        for dim in DIMS:
            torch.testing.assert_close(getattr(Ac, op)(dim).cpu(), getattr(A, op)(dim))
    torch.testing.assert_close(Ac.norm(dim=1).cpu(), A.norm(dim=1))
    lo, d, up = (torch.randn(k, dtype=torch.float64, device="cuda") for k in (4, 5, 4))
    torch.testing.assert_close(dsla.tridiagonal(lo, d, up).to_dense().cpu(),
                               dsla.tridiagonal(lo.cpu(), d.cpu(), up.cpu()).to_dense())
    v = Ac.values.clone().requires_grad_()
    (Ac.with_values(v) * Bc).max(1).sum().backward()
    assert v.grad.device.type == "cuda"
