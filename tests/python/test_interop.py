"""Every function that takes a matrix also takes the matrices users already have (issue #16,
item 5): torch.sparse_coo / sparse_csr tensors, dense tensors, scipy.sparse matrices, and, for
dsla.solve's Krylov methods, matrix-free operators (a callable, a (matvec, rmatvec) pair, a
scipy LinearOperator). References: SciPy and dense torch.linalg; gradients by gradcheck."""
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

import dsla
from conftest import HAVE_DIRECT_CPU


def _spd(n=12, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    R = torch.randn(n, n, generator=g, dtype=torch.float64) * (torch.rand(n, n, generator=g) < 0.3)
    D = R + R.T + torch.diag(R.abs().sum(0) + R.abs().sum(1) + 1.0)
    return D.to(dtype)


def _nonsym(n=12, seed=1):
    D = _spd(n, seed)
    D[0, 3] += 0.7
    D[5, 1] -= 0.4
    return D


def _forms(D):
    """The same matrix in every accepted form."""
    S = sp.csr_matrix(D.numpy())
    return {
        "SparseTensor": dsla.SparseTensor.from_dense(D),
        "torch_coo": D.to_sparse(),
        "torch_csr": D.to_sparse_csr(),
        "dense": D,
        "scipy_csr": S,
        "scipy_coo": S.tocoo(),
        "scipy_csc": S.tocsc(),
    }


FORMS = list(_forms(torch.eye(2, dtype=torch.float64)))


@pytest.mark.parametrize("form", FORMS)
def test_solve_and_solver_take_every_form(form):
    D = _nonsym()
    A = _forms(D)[form]
    b = torch.arange(1.0, 13.0, dtype=torch.float64)
    ref = torch.linalg.solve(D, b)
    x = dsla.solve(A, b, method="gmres", rtol=1e-12, restart=20)
    torch.testing.assert_close(x, ref, rtol=1e-9, atol=1e-10)
    S = dsla.Solver(A, method="gmres", rtol=1e-12, restart=20)
    torch.testing.assert_close(S.solve(b), ref, rtol=1e-9, atol=1e-10)
    if HAVE_DIRECT_CPU:
        torch.testing.assert_close(dsla.solve(A, b, method="lu"), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("form", FORMS)
def test_eigen_functions_take_every_form(form):
    D = _spd()
    A = _forms(D)[form]
    lam = dsla.eigsh(A, k=3, which="SA")[0]
    torch.testing.assert_close(lam, torch.linalg.eigvalsh(D)[:3], rtol=1e-8, atol=1e-10)
    s = dsla.svds(A, k=2)[1]
    ref = torch.linalg.svdvals(D)[:2]
    torch.testing.assert_close(s.sort(descending=True).values, ref, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(dsla.norm2(A), ref[0], rtol=1e-7, atol=0)
    lam_ns = dsla.eigs(_forms(_nonsym())[form], k=2, which="LM")[0]
    ref_ns = torch.linalg.eigvals(_nonsym())
    ref_ns = ref_ns[ref_ns.abs().argsort(descending=True)][:2]
    torch.testing.assert_close(lam_ns.abs().sort(descending=True).values, ref_ns.abs(),
                               rtol=1e-7, atol=0)


@pytest.mark.direct
@pytest.mark.parametrize("form", FORMS)
def test_determinants_take_every_form(form):
    D = _nonsym()
    A = _forms(D)[form]
    sign, logabs = torch.linalg.slogdet(D)
    torch.testing.assert_close(dsla.logdet(A), torch.logdet(D), rtol=1e-10, atol=0)
    s, la = dsla.slogdet(A)
    torch.testing.assert_close((s, la), (sign, logabs), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(dsla.det(A), torch.linalg.det(D), rtol=1e-9, atol=0)


@pytest.mark.parametrize("form", ["torch_csr", "dense", "scipy_csr"])
def test_amg_takes_other_forms(form):
    P = dsla.poisson2d(12)
    D = P.to_dense()
    A = _forms(D)[form]
    b = torch.ones(144, dtype=torch.float64)
    x, info = dsla.amg_solve(A, b, rtol=1e-10, maxiter=200, accel="cg")
    assert info["converged"] and float((D @ x - b).norm() / b.norm()) < 1e-9
    x = dsla.solve(A, b, method="cg", M=dsla.amg(A), rtol=1e-10)
    assert float((D @ x - b).norm() / b.norm()) < 1e-9


def test_gradients_flow_through_dense_and_torch_sparse_inputs():
    D = _spd(6).requires_grad_()
    b = torch.randn(6, dtype=torch.float64)
    # Dense input: the gradient is on its nonzero pattern (every entry here: D + D.T + diag is
    # dense only where nonzero, so compare with the dense reference there).
    x = dsla.solve(D, b, method="cg", rtol=1e-13)
    (g,) = torch.autograd.grad(x.square().sum(), D)
    Dr = D.detach().clone().requires_grad_()
    (gr,) = torch.autograd.grad(torch.linalg.solve(Dr, b).square().sum(), Dr)
    mask = D.detach() != 0
    torch.testing.assert_close(g[mask], gr[mask], rtol=1e-8, atol=1e-10)
    assert torch.all(g[~mask] == 0)

    idx = mask.nonzero().T
    vals = D.detach()[mask].clone().requires_grad_()

    def f(v):
        A = torch.sparse_coo_tensor(idx, v, (6, 6))
        return dsla.solve(A, b, method="cg", rtol=1e-13)
    assert torch.autograd.gradcheck(f, (vals,), atol=1e-6)


def test_newton_jacobian_may_be_a_torch_sparse_or_scipy_matrix():
    n = 20
    h2 = 1.0 / (n + 1) ** 2
    T = (torch.diag(torch.full((n,), 2.0)) - torch.diag(torch.ones(n - 1), 1)
         - torch.diag(torch.ones(n - 1), -1)).double() / h2

    def F(u, lam):
        return T @ u - lam * torch.exp(u)

    for kind in ("torch_csr", "scipy"):
        def J(u, lam):
            Jd = T - torch.diag(lam * torch.exp(u))
            return Jd.to_sparse_csr() if kind == "torch_csr" else sp.csr_matrix(Jd.numpy())
        u = dsla.nonlinear_solve(F, torch.zeros(n, dtype=torch.float64), torch.tensor(1.0,
                                 dtype=torch.float64), method="newton", jacobian=J)
        assert float(F(u, 1.0).norm()) < 1e-6 * float(T.norm())


def test_matrix_free_solve_with_a_callable_a_pair_and_a_scipy_operator():
    D = _nonsym()
    b = torch.randn(12, dtype=torch.float64)
    ref = torch.linalg.solve(D, b)
    x = dsla.solve(lambda v: D @ v, b, rtol=1e-12, restart=20)
    torch.testing.assert_close(x, ref, rtol=1e-9, atol=1e-10)
    x, info = dsla.solve((lambda v: D @ v, lambda v: D.T @ v), b, rtol=1e-12, restart=20,
                         return_info=True)
    assert info.converged
    assert str(info.method) == "gmres" and info.preconditioner == "none", info  # not "auto"
    torch.testing.assert_close(x, ref, rtol=1e-9, atol=1e-10)
    Dn = D.numpy()
    op = spla.LinearOperator((12, 12), matvec=lambda v: Dn @ v, rmatvec=lambda v: Dn.T @ v,
                             dtype=np.float64)
    torch.testing.assert_close(dsla.solve(op, b, rtol=1e-12, restart=20), ref, rtol=1e-9,
                               atol=1e-10)
    Dspd = _spd()
    X = torch.randn(12, 3, dtype=torch.float64)
    x = dsla.solve(lambda v: Dspd @ v, X, method="cg", rtol=1e-12,
                   M=lambda r: r / torch.diagonal(Dspd))
    torch.testing.assert_close(x, torch.linalg.solve(Dspd, X), rtol=1e-9, atol=1e-10)


def test_matrix_free_solve_is_differentiable_in_b_with_an_adjoint():
    D = _nonsym(6)
    pair = (lambda v: D @ v, lambda v: D.T @ v)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda b: dsla.solve(pair, b, rtol=1e-13), (b,))
    S = _spd(6)
    assert torch.autograd.gradcheck(lambda b: dsla.solve(lambda v: S @ v, b, method="cg",
                                                         rtol=1e-13), (b,))
    with pytest.raises(ValueError, match="adjoint"):
        dsla.solve(lambda v: D @ v, b)


def test_matrix_free_operators_are_refused_where_the_entries_are_needed():
    D = _spd()
    f = lambda v: D @ v  # noqa: E731
    b = torch.ones(12, dtype=torch.float64)
    with pytest.raises(ValueError, match="'method'"):
        dsla.solve(f, b, method="cholesky")
    with pytest.raises(ValueError, match="'precond'"):
        dsla.solve(f, b, precond="jacobi")
    for fn in (dsla.det, dsla.amg, dsla.Solver):
        with pytest.raises(TypeError, match="matrix-free"):
            fn(f)
    # eigsh takes operators (LOBPCG), but a bare callable does not say its size.
    with pytest.raises(TypeError, match="has no size"):
        dsla.eigsh(f)
    with pytest.raises(ValueError, match="keep the shape"):
        dsla.solve(lambda v: v[:3], b)
    with pytest.raises(TypeError, match="torch.Tensor"):
        dsla.solve(lambda v: v.numpy(), b)


def test_bad_inputs_name_the_argument():
    with pytest.raises(TypeError, match="argument 'A'.*scipy.sparse"):
        dsla.solve([[1.0]], torch.ones(1))
    with pytest.raises(ValueError, match="argument 'A'"):
        dsla.det(torch.ones(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="argument 'A'"):
        dsla.eigsh("A")


def test_edge_cases_one_by_one_float32_complex_and_int64_indices():
    one = torch.tensor([[4.0]], dtype=torch.float64)
    torch.testing.assert_close(dsla.solve(one, torch.tensor([2.0], dtype=torch.float64),
                                          method="cg"), torch.tensor([0.5], dtype=torch.float64))
    D = _nonsym().float()
    b = torch.ones(12, dtype=torch.float32)
    x = dsla.solve(D.to_sparse(), b, method="gmres", rtol=1e-6, restart=20)
    assert x.dtype == torch.float32
    torch.testing.assert_close(x, torch.linalg.solve(D, b), rtol=1e-4, atol=1e-5)
    Dc = _nonsym().to(torch.complex128) * (1 + 0.5j)
    bc = torch.ones(12, dtype=torch.complex128)
    S = sp.csr_matrix(Dc.numpy())
    S.indices = S.indices.astype(np.int64)
    S.indptr = S.indptr.astype(np.int64)
    torch.testing.assert_close(dsla.solve(S, bc, method="gmres", rtol=1e-12, restart=20),
                               torch.linalg.solve(Dc, bc), rtol=1e-9, atol=1e-10)
    E = torch.zeros(0, 0, dtype=torch.float64)
    assert dsla.solve(E.to_sparse(), torch.zeros(0, dtype=torch.float64)).shape == (0,)


# ---------------------------------------------------------------- eigsh on operators (item 5)
def test_eigsh_on_matrix_free_operators():
    import scipy.sparse.linalg as spl

    A = dsla.poisson2d(12, dtype=torch.float64)
    D = A.to_dense()
    ev = torch.linalg.eigvalsh(D)
    op = spl.aslinearoperator(A.to_scipy())
    for which, ref in (("LM", ev[-4:]), ("SA", ev[:4]), ("LA", ev[-4:])):
        lam, U, info = dsla.eigsh(op, 4, which=which, tol=1e-9, maxiter=500, return_info=True)
        assert info.converged == 4 and info.method == "lobpcg", info
        assert torch.allclose(lam, ref, rtol=1e-7, atol=1e-9), (which, lam, ref)
        assert torch.allclose(D @ U, U * lam, atol=1e-6)
    # A callable with X0 (n, dtype, device from it) and a preconditioner callable ≈ A⁻¹.
    X0 = torch.randn(144, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    dinv = 1.0 / D.diagonal()
    lam, U, info = dsla.eigsh(lambda v: A @ v, 3, which="SA", X0=X0, precond=lambda r: dinv * r,
                              tol=1e-9, maxiter=500, return_info=True)
    assert info.method == "lobpcg+user" and torch.allclose(lam, ev[:3], rtol=1e-7, atol=1e-9)
    # A complex Hermitian operator (a (matvec, rmatvec)-less object with shape).
    g = torch.Generator().manual_seed(1)
    Hd = torch.randn(40, 40, dtype=torch.complex128, generator=g)
    Hd = Hd + Hd.conj().T

    class Op:
        shape = (40, 40)
        dtype = torch.complex128

        def matvec(self, v):
            return Hd @ v

    lam, U = dsla.eigsh(Op(), 3, which="LA", tol=1e-10, maxiter=1000)
    assert torch.allclose(lam, torch.linalg.eigvalsh(Hd)[-3:], rtol=1e-7, atol=1e-8)


def test_eigsh_on_operators_refuses_what_needs_entries():
    import scipy.sparse.linalg as spl

    A = dsla.poisson2d(6, dtype=torch.float64)
    op = spl.aslinearoperator(A.to_scipy())
    with pytest.raises(TypeError, match="bare callable has no size.*X0"):
        dsla.eigsh(lambda v: A @ v, 2)
    with pytest.raises(ValueError, match="argument 'sigma'"):
        dsla.eigsh(op, 2, sigma=1.0)
    with pytest.raises(ValueError, match="argument 'M'"):
        dsla.eigsh(op, 2, M=A)
    with pytest.raises(ValueError, match="argument 'precond'"):
        dsla.eigsh(op, 2, precond="amg")
    with pytest.raises(ValueError, match="argument 'which'"):
        dsla.eigsh(op, 2, which="SM")
    with pytest.raises(ValueError, match="argument 'k'"):
        dsla.eigsh(op, 20)
