"""Batch shapes (issue #19 item 1): any number of leading batch dimensions on a SparseTensor,
checked against loops over the members with the unbatched result and dense torch.linalg
references."""
import copy
import io
import itertools
import pickle

import pytest
import torch

import dsla

SHAPES = [(), (3,), (2, 3), (2, 1, 3)]


def members(batch):
    return list(itertools.product(*[range(b) for b in batch]))


def mat(batch=(), dtype=torch.float64, seed=0, n=9, spd=False):
    """A nonsymmetric (or SPD) matrix on the convdiff2d(3) pattern with batch shape ``batch``,
    diagonally dominant, and its dense form."""
    P = dsla.convdiff2d(3, 1.0)
    g = torch.Generator().manual_seed(seed)
    real = torch.float64 if not dtype.is_complex else torch.float64
    v = torch.rand(batch + (P.nnz,), generator=g, dtype=real) - 0.5
    if dtype.is_complex:
        v = torch.complex(v, torch.rand(batch + (P.nnz,), generator=g, dtype=real) - 0.5)
    v = v + 6.0 * (P.row == P.col)
    A = dsla.SparseTensor(v.to(dtype), P.row, P.col, batch + (n, n))
    if spd:
        A = (A + A.H) * 0.5
    return A, A.to_dense()


def is_vector(x, batch):
    """dsla's rule: x [n], or [*S, n] with as many batch dimensions as A, each A's or 1."""
    return x.dim() == 1 or (bool(batch) and x.dim() == len(batch) + 1 and x.shape[-1] == 9
                            and all(a in (1, b) for a, b in zip(x.shape[:-1], batch)))


def vec(shape, dtype=torch.float64, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    return x.to(dtype) if not dtype.is_complex else torch.complex(x, x.flip(-1)).to(dtype)


# ------------------------------------------------------------------------------ construction
@pytest.mark.parametrize("batch", SHAPES)
def test_construction_shape_values_and_members(batch):
    A, D = mat(batch)
    assert A.shape == batch + (9, 9) and A.batch_shape == batch
    assert A.values.shape == batch + (A.nnz,)
    assert A.is_batched == bool(batch) and A.ndim == len(batch) + 2
    assert D.shape == batch + (9, 9)
    # the (*batch, n, m) shape and the values' batch agree; from_csr and with_values alike
    B = dsla.SparseTensor.from_csr(A.crow, A.col, A.values, A.shape)
    torch.testing.assert_close(B.to_dense(), D)
    V = A.values.clone()
    assert A.with_values(V).values is V
    for idx in members(batch):
        Ai = A.with_values(A.values[idx])
        assert Ai.shape == (9, 9)
        torch.testing.assert_close(Ai.to_dense(), D[idx])
    if batch:
        F = dsla.SparseTensor.from_dense(D)
        assert F.shape == A.shape
        torch.testing.assert_close(F.to_dense(), D)
        assert f"batch={batch[0] if len(batch) == 1 else batch}" in repr(A)


def test_constructor_takes_batch_shape_and_refuses_inconsistent_values():
    P = dsla.poisson2d(3)
    v = P.values.expand(2, 3, -1)
    A = dsla.SparseTensor(v, P.row, P.col, (2, 3, 9, 9))
    assert A.shape == (2, 3, 9, 9)
    B = dsla.SparseTensor(P.values.expand(4, -1), P.row, P.col, (4, 9, 9))
    assert B.shape == (4, 9, 9) and B.batch_size == 4
    with pytest.raises(ValueError, match=r"argument 'values'.*\(2, 3\).*shape=\(2, 3, 9, 9\)"):
        dsla.SparseTensor(v, P.row, P.col, (3, 2, 9, 9))
    with pytest.raises(ValueError, match="argument 'values'.*expand"):
        dsla.SparseTensor(P.values, P.row, P.col, (2, 9, 9))
    with pytest.raises(ValueError, match="argument 'shape'"):
        dsla.SparseTensor(v, P.row, P.col, (0, 3, 9, 9))
    with pytest.raises(ValueError, match="argument 'shape'"):
        dsla.SparseTensor(P.values, P.row, P.col, (9,))


@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_index_dtypes(index_dtype):
    A, D = mat((2, 3))
    B = dsla.SparseTensor.from_csr(A.crow.to(index_dtype), A.col.to(index_dtype), A.values,
                                   A.shape)
    C = dsla.SparseTensor(A.values, A.row.to(index_dtype), A.col.to(index_dtype), A.shape)
    assert B.index_dtype == index_dtype
    x = vec((2, 3, 9, 2))
    torch.testing.assert_close(B @ x, D @ x)
    torch.testing.assert_close(C @ x, D @ x)
    torch.testing.assert_close(dsla.solve(B, x, method="gmres", rtol=1e-12),
                               torch.linalg.solve(D, x))


# ------------------------------------------------------------------------------ products
@pytest.mark.parametrize("batch", SHAPES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.complex128])
def test_matmul_against_members_and_dense(batch, dtype):
    A, D = mat(batch, dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else {}
    xs = [vec((9,), dtype), vec((9, 4), dtype), vec((1 if batch else 5, 9, 2), dtype)]
    if batch:
        xs += [vec(batch + (9,), dtype), vec(batch + (9, 2), dtype),
               vec(tuple(1 for _ in batch[:-1]) + batch[-1:] + (9,), dtype),
               vec((4,) + tuple(1 for _ in batch) + (9, 2), dtype)]
    for x in xs:
        # unbatched A with a batch of blocks: one product, the batch folded into columns
        vector = is_vector(x, batch)
        want = (D @ x.unsqueeze(-1)).squeeze(-1) if vector else D @ x
        got = A @ x
        assert got.shape == want.shape, (tuple(x.shape), got.shape, want.shape)
        torch.testing.assert_close(got, want, **tol)
        # x @ A and A.rmatmul(x) (= Aᵀ x)
        xt = x.mT if not vector else x
        want_r = (xt.unsqueeze(-2) @ D).squeeze(-2) if vector else xt @ D
        torch.testing.assert_close(xt @ A, want_r, **tol)
        want_t = (D.mT @ x.unsqueeze(-1)).squeeze(-1) if vector else D.mT @ x
        torch.testing.assert_close(A.rmatmul(x), want_t, **tol)
    # member by member against the unbatched product
    x = vec(batch + (9,), dtype) if batch else vec((9,), dtype)
    y = A @ x
    for idx in members(batch):
        torch.testing.assert_close(y[idx], A.with_values(A.values[idx]) @ x[idx], **tol)


def test_x_batch_not_broadcastable_names_argument():
    A, _ = mat((2, 3))
    with pytest.raises(ValueError, match="argument 'x'.*batch of 4 but A has \\(2, 3\\)"):
        A @ vec((4, 9, 2))
    with pytest.raises(ValueError, match="argument 'x'.*shape \\(2, 3, 8\\)"):
        A @ vec((2, 3, 8))
    with pytest.raises(ValueError, match="argument 'b'"):
        dsla.solve(A, vec((4, 9, 1)))
    with pytest.raises(ValueError, match="argument 'B'"):
        A + mat((4,))[0]
    F, _ = mat((3,))
    with pytest.raises(ValueError, match="batch of 2 but A has 3"):
        F * mat((2,))[0]


def test_sparse_product_and_entrywise_broadcast():
    A, D = mat((2, 1, 3))
    B, E = mat((4, 3), seed=3)
    C, F = mat((), seed=4)
    for got, want in [(A @ B, D @ E), (A @ C, D @ F), (C @ A, F @ D), (A + B, D + E),
                      (A - C, D - F), (A * B, D * E), (C * A, F * D), (dsla.add(A, B, 2, 3),
                                                                       2 * D + 3 * E)]:
        assert got.shape == tuple(want.shape)
        torch.testing.assert_close(got.to_dense(), want)
    # a dense operand sampled at A's entries, with its own batch
    W = torch.rand(4, 1, 9, 9, dtype=torch.float64)
    torch.testing.assert_close((A * W).to_dense(), D * W * (D != 0))
    torch.testing.assert_close((A / (W + 1)).to_dense(), D / (W + 1) * (D != 0))


@pytest.mark.parametrize("batch", SHAPES)
def test_unary_transpose_conversion_and_reductions(batch):
    A, D = mat(batch)
    torch.testing.assert_close(A.T.to_dense(), D.mT)
    torch.testing.assert_close(A.H.to_dense(), D.mH)
    torch.testing.assert_close((-A).to_dense(), -D)
    torch.testing.assert_close((2 * A).to_dense(), 2 * D)
    torch.testing.assert_close(A.abs().to_dense(), D.abs())
    torch.testing.assert_close((A ** 2).to_dense(), D ** 2)
    torch.testing.assert_close(torch.exp(A).values, A.values.exp())
    torch.testing.assert_close(A.diagonal(), torch.diagonal(D, dim1=-2, dim2=-1))
    assert A.to(torch.float32).shape == A.shape and A.float().dtype == torch.float32
    assert A.detach().shape == A.shape and A.submatrix([0, 1], [1, 2]).shape == batch + (2, 2)
    torch.testing.assert_close(A.sum(), D.sum((-2, -1)))
    torch.testing.assert_close(A.sum(1), D.sum(-1))
    torch.testing.assert_close(A.sum(0), D.sum(-2))
    torch.testing.assert_close(A.mean(), D.mean((-2, -1)))
    torch.testing.assert_close(A.mean(1), D.mean(-1))
    torch.testing.assert_close(A.max(1), D.amax(-1))
    torch.testing.assert_close(A.min(0), D.amin(-2))
    torch.testing.assert_close(A.max(), D.flatten(-2).amax(-1))
    torch.testing.assert_close(A.prod(1), D.prod(-1))
    torch.testing.assert_close(A.norm(), torch.linalg.matrix_norm(D))
    torch.testing.assert_close(A.norm(1), torch.linalg.matrix_norm(D, 1))
    torch.testing.assert_close(A.norm(dim=1), torch.linalg.vector_norm(D, dim=-1))
    torch.testing.assert_close(A.norm(float("inf"), dim=0),
                               torch.linalg.vector_norm(D, float("inf"), dim=-2))
    S = dsla.split_block_diag(dsla.block_diag([A, A]), [9, 9])
    assert [B.shape for B in S] == [A.shape, A.shape]
    torch.testing.assert_close(dsla.kron(dsla.eye(2, dtype=torch.float64), A).to_dense(),
                               torch.kron(torch.eye(2, dtype=torch.float64), D)
                               if not batch else dsla.kron(dsla.eye(2, dtype=torch.float64),
                                                           A).to_dense())


def test_kron_and_block_diag_broadcast_batches():
    A, D = mat((2, 1))
    B, E = mat((3,), seed=2)
    K = dsla.kron(A, B)
    assert K.shape == (2, 3, 81, 81)
    for i, j in members((2, 3)):
        torch.testing.assert_close(K.to_dense()[i, j], torch.kron(D[i, 0], E[j]))
    G = dsla.block_diag([A, B])
    assert G.shape == (2, 3, 18, 18)
    torch.testing.assert_close(G.to_dense()[1, 2], torch.block_diag(D[1, 0], E[2]))


# ------------------------------------------------------------------------------ solves
@pytest.mark.parametrize("batch", SHAPES)
@pytest.mark.parametrize("method", ["auto", "gmres"])
def test_solve_against_members_and_dense(batch, method):
    A, D = mat(batch)
    bs = [vec((9,)), vec((9, 3))]
    if batch:
        bs += [vec(batch + (9,)), vec(batch + (9, 2)), vec((1,) + batch[1:] + (9,)),
               vec(batch[-1:] + (9, 2))]
    else:
        bs += [vec((2, 3, 9, 2))]  # unbatched A, a batch of blocks: one factorization
    for b in bs:
        vector = is_vector(b, batch)
        want = torch.linalg.solve(D, b.unsqueeze(-1) if vector else b)
        want = want.squeeze(-1) if vector else want
        x, info = dsla.solve(A, b, method=method, rtol=1e-12, return_info=True)
        assert x.shape == want.shape
        torch.testing.assert_close(x, want)
        k = 1 if vector else b.shape[-1]
        assert tuple(info.residuals.shape) == (tuple(want.shape[:-1]) if vector
                                               else tuple(want.shape[:-2])) + (k,) \
            or (not batch and b.dim() <= 2)
        assert info.converged
        if len(batch) <= 1 and (not batch or b.dim() <= 3) and b.dim() <= len(batch) + 2:
            assert isinstance(info, dsla.SolveInfo)  # flat batches: the C++ info as before
    if batch:
        b = vec(batch + (9,))
        x = dsla.solve(A, b, method=method, rtol=1e-12)
        for idx in members(batch):
            xi = dsla.solve(A.with_values(A.values[idx]), b[idx], method=method, rtol=1e-12)
            torch.testing.assert_close(x[idx], xi)


@pytest.mark.parametrize("batch", [(3,), (2, 3)])
def test_solver_and_x0_with_batch_shape(batch):
    A, D = mat(batch, spd=True)
    S = dsla.Solver(A, method="cg", rtol=1e-12)
    b = vec(batch + (9,))
    x = S.solve(b)
    torch.testing.assert_close(x, torch.linalg.solve(D, b.unsqueeze(-1)).squeeze(-1))
    assert tuple(S.info.residuals.shape) == batch + (1,)
    y = S.solve_adjoint(vec((9, 2)))
    assert y.shape == batch + (9, 2)
    with pytest.raises(ValueError, match="argument 'b'"):
        S.solve(vec((4,) + batch + (9, 2)))
    x0 = dsla.solve(A, b, method="cg", x0=x, rtol=1e-12)
    torch.testing.assert_close(x0, x)
    Sd = dsla.Solver(A, method="cholesky")
    torch.testing.assert_close(Sd.solve(b), x)
    Sd.refactor(A.values * 2)
    torch.testing.assert_close(Sd.solve(b), x / 2)


def test_gradcheck_solve_and_product_2d_batch():
    A, _ = mat((2, 2))
    v = A.values.detach().clone().requires_grad_()
    b = vec((2, 2, 9)).requires_grad_()
    x = vec((1, 2, 9, 2)).requires_grad_()

    def solve(v, b):
        return dsla.solve(A.with_values(v), b, method="auto")

    def product(v, x):
        return A.with_values(v) @ x

    assert torch.autograd.gradcheck(solve, (v, b))
    assert torch.autograd.gradcheck(product, (v, x))
    # the gradient reaches the [..., nnz] values given to the constructor and requires_grad_
    B = dsla.SparseTensor(v, A.row, A.col, A.shape)
    (B @ vec((9,))).sum().backward()
    assert v.grad.shape == (2, 2, A.nnz)
    C = A.detach().requires_grad_()
    dsla.logdet(C).sum().backward()
    assert C.values.grad.shape == (2, 2, A.nnz)
    D = C.to_dense().detach().requires_grad_()
    torch.logdet(D).sum().backward()
    torch.testing.assert_close(C.values.grad, D.grad[..., A.row.long(), A.col.long()])


# ------------------------------------------------------------------------------ the rest
@pytest.mark.parametrize("batch", SHAPES)
def test_determinants(batch):
    A, D = mat(batch)
    torch.testing.assert_close(A.det(), torch.linalg.det(D))
    torch.testing.assert_close(dsla.logdet(A), torch.logdet(D))
    sign, logabs = dsla.slogdet(A)
    s2, l2 = torch.linalg.slogdet(D)
    torch.testing.assert_close(sign, s2)
    torch.testing.assert_close(logabs, l2)
    assert logabs.shape == batch
    P, E = mat(batch, spd=True)
    est, info = dsla.logdet(P, method="stochastic", probes=64, seed=0, return_info=True)
    assert est.shape == batch and info.std_error.shape == batch
    assert torch.all((est - torch.logdet(E)).abs() < 6 * info.std_error + 1e-3)
    pd = P.is_positive_definite()
    assert (pd.shape == batch and bool(pd.all())) if batch else pd is True


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_is_symmetric_per_member(batch):
    A, D = mat(batch, spd=True)
    if not batch:
        assert A.is_symmetric() is True and A.is_hermitian() is True
        return
    v = A.values.clone()
    k = int(((A.row == 0) & (A.col == 1)).nonzero())
    v[(0,) * len(batch) + (k,)] += 1.0  # member (0, ...) loses its symmetry
    B = A.with_values(v)
    got = B.is_symmetric()
    want = torch.tensor([bool(torch.equal(M, M.mT)) for M in B.to_dense().reshape(-1, 9, 9)])
    assert got.dtype == torch.bool and got.shape == batch
    assert torch.equal(got.reshape(-1), want) and not bool(got.reshape(-1)[0])
    assert torch.equal(B.is_hermitian(), got)
    Z, _ = mat(batch, torch.complex128, spd=True)
    assert bool(Z.is_hermitian().all()) and not bool(Z.is_symmetric(hermitian=False).any())


def test_pickle_deepcopy_save_and_expand():
    A, D = mat((2, 1, 3))
    buf = io.BytesIO()
    torch.save(A, buf)
    buf.seek(0)
    for B in (pickle.loads(pickle.dumps(A)), copy.deepcopy(A),
              torch.load(buf, weights_only=False)):
        assert B.shape == A.shape
        torch.testing.assert_close(B.to_dense(), D)
    E = A.expand(4, 2, 5, 3)
    assert E.shape == (4, 2, 5, 3, 9, 9)
    torch.testing.assert_close(E.to_dense(), D.expand(4, 2, 5, 3, 9, 9))
    assert A.reshape_batch(6).shape == (6, 9, 9) and A.reshape_batch(-1, 3).shape == (2, 3, 9, 9)
    with pytest.raises(ValueError, match="expand"):
        A.expand(3, 3)


@pytest.mark.skipif(not torch.cuda.is_available() or not dsla.features.get("cuda", False),
                    reason="needs a CUDA device and a CUDA build of dsla")
def test_cuda_batch_shapes():
    A, D = mat((2, 3), spd=True)
    Ag, Dg = A.cuda(), D.cuda()
    assert Ag.shape == A.shape and Ag.device.type == "cuda"
    x = vec((2, 3, 9, 2)).cuda()
    torch.testing.assert_close(Ag @ x, Dg @ x)
    b = vec((2, 3, 9)).cuda()
    xs = dsla.solve(Ag, b, method="cg", rtol=1e-12)
    torch.testing.assert_close(xs, torch.linalg.solve(Dg, b.unsqueeze(-1)).squeeze(-1))
    torch.testing.assert_close(Ag.sum(1), Dg.sum(-1))
    assert Ag.is_symmetric().shape == (2, 3)
    torch.testing.assert_close((Ag * Ag).to_dense(), Dg * Dg)


def test_diag_and_tridiagonal_take_batch_shapes():
    d = vec((2, 3, 5))
    D = dsla.diag(d)
    assert D.shape == (2, 3, 5, 5)
    torch.testing.assert_close(D.to_dense(), torch.diag_embed(d))
    lo, up = vec((3, 4), seed=2), vec((2, 1, 4), seed=3)
    T = dsla.tridiagonal(lo, d, up)
    assert T.shape == (2, 3, 5, 5)
    want = torch.diag_embed(d) + torch.diag_embed(lo.expand(2, 3, 4), -1) \
        + torch.diag_embed(up.expand(2, 3, 4), 1)
    torch.testing.assert_close(T.to_dense(), want)
