"""SparseTensor against dense torch and SciPy references: construction, products, gradients."""
import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
import torch

import dsla

DTYPES = [torch.float32, torch.float64, torch.complex64, torch.complex128]


def tol(dtype):
    return 1e-4 if dtype in (torch.float32, torch.complex64) else 1e-11


def rand_coo(n, m, nnz, dtype=torch.float64, seed=0, dup=True):
    g = torch.Generator().manual_seed(seed)
    row = torch.randint(0, n, (nnz,), generator=g)
    col = torch.randint(0, m, (nnz,), generator=g)
    val = torch.randn(nnz, generator=g, dtype=torch.float64)
    if dtype.is_complex:
        val = val + 1j * torch.randn(nnz, generator=g, dtype=torch.float64)
    return row, col, val.to(dtype)


def dense_of(row, col, val, shape):
    D = torch.zeros(shape, dtype=val.dtype)
    D.index_put_((row, col), val, accumulate=True)
    return D


@pytest.mark.parametrize("dtype", DTYPES)
def test_construction_unsorted_duplicates_matches_dense(dtype):
    row, col, val = rand_coo(30, 20, 200, dtype)
    A = dsla.SparseTensor(val, row, col, (30, 20))
    D = dense_of(row, col, val, (30, 20))
    assert A.shape == (30, 20)
    assert A.nnz <= 200
    torch.testing.assert_close(A.to_dense(), D, rtol=tol(dtype), atol=tol(dtype))
    x = torch.randn(20, dtype=dtype)
    torch.testing.assert_close(A @ x, D @ x, rtol=tol(dtype), atol=tol(dtype))
    X = torch.randn(20, 4, dtype=dtype)
    torch.testing.assert_close(A @ X, D @ X, rtol=tol(dtype), atol=tol(dtype))
    y = torch.randn(30, dtype=dtype)
    torch.testing.assert_close(A.rmatmul(y), D.T @ y, rtol=tol(dtype), atol=tol(dtype))
    torch.testing.assert_close(A.T.to_dense(), D.T)
    torch.testing.assert_close(A.H.to_dense(), D.conj().T)


def test_int64_indices_and_int32_default():
    row, col, val = rand_coo(10, 10, 30)
    A = dsla.SparseTensor(val, row.int(), col.int(), (10, 10))
    assert A.index_dtype == torch.int32
    B = dsla.SparseTensor.from_csr(A.crow.long(), A.col.long(), A.values, (10, 10))
    assert B.index_dtype == torch.int64
    x = torch.randn(10, dtype=torch.float64)
    torch.testing.assert_close(A @ x, B @ x)


def test_edge_cases_empty_and_one_by_one():
    E = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (0, 0))
    assert (E @ torch.zeros(0, dtype=torch.float64)).shape == (0,)
    Z = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (4, 3))
    assert torch.equal(Z @ torch.ones(3, dtype=torch.float64), torch.zeros(4, dtype=torch.float64))
    O = dsla.SparseTensor(torch.tensor([2.0], dtype=torch.float64), [0], [0], (1, 1))
    assert (O @ torch.tensor([3.0], dtype=torch.float64)).item() == 6.0


def test_bad_input_messages():
    with pytest.raises(IndexError, match="'row'"):
        dsla.SparseTensor(torch.ones(1, dtype=torch.float64), [5], [0], (3, 3))
    with pytest.raises(IndexError, match="'col'"):
        dsla.SparseTensor(torch.ones(1, dtype=torch.float64), [0], [-1], (3, 3))
    with pytest.raises(ValueError, match="NaN"):
        dsla.SparseTensor(torch.tensor([float("nan")], dtype=torch.float64), [0], [0], (3, 3))
    with pytest.raises(TypeError, match="'values'"):
        dsla.SparseTensor(torch.ones(1, dtype=torch.int32), [0], [0], (3, 3))
    with pytest.raises(ValueError, match="'col'"):
        dsla.SparseTensor(torch.ones(2, dtype=torch.float64), [0, 1], [0], (3, 3))
    A = dsla.poisson2d(3)
    with pytest.raises(ValueError, match="'x'"):
        A @ torch.ones(8, dtype=torch.float64)
    with pytest.raises(TypeError, match="dtype"):
        A @ torch.ones(9, dtype=torch.float32)
    with pytest.raises(ValueError, match="duplicate"):
        dsla.SparseTensor(torch.ones(2, dtype=torch.float64), [0, 0], [1, 1], (2, 2),
                          sum_duplicates=False)


def test_batched_same_pattern():
    A = dsla.poisson2d(4)
    B = 3
    vals = A.values.unsqueeze(0) * torch.arange(1, B + 1, dtype=torch.float64).unsqueeze(1)
    Ab = A.with_values(vals)
    assert Ab.shape == (B, 16, 16) and Ab.is_batched
    D = Ab.to_dense()
    x = torch.randn(B, 16, dtype=torch.float64)
    torch.testing.assert_close(Ab @ x, torch.bmm(D, x.unsqueeze(-1)).squeeze(-1))
    X = torch.randn(B, 16, 2, dtype=torch.float64)
    torch.testing.assert_close(Ab @ X, torch.bmm(D, X))
    x1 = torch.randn(16, dtype=torch.float64)
    torch.testing.assert_close(Ab @ x1, D @ x1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_gradcheck_matmul(dtype):
    row, col, val = rand_coo(8, 6, 20, dtype, seed=3)
    A = dsla.SparseTensor(val, row, col, (8, 6))
    v = A.values.detach().clone().requires_grad_()
    X = torch.randn(6, 2, dtype=dtype, requires_grad=True)
    f = lambda v, X: A.with_values(v) @ X  # noqa: E731
    assert torch.autograd.gradcheck(f, (v, X))
    assert torch.autograd.gradgradcheck(f, (v, X))
    y = torch.randn(8, 3, dtype=dtype, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, y: A.with_values(v).rmatmul(y), (v, y))


def test_gradcheck_batched_and_broadcast():
    A = dsla.poisson2d(3)
    v = (A.values.unsqueeze(0).repeat(2, 1) + 0.1 * torch.randn(2, A.nnz, dtype=torch.float64))
    v.requires_grad_()
    x = torch.randn(9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, x: A.with_values(v) @ x, (v, x))


def test_gradient_through_coo_construction_and_dense():
    row, col, val = rand_coo(6, 6, 25, seed=5)
    val.requires_grad_()
    x = torch.randn(6, dtype=torch.float64)
    f = lambda val: dsla.SparseTensor(val, row, col, (6, 6)) @ x  # noqa: E731
    assert torch.autograd.gradcheck(f, (val,))
    # from_dense keeps the nonzero pattern, so its gradient is the mask of stored entries
    # (gradcheck cannot be used: perturbing a zero changes the pattern).
    mask = torch.rand(5, 5) > 0.4
    D = (torch.randn(5, 5, dtype=torch.float64) * mask).requires_grad_()
    W = torch.randn(5, 5, dtype=torch.float64)
    (dsla.SparseTensor.from_dense(D).to_dense() * W).sum().backward()
    torch.testing.assert_close(D.grad, W * mask)


def test_structure_ops_vs_scipy():
    A = dsla.random_sparse(40, 30, 0.1, seed=2)
    S = A.to_scipy()
    D = torch.from_numpy(S.toarray())
    torch.testing.assert_close(A.to_dense(), D)
    torch.testing.assert_close(A.sum(1), torch.from_numpy(np.asarray(S.sum(1)).ravel()))
    torch.testing.assert_close(A.sum(0), torch.from_numpy(np.asarray(S.sum(0)).ravel()))
    assert abs(A.norm().item() - sp.linalg.norm(S)) < 1e-10
    assert abs(A.norm(1).item() - sp.linalg.norm(S, 1)) < 1e-10
    assert abs(A.norm("inf").item() - sp.linalg.norm(S, np.inf)) < 1e-10
    rows, cols = torch.tensor([5, 1, 9]), torch.tensor([0, 7, 3])
    torch.testing.assert_close(A.submatrix(rows, cols).to_dense(),
                               torch.from_numpy(S[rows.numpy()][:, cols.numpy()].toarray()))
    B = dsla.random_sparse(40, 30, 0.1, seed=9)
    torch.testing.assert_close((A - B).to_dense(), D - B.to_dense())
    torch.testing.assert_close((2 * A).to_dense(), 2 * D)
    back = dsla.SparseTensor.from_scipy(S)
    torch.testing.assert_close(back.to_dense(), D)
    torch.testing.assert_close(dsla.SparseTensor.from_torch(A.to_torch()).to_dense(), D)
    torch.testing.assert_close(
        dsla.SparseTensor.from_torch(A.to_torch(torch.sparse_coo)).to_dense(), D)


def test_symmetry_and_diagonal():
    assert dsla.poisson2d(5).is_symmetric()
    assert dsla.poisson3d(3).is_symmetric()
    assert not dsla.convdiff2d(5, 2.0).is_symmetric()
    assert dsla.random_spd(30, 0.2, seed=1).is_symmetric()
    A = dsla.poisson2d(4)
    torch.testing.assert_close(A.diagonal(), torch.full((16,), 4.0, dtype=torch.float64))


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("shape", [(7, 7), (5, 9), (9, 5), (1, 1), (0, 0)])
def test_diagonal_with_missing_entries_matches_dense(device, index_dtype, shape):
    g = torch.Generator().manual_seed(sum(shape))
    D = torch.randn(shape, generator=g, dtype=torch.float64)
    D[torch.rand(shape, generator=g) < 0.5] = 0  # some diagonal entries are not stored
    S = sp.csr_matrix(D.numpy())
    A = dsla.SparseTensor.from_csr(torch.as_tensor(S.indptr).to(index_dtype),
                                   torch.as_tensor(S.indices).to(index_dtype),
                                   torch.as_tensor(S.data), shape).to(device)
    torch.testing.assert_close(A.diagonal().cpu(), torch.diagonal(D))
    # NaN / Inf anywhere in the values is refused by a solve's input check
    if shape == (7, 7) and A.nnz:
        v = A.values.clone()
        v[-1] = float("nan")
        with pytest.raises(ValueError, match="NaN or Inf"):
            dsla.solve(A.with_values(v), torch.ones(7, dtype=torch.float64, device=device),
                       method="gmres")


def test_generators_match_scipy_stencils():
    n = 6
    A = dsla.poisson2d(n).to_scipy()
    T = sp.diags([-1, 2, -1], [-1, 0, 1], shape=(n, n))
    ref = sp.kron(sp.eye(n), T) + sp.kron(T, sp.eye(n))
    assert abs(A - ref).max() == 0
    assert dsla.generate("poisson3d:4").shape == (64, 64)
    with pytest.raises(ValueError, match="problem"):
        dsla.generate("bogus:3")


def test_dtype_and_device_conversion():
    A = dsla.poisson2d(3)
    assert A.to(torch.float32).dtype == torch.float32
    assert A.float().double().dtype == torch.float64
    assert A.to("cpu").device.type == "cpu"
    with pytest.raises(TypeError):
        A.to(dtype=torch.int8)


def test_real_matrices_match_scipy(data_dir):
    for name in ["bcsstk03", "orsirr_1", "young1c", "G51", "zenios"]:
        path = data_dir / f"{name}.mtx"
        S = sp.csr_matrix(scipy.io.mmread(str(path)))
        A = dsla.SparseTensor.from_scipy(S)
        x = torch.randn(S.shape[1], dtype=A.dtype)
        ref = torch.from_numpy(S @ x.numpy())
        torch.testing.assert_close(A @ x, ref, rtol=1e-10, atol=1e-8)


def test_spy_png(tmp_path):
    pytest.importorskip("matplotlib")
    fig = dsla.spy(dsla.poisson2d(8), tmp_path / "spy.png")
    assert (tmp_path / "spy.png").stat().st_size > 1000
    assert fig is not None


# ---------------------------------------------------------------- bad input (issue: defects)
def _v3():
    return torch.ones(3, dtype=torch.float64)


@pytest.mark.parametrize("rows", [[0, 1, 5], [0, -1, 2], [0, 1, 2**40]])
def test_coo_index_out_of_range_refused_even_without_check(rows):
    # check=False used to skip the bounds check: a row of 5 crashed, -1 corrupted the heap.
    with pytest.raises(IndexError, match="argument 'row'"):
        dsla.SparseTensor(_v3(), torch.tensor(rows), torch.tensor([0, 1, 2]), (3, 3), check=False)
    with pytest.raises(IndexError, match="argument 'col'"):
        dsla.SparseTensor(_v3(), torch.tensor([0, 1, 2]), torch.tensor(rows), (3, 3), check=False)


def test_csr_structure_validated_even_without_check():
    crow = torch.tensor([0, 1, 2, 3])
    with pytest.raises(IndexError, match="argument 'col'"):
        dsla.SparseTensor.from_csr(crow, torch.tensor([0, 7, 2]), _v3(), (3, 3), check=False)
    with pytest.raises(ValueError, match="argument 'crow'"):
        dsla.SparseTensor.from_csr(torch.tensor([0, 2, 1, 3]), torch.tensor([0, 1, 2]), _v3(),
                                   (3, 3), check=False)
    with pytest.raises(ValueError, match="argument 'crow'"):
        dsla.SparseTensor.from_csr(torch.tensor([0, 1, 2, 9]), torch.tensor([0, 1, 2]), _v3(),
                                   (3, 3), check=False)
    # check=False still skips the NaN scan (documented), and a valid matrix works.
    A = dsla.SparseTensor.from_csr(crow, torch.tensor([0, 1, 2]),
                                   torch.tensor([1.0, float("nan"), 3.0], dtype=torch.float64),
                                   (3, 3), check=False)
    assert A.nnz == 3
    with pytest.raises(ValueError, match="NaN or Inf"):
        dsla.SparseTensor.from_csr(crow, torch.tensor([0, 1, 2]), A.values, (3, 3))


@pytest.mark.parametrize("shape", [(2.9, 3), (3, 2.0), ("3", 3), (True, 3)])
def test_non_integer_shape_refused(shape):
    with pytest.raises(TypeError, match="argument 'shape'"):
        dsla.SparseTensor(_v3(), torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2]), shape)


def test_shape_past_int64_refused():
    r, c = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="argument 'shape'"):
        dsla.SparseTensor(_v3(), r, c, (2**63 - 1, 3))  # rows + 1 row pointers overflow
    with pytest.raises(ValueError, match="argument 'shape'"):
        dsla.SparseTensor(_v3(), r, c, (2**64, 3))
    with pytest.raises(ValueError, match="argument 'shape'"):
        dsla.SparseTensor(_v3(), r, c, (-1, 3))
    # NumPy and 0-d tensor integers are integers.
    np = pytest.importorskip("numpy")
    A = dsla.SparseTensor(_v3(), r, c, (np.int64(2), torch.tensor(3)))
    assert A.shape == (2, 3)


@pytest.mark.parametrize("n", [2.5, 2.0, "4", None, True])
def test_generators_refuse_non_integer_sizes(n):
    for gen in (dsla.poisson2d, dsla.poisson3d, dsla.aniso2d, dsla.convdiff2d):
        with pytest.raises(TypeError, match="argument 'n'"):
            gen(n)


def test_generators_refuse_sizes_that_overflow():
    for gen, n in ((dsla.poisson2d, 2**32), (dsla.poisson2d, 2**31), (dsla.poisson3d, 2**21),
                   (dsla.aniso2d, 2**32), (dsla.convdiff2d, 2**40), (dsla.poisson2d, 2**64)):
        with pytest.raises(ValueError, match="argument 'n'"):
            gen(n)
    with pytest.raises(ValueError, match="argument 'n'"):
        dsla.generate("poisson2d:4294967296")
    with pytest.raises(ValueError, match="argument 'problem'"):
        dsla.generate("poisson2d:99999999999999999999999")
    for spec in ("poisson2d:2.5", "poisson2d:1e3", "poisson3d:", "poisson2d:x", "poisson2d: 4"):
        with pytest.raises(ValueError, match="argument 'problem'"):
            dsla.generate(spec)
    with pytest.raises(ValueError, match="argument 'density'"):
        dsla.random_sparse(2**40, 2**40, 1.0)


def test_from_torch_coo_keeps_autograd():
    i = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]])  # (1, 1) twice: coalesce sums it
    v = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64, requires_grad=True)
    A = dsla.SparseTensor.from_torch(torch.sparse_coo_tensor(i, v, (2, 2)))
    assert A.values.requires_grad
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    (A @ x).sum().backward()
    # d(sum(A x))/dv_k = x[col_k], duplicates each get the gradient of their summed entry.
    assert torch.equal(v.grad, torch.tensor([1.0, 1.0, 2.0, 2.0], dtype=torch.float64))


def test_from_torch_csr_checks_row_pointers():
    # torch's unchecked constructor lets decreasing row pointers through.
    args = (torch.tensor([0, 2, 1]), torch.tensor([0, 1]),
            torch.tensor([1.0, 2.0], dtype=torch.float64), (2, 2))
    if hasattr(torch, "_sparse_csr_tensor_unsafe"):  # torch 1.13
        t = torch._sparse_csr_tensor_unsafe(*args)
    else:  # torch 2.x
        t = torch.sparse_csr_tensor(*args, check_invariants=False)
    with pytest.raises(ValueError, match="crow_indices"):
        dsla.SparseTensor.from_torch(t)
