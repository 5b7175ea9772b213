"""Block-sparse matrices (dsla.BlockSparseTensor) and AMG on block systems, against SciPy's
bsr_matrix, dense torch products and finite differences (gradcheck)."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import dsla

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")


def random_bsr(nb, mb, r, c, density, seed, dtype=torch.float64):
    """A random BSR matrix and its SciPy twin."""
    rng = np.random.default_rng(seed)
    mask = rng.random((nb, mb)) < density
    br, bc = np.nonzero(mask)
    vals = rng.standard_normal((br.size, r, c))
    if dtype.is_complex:
        vals = vals + 1j * rng.standard_normal((br.size, r, c))
    A = dsla.BlockSparseTensor.from_coo(torch.from_numpy(br), torch.from_numpy(bc),
                                        torch.from_numpy(vals).to(dtype), (nb * r, mb * c))
    return A, sp.bsr_matrix((vals, bc, np.r_[0, np.cumsum(mask.sum(1))]),
                            shape=(nb * r, mb * c))


def block_system(n, K):
    """kron(poisson2d(n), K): an SPD block system with len(K) unknowns per node."""
    L = dsla.poisson2d(n).to_scipy()
    A0 = sp.kron(L, K).tocsr()
    S = dsla.SparseTensor.from_scipy(A0, torch.float64)
    return dsla.BlockSparseTensor.from_sparse(S, len(K)), A0


@pytest.mark.parametrize("r,c", [(1, 1), (2, 2), (3, 2), (2, 3)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.complex128])
def test_products_match_scipy(r, c, dtype):
    A, S = random_bsr(7, 5, r, c, 0.4, 1, dtype)
    tol = 1e-4 if dtype == torch.float32 else 1e-12
    assert A.blocksize == (r, c) and A.shape == (7 * r, 5 * c)
    np.testing.assert_allclose(A.to_dense().numpy(), S.toarray(), rtol=tol, atol=tol)
    np.testing.assert_allclose(A.to_sparse().to_dense().numpy(), S.toarray(), atol=tol)
    ref = A.to_scipy()
    assert np.array_equal(ref.indptr, S.indptr) and np.array_equal(ref.indices, S.indices)
    x = torch.randn(5 * c, dtype=dtype)
    np.testing.assert_allclose((A @ x).numpy(), S @ x.numpy(), rtol=tol, atol=tol)
    X = torch.randn(5 * c, 4, dtype=dtype)
    np.testing.assert_allclose((A @ X).numpy(), S @ X.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(A.T.to_dense().numpy(), S.T.toarray(), atol=tol)


@pytest.mark.parametrize("r,c,d", [(2, 2, 2), (2, 3, 1), (3, 1, 2)])
def test_block_product_matches_dense(r, c, d):
    A, _ = random_bsr(6, 5, r, c, 0.5, 2)
    B, _ = random_bsr(5, 4, c, d, 0.5, 3)
    C = A @ B
    assert C.blocksize == (r, d)
    torch.testing.assert_close(C.to_dense(), A.to_dense() @ B.to_dense())
    keys = C.block_row * 4 + C.col
    assert bool((keys[1:] > keys[:-1]).all())  # sorted, unique
    with pytest.raises(ValueError, match="block sizes must match"):
        A @ A


def test_from_coo_sums_duplicates_and_sorts():
    vals = torch.arange(12, dtype=torch.float64).reshape(3, 2, 2)
    A = dsla.BlockSparseTensor.from_coo([1, 0, 1], [0, 1, 0], vals, (4, 4))
    assert A.nnzb == 2 and A.crow.tolist() == [0, 1, 2] and A.col.tolist() == [1, 0]
    torch.testing.assert_close(A.values[1], vals[0] + vals[2])


def test_add_scale_and_batch():
    A, SA = random_bsr(5, 5, 2, 2, 0.4, 4)
    B, SB = random_bsr(5, 5, 2, 2, 0.4, 5)
    np.testing.assert_allclose((A + B).to_dense().numpy(), (SA + SB).toarray(), atol=1e-12)
    np.testing.assert_allclose((A - 2 * B).to_dense().numpy(), (SA - 2 * SB).toarray(),
                               atol=1e-12)
    Vb = torch.randn(3, A.nnzb, 2, 2, dtype=torch.float64)
    Ab = A.with_values(Vb)
    assert Ab.is_batched and Ab.batch_size == 3
    x = torch.randn(10, 2, dtype=torch.float64)
    y = Ab @ x
    for k in range(3):
        torch.testing.assert_close(y[k], A.with_values(Vb[k]).to_dense() @ x)
    torch.testing.assert_close(Ab.to_dense()[1], A.with_values(Vb[1]).to_dense())
    torch.testing.assert_close(Ab.to_sparse().to_dense()[2], A.with_values(Vb[2]).to_dense())


def test_block_det_slogdet_inv():
    A, _ = random_bsr(6, 6, 3, 3, 0.5, 6)
    dets = np.linalg.det(A.values.numpy())
    np.testing.assert_allclose(A.block_det().numpy(), dets, rtol=1e-10)
    sign, logabs = A.block_slogdet()
    np.testing.assert_allclose(sign.numpy() * np.exp(logabs.numpy()), dets, rtol=1e-10)
    Ai = A.block_inv()
    eye = torch.eye(3, dtype=torch.float64).expand(A.nnzb, 3, 3)
    torch.testing.assert_close(Ai.values @ A.values, eye, atol=1e-9, rtol=0)
    R, _ = random_bsr(3, 3, 2, 3, 0.9, 7)
    with pytest.raises(ValueError, match="square blocks"):
        R.block_det()


def test_gradients():
    A, _ = random_bsr(4, 3, 2, 2, 0.6, 8)
    v = A.values.clone().requires_grad_()
    x = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, x: A.with_values(v) @ x, (v, x))
    B, _ = random_bsr(3, 3, 2, 2, 0.6, 9)
    w = B.values.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda v, w: (A.with_values(v) @ B.with_values(w)).values,
                                    (v, w))
    assert torch.autograd.gradcheck(lambda v: A.with_values(v).block_det(), (v,))
    assert torch.autograd.gradcheck(lambda v: A.with_values(v).to_sparse().values, (v,))


def test_solve_and_its_gradient_match_dense():
    Ab, A0 = block_system(6, np.array([[2.0, 0.5], [0.5, 1.0]]))
    b = torch.randn(Ab.shape[0], dtype=torch.float64)
    for precond in ("amg", "block_jacobi", "jacobi"):
        x = dsla.solve(Ab, b, method="cg", precond=precond, rtol=1e-12)
        np.testing.assert_allclose(x.numpy(), sp.linalg.spsolve(A0.tocsc(), b.numpy()),
                                   rtol=1e-8, atol=1e-10)
    v = Ab.values.clone().requires_grad_()
    x = dsla.solve(Ab.with_values(v), b, method="cg", precond="amg", rtol=1e-13)
    (x * x).sum().backward()
    vd = Ab.values.clone().requires_grad_()
    xd = torch.linalg.solve(Ab.with_values(vd).to_dense(), b)
    (xd * xd).sum().backward()
    torch.testing.assert_close(v.grad, vd.grad, rtol=1e-7, atol=1e-9)


def test_amg_aggregates_nodes_and_beats_scalar_aggregation():
    """Block AMG: a node's unknowns share an aggregate, the near-nullspace is one constant per
    component, and CG converges in fewer iterations than with scalar aggregation when the
    components are scaled differently."""
    K = np.array([[4.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    Ab, _ = block_system(24, K)
    H = dsla.amg(Ab)
    assert H.stats()["near_nullspace_dim"] == 3
    agg = H.aggregates(0).view(-1, 3)
    assert bool((agg == agg[:, :1]).all())  # every node whole in one aggregate
    ns = H.near_nullspace(0)
    torch.testing.assert_close(ns, torch.eye(3, dtype=torch.float64).repeat(24 * 24, 1))
    b = torch.ones(Ab.shape[0], dtype=torch.float64)
    _, blk = dsla.solve(Ab, b, method="cg", precond="amg", rtol=1e-8, return_info=True)
    _, sca = dsla.solve(Ab, b, method="cg", precond="amg", rtol=1e-8, return_info=True,
                        precond_options=dict(block_size=1))
    assert blk.converged and blk.iterations < sca.iterations
    assert blk.iterations <= 15  # measured 12 (scalar aggregation: 36)


def test_amg_block_size_with_a_user_near_nullspace():
    Ab, A0 = block_system(16, np.array([[2.0, 0.5], [0.5, 1.0]]))
    S = Ab.to_sparse()
    ns = torch.eye(2, dtype=torch.float64).repeat(S.shape[0] // 2, 1)
    ns = torch.cat([ns, torch.linspace(0, 1, S.shape[0], dtype=torch.float64)[:, None]], 1)
    H = dsla.amg(S, block_size=2, near_nullspace=ns)
    assert H.stats()["near_nullspace_dim"] == 3
    b = torch.ones(S.shape[0], dtype=torch.float64)
    x, info = dsla.solve(S, b, method="cg", M=H, rtol=1e-10, return_info=True)
    assert info.converged
    np.testing.assert_allclose(x.numpy(), sp.linalg.spsolve(A0.tocsc(), b.numpy()), rtol=1e-7)


def test_edge_cases_and_errors():
    E = dsla.BlockSparseTensor(torch.zeros(0, 2, 2, dtype=torch.float64),
                               torch.zeros(4, dtype=torch.long), torch.zeros(0, dtype=torch.long),
                               (6, 4))
    assert E.nnzb == 0 and (E @ torch.ones(4, dtype=torch.float64)).abs().sum() == 0
    assert E.to_sparse().nnz == 0
    one = dsla.BlockSparseTensor.from_dense(torch.tensor([[4.0]], dtype=torch.float64), 1)
    torch.testing.assert_close(dsla.solve(one, torch.tensor([2.0], dtype=torch.float64)),
                               torch.tensor([0.5], dtype=torch.float64))
    D = torch.randn(6, 4, dtype=torch.float64)
    D[:2, :2] = 0
    F = dsla.BlockSparseTensor.from_dense(D, (2, 2))
    assert F.nnzb == 5
    torch.testing.assert_close(F.to_dense(), D)
    v = torch.zeros(1, 2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="shape"):
        dsla.BlockSparseTensor(v, [0, 1], [0], (3, 2))
    with pytest.raises(ValueError, match="block columns must be in"):
        dsla.BlockSparseTensor(v, [0, 1], [5], (2, 2))
    with pytest.raises(ValueError, match="sorted and unique"):
        dsla.BlockSparseTensor(torch.zeros(2, 2, 2), [0, 2], [1, 0], (2, 4))
    with pytest.raises(ValueError, match="crow"):
        dsla.BlockSparseTensor(v, [0, 2], [0], (2, 2))
    with pytest.raises(TypeError, match="torch.int32 or torch.int64"):
        dsla.BlockSparseTensor(v, torch.tensor([0.0, 1.0]), [0], (2, 2))
    with pytest.raises(TypeError, match="floating or complex"):
        dsla.BlockSparseTensor(torch.zeros(1, 2, 2, dtype=torch.long), [0, 1], [0], (2, 2))
    with pytest.raises(ValueError, match="argument 'x'"):
        F @ torch.ones(5, dtype=torch.float64)
    with pytest.raises(ValueError, match="block_size"):
        dsla.amg(dsla.poisson2d(5), block_size=2)  # 25 rows: not whole blocks of 2


@needs_cuda
def test_cuda_matches_cpu():
    A, _ = random_bsr(9, 9, 3, 3, 0.4, 10)
    A = A + dsla.BlockSparseTensor.from_coo(torch.arange(9), torch.arange(9),
                                            10 * torch.eye(3, dtype=torch.float64).repeat(9, 1, 1),
                                            (27, 27))
    Ag = A.cuda()
    x = torch.randn(27, 2, dtype=torch.float64)
    torch.testing.assert_close((Ag @ x.cuda()).cpu(), A @ x)
    torch.testing.assert_close((Ag @ Ag).to_dense().cpu(), (A @ A).to_dense())
    torch.testing.assert_close(Ag.block_det().cpu(), A.block_det())
    Kb, A0 = block_system(32, np.array([[2.0, 0.5], [0.5, 1.0]]))
    b = torch.ones(Kb.shape[0], dtype=torch.float64)
    xg, info = dsla.solve(Kb.cuda(), b.cuda(), method="cg", precond="amg", rtol=1e-10,
                          return_info=True)
    assert info.converged and info.iterations <= 25
    np.testing.assert_allclose(xg.cpu().numpy(), sp.linalg.spsolve(A0.tocsc(), b.numpy()),
                               rtol=1e-7)
