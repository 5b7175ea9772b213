"""A SparseTensor behaves like a torch object (issue #16, item 6): pickle, copy.deepcopy,
torch.save/torch.load; torch.matmul(A, x) and x @ A; .to(dtype) / .float() / .double();
A.det() / A.logdet() / A.slogdet(); dsla.eye, dsla.diag; from_scipy / to_scipy. References:
the dense matrix with torch.linalg, SciPy, gradcheck."""
import copy
import io
import pickle

import pytest
import scipy.sparse as sp
import torch

import dsla


def _mat(n=7, dtype=torch.float64, seed=0, index=torch.int64):
    g = torch.Generator().manual_seed(seed)
    D = torch.randn(n, n, generator=g, dtype=torch.float64) * (torch.rand(n, n, generator=g) < 0.4)
    D = D + torch.eye(n, dtype=torch.float64) * n
    if dtype.is_complex:
        D = D + 1j * torch.randn(n, n, generator=g, dtype=torch.float64) * (D != 0)
    D = D.to(dtype)
    r, c = D.nonzero(as_tuple=True)
    return dsla.SparseTensor(D[r, c], r.to(index), c.to(index), (n, n)), D


def _same(A, B):
    assert type(B) is dsla.SparseTensor
    assert B.shape == A.shape and B.dtype == A.dtype and B.index_dtype == A.index_dtype
    assert torch.equal(B.crow, A.crow) and torch.equal(B.col, A.col)
    assert torch.equal(B.values.detach(), A.values.detach())


CASES = [
    dict(dtype=torch.float64), dict(dtype=torch.float32), dict(dtype=torch.complex128),
    dict(dtype=torch.float64, index=torch.int32), dict(dtype=torch.float64, n=1),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['dtype']}-n{c.get('n', 7)}")
def test_pickle_deepcopy_and_torch_save_round_trip(case):
    A, _ = _mat(**case)
    _same(A, pickle.loads(pickle.dumps(A)))
    C = copy.deepcopy(A)
    _same(A, C)
    C.values.data.mul_(2)  # a deep copy owns its values
    assert not torch.equal(C.values, A.values)
    buf = io.BytesIO()
    torch.save({"A": A, "list": [A, A.T]}, buf)
    buf.seek(0)
    back = torch.load(buf)  # torch >= 2.6: weights_only=True by default, dsla is allow-listed
    _same(A, back["A"])
    _same(A.T, back["list"][1])


def test_round_trips_of_empty_and_batched_matrices():
    E = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.int64),
                          torch.zeros(0, dtype=torch.int64), (0, 0))
    _same(E, pickle.loads(pickle.dumps(E)))
    A, _ = _mat()
    B = A.with_values(torch.stack([A.values, 2 * A.values]))
    Bp = pickle.loads(pickle.dumps(B))
    assert Bp.is_batched and Bp.shape == B.shape
    assert torch.equal(Bp.values, B.values)


def test_deepcopy_keeps_requires_grad_of_a_leaf_and_refuses_a_non_leaf_as_torch_does():
    A, _ = _mat()
    v = A.values.clone().requires_grad_()
    C = copy.deepcopy(A.with_values(v))
    assert C.requires_grad and C.values is not v and C.values.is_leaf
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(A.with_values(v * 2))
    P = pickle.loads(pickle.dumps(A.with_values(v)))
    assert P.requires_grad


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_torch_matmul_and_x_at_A_match_dense(dtype):
    A, D = _mat(dtype=dtype)
    x = torch.randn(7, dtype=dtype)
    X = torch.randn(7, 3, dtype=dtype)
    Y = torch.randn(4, 7, dtype=dtype)
    tol = dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.matmul(A, x), D @ x, **tol)
    torch.testing.assert_close(torch.matmul(A, X), D @ X, **tol)
    torch.testing.assert_close(torch.mm(A, X), D @ X, **tol)
    torch.testing.assert_close(torch.mv(A, x), D @ x, **tol)
    torch.testing.assert_close(x @ A, x @ D, **tol)
    torch.testing.assert_close(Y @ A, Y @ D, **tol)
    torch.testing.assert_close(torch.matmul(Y, A), Y @ D, **tol)
    torch.testing.assert_close(Y.matmul(A), Y @ D, **tol)


def test_x_at_A_of_a_rectangular_and_a_batched_matrix():
    D = torch.randn(5, 3, dtype=torch.float64) * (torch.rand(5, 3) < 0.6)
    A = dsla.SparseTensor.from_dense(D)
    Y = torch.randn(2, 5, dtype=torch.float64)
    torch.testing.assert_close(Y @ A, Y @ D)
    B = A.with_values(torch.stack([A.values, -3 * A.values]))
    Db = B.to_dense()
    Yb = torch.randn(2, 4, 5, dtype=torch.float64)
    torch.testing.assert_close(Yb @ B, Yb @ Db)


def test_x_at_A_is_differentiable_in_values_and_x():
    A, _ = _mat(n=5)
    v = A.values.clone().requires_grad_()
    x = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, x: x @ A.with_values(v), (v, x))
    assert torch.autograd.gradcheck(lambda v, x: torch.matmul(A.with_values(v), x.T), (v, x))


def test_unsupported_torch_functions_are_refused_by_torch():
    A, _ = _mat()
    # torch 1.13: "no implementation found"; torch 2.x: "Multiple dispatch failed ... returned
    # NotImplemented" — both are torch refusing, which is what is asserted.
    with pytest.raises(TypeError, match="no implementation found|returned NotImplemented"):
        torch.cumsum(A, 0)  # (torch.add(A, 1) is handled since issue #19 item 2)
    with pytest.raises(TypeError, match="torch.Tensor"):
        A.__rmatmul__([1.0] * 7)


def test_dtype_conversions():
    A, D = _mat()
    assert A.float().dtype == torch.float32 and A.double().dtype == torch.float64
    assert A.to(torch.float32).dtype == torch.float32
    assert A.to(dtype=torch.complex128).dtype == torch.complex128
    torch.testing.assert_close(A.float().to_dense(), D.float())
    with pytest.raises(TypeError, match="dtype"):
        A.to(torch.int16)


@pytest.mark.direct
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_det_methods_and_torch_linalg_functions_match_dense(dtype):
    A, D = _mat(dtype=dtype)
    sign, logabs = torch.linalg.slogdet(D)
    torch.testing.assert_close(A.det(), torch.linalg.det(D), rtol=1e-10, atol=0)
    s, la = A.slogdet()
    torch.testing.assert_close(s, sign, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(la, logabs, rtol=1e-10, atol=0)
    torch.testing.assert_close(torch.det(A), torch.linalg.det(D), rtol=1e-10, atol=0)
    torch.testing.assert_close(torch.linalg.slogdet(A)[1], logabs, rtol=1e-10, atol=0)
    if not dtype.is_complex:
        torch.testing.assert_close(A.logdet(), torch.logdet(D), rtol=1e-10, atol=0)
        torch.testing.assert_close(torch.logdet(A), torch.logdet(D), rtol=1e-10, atol=0)


@pytest.mark.parametrize("n,m", [(4, None), (3, 5), (5, 2), (0, None), (1, None)])
def test_eye_matches_torch_eye(n, m):
    E = dsla.eye(n, m, dtype=torch.float64)
    ref = torch.eye(n, n if m is None else m, dtype=torch.float64)
    assert E.shape == tuple(ref.shape) and E.nnz == min(ref.shape)
    assert torch.equal(E.to_dense(), ref)
    assert dsla.eye(3).dtype == torch.get_default_dtype()
    with pytest.raises(ValueError, match="'n'"):
        dsla.eye(-1)


@pytest.mark.parametrize("k", [0, 1, -2])
def test_diag_matches_torch_diag_and_is_differentiable(k):
    v = torch.randn(4, dtype=torch.float64, requires_grad=True)
    D = dsla.diag(v, k)
    torch.testing.assert_close(D.to_dense(), torch.diag(v, k))
    x = torch.randn(D.shape[1], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda v: dsla.diag(v, k) @ x, (v,))
    A, Dd = _mat()
    torch.testing.assert_close(dsla.diag(A), torch.diag(Dd))
    with pytest.raises(ValueError, match="'diagonal'"):
        dsla.diag(A, 1)
    with pytest.raises(TypeError, match="'input'"):
        dsla.diag([1.0, 2.0])


def test_scipy_round_trip():
    A, D = _mat()
    S = A.to_scipy()
    assert isinstance(S, sp.csr_matrix)
    torch.testing.assert_close(torch.from_numpy(S.toarray()), D)
    _same(A.to(dtype=torch.float64), dsla.SparseTensor.from_scipy(S).to(dtype=torch.float64))
    assert dsla.SparseTensor.from_scipy(sp.eye(3, format="coo", dtype=int)).dtype == torch.float64
