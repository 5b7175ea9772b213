"""Issue #16 item 8: a list of matrices with different patterns solved as one block-diagonal
system and split back (how graph learning batches graphs), differentiable; eigsh on a batched
matrix, member by member, differentiable. References: per-member solves, dense torch.linalg."""
import pytest
import torch

import dsla


def _graphs():
    A = dsla.poisson2d(4, dtype=torch.float64)  # 16 x 16, symmetric
    B = dsla.convdiff2d(3, 2.0, dtype=torch.float64)  # 9 x 9, nonsymmetric
    C = dsla.SparseTensor(torch.tensor([3.0], dtype=torch.float64), [0], [0], (1, 1))  # 1 x 1
    return [A, B, C]


@pytest.mark.parametrize("k", [None, 2])
def test_list_solve_matches_member_solves(k):
    mats = _graphs()
    g = torch.Generator().manual_seed(0)
    bs = [torch.randn((M.shape[0],) if k is None else (M.shape[0], k), dtype=torch.float64,
                      generator=g) for M in mats]
    xs, info = dsla.solve(mats, bs, method="gmres", rtol=1e-12, return_info=True)
    assert info.converged and len(xs) == 3
    for M, b, x in zip(mats, bs, xs):
        ref = torch.linalg.solve(M.to_dense(), b)
        assert x.shape == b.shape
        assert torch.allclose(x, ref, rtol=1e-9, atol=1e-11)
    # A direct method where the build has one, and a list x0.
    x0 = [torch.zeros_like(b) for b in bs]
    ys = dsla.solve(mats, bs, method="bicgstab", precond="jacobi", rtol=1e-12, x0=x0)
    for y, x in zip(ys, xs):
        assert torch.allclose(y, x, rtol=1e-8, atol=1e-10)


def test_list_solve_gradients():
    mats = [M.detach().requires_grad_() for M in _graphs()[:2]]
    bs = [torch.linspace(1, 2, M.shape[0], dtype=torch.float64).requires_grad_() for M in mats]
    ws = [torch.sin(torch.arange(M.shape[0], dtype=torch.float64)) for M in mats]
    xs = dsla.solve(mats, bs, method="gmres", rtol=1e-13)
    sum((w * x).sum() for w, x in zip(ws, xs)).backward()
    for M, b, w in zip(mats, bs, ws):
        D = M.to_dense().detach().requires_grad_()
        bb = b.detach().clone().requires_grad_()
        (w * torch.linalg.solve(D, bb)).sum().backward()
        # The dense gradient at the stored entries is the values gradient.
        ref = D.grad[M.row.long(), M.col.long()]
        assert torch.allclose(M.values.grad, ref, rtol=1e-8, atol=1e-10)
        assert torch.allclose(b.grad, bb.grad, rtol=1e-8, atol=1e-10)


def test_list_solve_errors():
    mats = _graphs()
    bs = [torch.ones(M.shape[0], dtype=torch.float64) for M in mats]
    with pytest.raises(TypeError, match="argument 'b'"):
        dsla.solve(mats, torch.ones(26, dtype=torch.float64))
    with pytest.raises(TypeError, match="argument 'b'"):
        dsla.solve(mats, bs[:2])
    with pytest.raises(ValueError, match=r"argument 'b\[1\]'"):
        dsla.solve(mats, [bs[0], torch.ones(5, dtype=torch.float64), bs[2]])
    with pytest.raises(ValueError, match=r"argument 'b\[1\]'.*same number of columns"):
        dsla.solve(mats, [bs[0].unsqueeze(1), bs[1], bs[2].unsqueeze(1)])
    with pytest.raises(TypeError, match="argument 'M'"):
        dsla.solve(mats, bs, M=lambda r: r)
    with pytest.raises(ValueError, match="empty"):
        dsla.solve([], [])
    Ab = mats[0].with_values(torch.stack([mats[0].values] * 2))
    with pytest.raises(ValueError, match=r"argument 'A\[0\]'.*batched"):
        dsla.solve([Ab], [bs[0]])


def test_eigsh_on_a_batched_matrix():
    A = dsla.poisson2d(6, dtype=torch.float64)
    vals = torch.stack([A.values, 2 * A.values + 0.5 * (A.row == A.col).double()])
    Ab = A.with_values(vals.clone().requires_grad_())
    lam, U = dsla.eigsh(Ab, 3, which="SA")
    assert lam.shape == (2, 3) and U.shape == (2, 36, 3)
    for i in range(2):
        ref = torch.linalg.eigvalsh(A.with_values(vals[i]).to_dense())[:3]
        assert torch.allclose(lam[i], ref, rtol=1e-8, atol=1e-10)
        Di = A.with_values(vals[i]).to_dense()
        assert torch.allclose(Di @ U[i], U[i] * lam[i], atol=1e-7)
    # Gradient of the eigenvalue sum: u uᵀ at the stored entries, member by member.
    lam.sum().backward()
    for i in range(2):
        D = A.with_values(vals[i]).to_dense().requires_grad_()
        torch.linalg.eigvalsh(D)[:3].sum().backward()
        ref = D.grad[A.row.long(), A.col.long()]
        assert torch.allclose(Ab.values.grad[i], ref, rtol=1e-6, atol=1e-8)
    # Infos per member; a batched M must match the batch size.
    lam2, U2, infos = dsla.eigsh(Ab.detach(), 2, which="LA", return_info=True)
    assert len(infos) == 2 and lam2.shape == (2, 2)
    M3 = A.with_values(torch.stack([torch.ones_like(A.values)] * 3))
    with pytest.raises(ValueError, match="argument 'M'"):
        dsla.eigsh(Ab.detach(), 2, M=M3)


def test_eigsh_on_a_two_dimensional_batch():
    A = dsla.poisson2d(5, dtype=torch.float64)
    scale = torch.tensor([[1.0, 2.0], [3.0, 0.5]], dtype=torch.float64)
    vals = scale[..., None] * A.values  # [2, 2, nnz]
    Ab = dsla.SparseTensor(vals, A.row, A.col, (2, 2) + tuple(A.shape))
    lam, U = dsla.eigsh(Ab, 2, which="LA")
    assert lam.shape == (2, 2, 2) and U.shape == (2, 2, 25, 2)
    ref = torch.linalg.eigvalsh(A.to_dense())[-2:]
    assert torch.allclose(lam, scale[..., None] * ref, rtol=1e-8)
