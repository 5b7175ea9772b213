"""nonlinear_solve: Bratu (1D analytic, 2D vs scipy.optimize.root), nonlinear diffusion,
Newton / Picard / Anderson, JFNK vs assembled Jacobian, implicit-adjoint gradients."""
import math

import numpy as np
import pytest
import scipy.optimize
import torch

import dsla


# float64 as torch's default inside this module's tests only (conftest.py).
pytestmark = pytest.mark.usefixtures("float64_default")


# ---- problems ----------------------------------------------------------------------------

def bratu1d(n):
    """-u'' = lam e^u on (0, 1), u(0) = u(1) = 0; n interior points, h = 1/(n+1)."""
    h = 1.0 / (n + 1)
    i = torch.arange(n)
    row = torch.cat([i, i[1:], i[:-1]])
    col = torch.cat([i, i[:-1], i[1:]])
    val = torch.cat([2 * torch.ones(n), -torch.ones(n - 1), -torch.ones(n - 1)]) / h ** 2
    L = dsla.SparseTensor(val, row, col, (n, n))
    return L, h


def bratu_F(L):
    def F(u, lam):
        return L @ u - lam * torch.exp(u)
    return F


def bratu_J(L):
    def J(u, lam):
        d = L.diagonal()
        vals = L.values.clone()
        r = L.row.long()
        on_diag = r == L.col.long()
        vals[on_diag] = d[r[on_diag]] - lam * torch.exp(u[r[on_diag]])
        return L.with_values(vals)
    return J


def bratu1d_exact(lam, x):
    # u(x) = -2 log(cosh((x - 1/2) θ/2) / cosh(θ/4)), θ = sqrt(2 lam) cosh(θ/4) (lower branch)
    th = scipy.optimize.brentq(lambda t: t - math.sqrt(2 * lam) * math.cosh(t / 4), 1e-9, 4.0)
    return -2 * np.log(np.cosh((x - 0.5) * th / 2) / np.cosh(th / 4))


# ---- Bratu -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["newton", "picard", "anderson"])
def test_bratu1d_vs_analytic(method, spd_solver):
    n = 200
    L, h = bratu1d(n)
    lam = torch.tensor(1.0)
    F = bratu_F(L)
    kw = {}
    if method == "newton":
        kw["jacobian"] = bratu_J(L)
    else:
        # lagged fixed point: L u_{k+1} = lam e^{u_k}
        S = spd_solver(L)
        kw["G"] = lambda u, lam: S.solve(lam * torch.exp(u))
    u, info = dsla.nonlinear_solve(F, torch.zeros(n), lam, method=method, rtol=1e-10,
                                   maxiter=200, return_info=True, **kw)
    assert info.converged, info.message
    x = np.arange(1, n + 1) * h
    np.testing.assert_allclose(u.numpy(), bratu1d_exact(1.0, x), atol=5e-5)  # O(h²)
    if method == "newton":
        assert info.iterations <= 6


def test_newton_picard_anderson_convergence_ordering(spd_solver):
    n = 100
    L, _ = bratu1d(n)
    F = bratu_F(L)
    lam = torch.tensor(3.0)
    S = spd_solver(L)

    def G(u, lam):
        return S.solve(lam * torch.exp(u))

    its = {}
    for m in ("newton", "picard", "anderson"):
        kw = {"jacobian": bratu_J(L)} if m == "newton" else {"G": G}
        _, info = dsla.nonlinear_solve(F, torch.zeros(n), lam, method=m, rtol=1e-10,
                                       maxiter=500, return_info=True, **kw)
        assert info.converged, info.message
        its[m] = info.iterations
    assert its["newton"] < its["anderson"] < its["picard"]


def bratu2d_problem(m):
    A = dsla.poisson2d(m) * float((m + 1) ** 2)

    def F(u, lam):
        return A @ u - lam * torch.exp(u)

    def J(u, lam):
        v = A.values.clone()
        r = A.row.long()
        dmask = r == A.col.long()
        v[dmask] = v[dmask] - lam * torch.exp(u[r[dmask]])
        return A.with_values(v)
    return A, F, J


def test_bratu2d_vs_scipy_root_and_jfnk():
    m = 16
    A, F, J = bratu2d_problem(m)
    lam = torch.tensor(5.0)
    u, info = dsla.nonlinear_solve(F, torch.zeros(m * m), lam, jacobian=J, rtol=1e-12,
                                   return_info=True)
    assert info.converged
    As = A.to_scipy()

    def Fn(x):
        return As @ x - 5.0 * np.exp(x)

    def Jn(x):
        return (As - 5.0 * __import__("scipy.sparse").sparse.diags(np.exp(x))).toarray()

    ref = scipy.optimize.root(Fn, np.zeros(m * m), jac=Jn, tol=1e-12)
    assert ref.success
    np.testing.assert_allclose(u.numpy(), ref.x, rtol=1e-9, atol=1e-12)
    # JFNK (exact jvp via double vjp, and finite differences) agree with the assembled Jacobian
    for jvp in ("autograd", "fd"):
        u2, info2 = dsla.nonlinear_solve(F, torch.zeros(m * m), lam, jacobian=None, jvp=jvp,
                                         rtol=1e-10, linear_solver={"rtol": 1e-10},
                                         return_info=True)
        assert info2.converged, info2.message
        assert info2.total_linear_iterations > 0
        np.testing.assert_allclose(u2.numpy(), u.numpy(), rtol=1e-7, atol=1e-9)


def test_nonlinear_diffusion():
    """-d/dx((1 + u²) du/dx) = f on (0,1), u(0)=u(1)=0, manufactured u = sin(πx)."""
    n = 120
    h = 1.0 / (n + 1)
    x = torch.arange(1, n + 1) * h

    def flux_div(u):
        up = torch.cat([torch.zeros(1), u, torch.zeros(1)])
        um = 0.5 * (up[1:] + up[:-1])
        k = 1 + um ** 2
        q = k * (up[1:] - up[:-1]) / h
        return -(q[1:] - q[:-1]) / h

    ue = torch.sin(math.pi * x)
    f = flux_div(ue)

    def F(u, f):
        return flux_div(u) - f

    for jac in ("autograd", None):
        u, info = dsla.nonlinear_solve(F, torch.zeros(n), f, jacobian=jac, rtol=1e-12,
                                       return_info=True)
        assert info.converged, info.message
        np.testing.assert_allclose(u.numpy(), ue.numpy(), atol=1e-10)


# ---- gradients ---------------------------------------------------------------------------
def test_gradients_vs_fd_and_unrolled():
    n = 30
    L, _ = bratu1d(n)
    F = bratu_F(L)
    w = torch.randn(n)

    def loss(lam, jac):
        u = dsla.nonlinear_solve(F, torch.zeros(n), lam, jacobian=jac, rtol=1e-13)
        return (w * u).sum()

    lam = torch.tensor(1.5, requires_grad=True)
    for jac in (bratu_J(L), None):
        lam.grad = None
        loss(lam, jac).backward()
        g = float(lam.grad)
        e = 1e-6
        fd = (float(loss(torch.tensor(1.5 + e), jac)) - float(loss(torch.tensor(1.5 - e), jac))) / (2 * e)
        assert abs(g - fd) < 1e-6 * max(1, abs(fd))
    # unrolled autograd through plain Newton with dense solves
    lam2 = torch.tensor(1.5, requires_grad=True)
    u = torch.zeros(n)
    Ld = L.to_dense()
    for _ in range(12):
        Jd = Ld - torch.diag(lam2 * torch.exp(u))
        u = u - torch.linalg.solve(Jd, Ld @ u - lam2 * torch.exp(u))
    (w * u).sum().backward()
    assert abs(float(lam2.grad) - g) < 1e-8 * max(1, abs(g))


def test_gradients_gradcheck_tensor_and_sparse_params():
    n = 12
    L, _ = bratu1d(n)

    def F(u, A, lam):
        return A @ u - lam * torch.exp(u)

    vals = L.values.detach().clone().requires_grad_(True)
    lam = torch.tensor(0.8, requires_grad=True)

    def f(v, lam):
        A = L.with_values(v)
        return dsla.nonlinear_solve(F, torch.zeros(n), A, lam, rtol=1e-13)

    assert torch.autograd.gradcheck(f, (vals, lam), eps=1e-6, atol=1e-6)


def test_gradients_captured_values():
    n = 12
    L, _ = bratu1d(n)
    vals = L.values.detach().clone().requires_grad_(True)
    A = L.with_values(vals)

    def F(u, lam):  # A captured in the closure
        return A @ u - lam * torch.exp(u)

    u = dsla.nonlinear_solve(F, torch.zeros(n), torch.tensor(1.0), captured=(vals,), rtol=1e-13)
    u.sum().backward()
    assert vals.grad is not None and torch.isfinite(vals.grad).all()
    # compare with the gradient through an explicit SparseTensor param
    vals2 = L.values.detach().clone().requires_grad_(True)
    u2 = dsla.nonlinear_solve(lambda u, B, lam: B @ u - lam * torch.exp(u), torch.zeros(n),
                              L.with_values(vals2), torch.tensor(1.0), rtol=1e-13)
    u2.sum().backward()
    np.testing.assert_allclose(vals.grad.numpy(), vals2.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_graph_is_one_node():
    n = 50
    L, _ = bratu1d(n)
    lam = torch.tensor(2.0, requires_grad=True)
    u, info = dsla.nonlinear_solve(bratu_F(L), torch.zeros(n), lam, jacobian=bratu_J(L),
                                   rtol=1e-12, return_info=True)
    fn = u.grad_fn
    assert fn is not None
    nexts = [f for f, _ in fn.next_functions if f is not None]
    # one node, whose only parent is lam's accumulator: nothing of the iterations is kept
    assert len(nexts) == 1 and type(nexts[0]).__name__ == "AccumulateGrad"
    assert info.iterations >= 3


# ---- failures ----------------------------------------------------------------------------
def test_divergence_detected():
    n = 50
    L, _ = bratu1d(n)
    F = bratu_F(L)
    lam = torch.tensor(10.0)  # beyond the turning point (≈ 3.51): no solution
    with pytest.warns(dsla.NonlinearWarning):
        u, info = dsla.nonlinear_solve(F, torch.zeros(n), lam, jacobian=bratu_J(L),
                                       maxiter=30, return_info=True)
    assert not info.converged
    assert info.status in ("line_search_failed", "max_iterations", "diverged")
    with pytest.raises(dsla.SolveError):
        dsla.nonlinear_solve(F, torch.zeros(n), lam, jacobian=bratu_J(L), maxiter=30,
                             raise_on_failure=True)
    # a fixed-point map that blows up
    with pytest.warns(dsla.NonlinearWarning):
        _, info = dsla.nonlinear_solve(lambda u: u - (2 * u + 1), torch.zeros(5),
                                       method="picard", G=lambda u: 2 * u + 1, maxiter=200,
                                       return_info=True)
    assert info.status == "diverged"


def test_stagnation_detected():
    # G(u) = -u oscillates forever
    with pytest.warns(dsla.NonlinearWarning):
        _, info = dsla.nonlinear_solve(None, torch.ones(3), method="picard", G=lambda u: -u,
                                       maxiter=100, return_info=True)
    assert info.status == "stagnated"


def test_bad_arguments():
    with pytest.raises(ValueError, match="argument 'method'"):
        dsla.nonlinear_solve(lambda u: u, torch.zeros(3), method="bisect")
    with pytest.raises(ValueError, match="argument 'u0'"):
        dsla.nonlinear_solve(lambda u: u, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="argument 'F'"):
        dsla.nonlinear_solve(lambda u: u[:2], torch.zeros(3))


def test_jfnk_with_preconditioner_and_anderson_default_map(spd_solver):
    m = 12
    A, F, J = bratu2d_problem(m)
    lam = torch.tensor(2.0)
    S = spd_solver(A)
    u, info = dsla.nonlinear_solve(F, torch.zeros(m * m), lam, jacobian=None,
                                   linear_solver={"M": S.solve, "rtol": 1e-10},
                                   rtol=1e-10, return_info=True)
    assert info.converged, info.message
    u_ref = dsla.nonlinear_solve(F, torch.zeros(m * m), lam, jacobian=J, rtol=1e-12)
    np.testing.assert_allclose(u.numpy(), u_ref.numpy(), rtol=1e-7, atol=1e-10)
    # preconditioned GMRES needs few iterations per Newton step
    assert max(info.linear_iterations) <= 10
    # Anderson on the default damped map u - omega F(u) (omega below 2 / lambda_max)
    n = 20
    L, _ = bratu1d(n)
    Fs = bratu_F(L)
    w = 1.0 / float(L.norm("inf"))
    _, ia = dsla.nonlinear_solve(Fs, torch.zeros(n), torch.tensor(1.0), method="anderson",
                                 omega=w, anderson_m=10, rtol=1e-10, maxiter=400,
                                 return_info=True)
    assert ia.converged, ia.message


@pytest.mark.gpu
def test_bratu2d_cuda():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    m = 16
    A, F, J = bratu2d_problem(m)
    Ag = A.to(device="cuda")

    def Fg(u, lam):
        return Ag @ u - lam * torch.exp(u)

    def Jg(u, lam):
        r = Ag.row.long()
        v = Ag.values.clone()
        dm = r == Ag.col.long()
        v[dm] = v[dm] - lam * torch.exp(u[r[dm]])
        return Ag.with_values(v)

    lam = torch.tensor(5.0, device="cuda", requires_grad=True)
    u_ref = dsla.nonlinear_solve(F, torch.zeros(m * m), torch.tensor(5.0), jacobian=J,
                                 rtol=1e-12)
    for jac in (Jg, None):
        u, info = dsla.nonlinear_solve(Fg, torch.zeros(m * m, device="cuda"), lam, jacobian=jac,
                                       rtol=1e-10, linear_solver={"rtol": 1e-12},
                                       return_info=True)
        assert info.converged, info.message
        assert u.is_cuda
        np.testing.assert_allclose(u.detach().cpu().numpy(), u_ref.numpy(), rtol=1e-7,
                                   atol=1e-9)
        lam.grad = None
        u.sum().backward()
        assert torch.isfinite(lam.grad)


def test_newton_inner_solver_choice_and_nonsymmetric_gradient():
    """Direct LU where the build has SuiteSparse; else CG + AMG (symmetric Jacobian) or GMRES +
    ILU0 (nonsymmetric); gradients through the adjoint of either agree with finite differences."""
    direct = dsla.features["suitesparse"]
    m = 10
    A, F, J = bratu2d_problem(m)
    _, info = dsla.nonlinear_solve(F, torch.zeros(m * m), torch.tensor(2.0), jacobian=J,
                                   rtol=1e-10, return_info=True)
    assert info.linear_solver == ("lu" if direct else "cg+amg")
    _, info = dsla.nonlinear_solve(F, torch.zeros(m * m), torch.tensor(2.0), jacobian=J,
                                   rtol=1e-10, linear_solver={"method": "bicgstab",
                                                              "precond": "jacobi"},
                                   return_info=True)
    assert info.converged and info.linear_solver == "bicgstab+jacobi"
    C = dsla.convdiff2d(m, 5.0) * float((m + 1) ** 2)
    r = C.row.long()
    dm = r == C.col.long()

    def Fc(u, lam):
        return C @ u - lam * torch.exp(u)

    def Jc(u, lam):
        v = C.values.clone()
        v[dm] = v[dm] - lam * torch.exp(u[r[dm]])
        return C.with_values(v)

    lam = torch.tensor(2.0, requires_grad=True)
    u, info = dsla.nonlinear_solve(Fc, torch.zeros(m * m), lam, jacobian=Jc, rtol=1e-12,
                                   return_info=True)
    assert info.converged, info.message
    assert info.linear_solver == ("lu" if direct else "gmres+ilu0")
    u.sum().backward()
    e = 1e-6

    def s(x):
        return float(dsla.nonlinear_solve(Fc, torch.zeros(m * m), torch.tensor(x), jacobian=Jc,
                                          rtol=1e-12).sum())
    fd = (s(2.0 + e) - s(2.0 - e)) / (2 * e)
    assert abs(float(lam.grad) - fd) < 1e-6 * max(1.0, abs(fd))


def test_callback_exceptions_propagate_unchanged():
    """F, the Jacobian, G and the preconditioner run inside the C++ solve (and F inside the C++
    backward): what they raise reaches the caller as the same exception."""
    n = 20
    L, _ = bratu1d(n)
    F = bratu_F(L)

    class Boom(Exception):
        pass

    def raising(after):
        calls = [0]

        def f(u, lam):
            calls[0] += 1
            if calls[0] > after:
                raise Boom("from the callback")
            return F(u, lam)
        return f

    for jvp in ("autograd", "fd"):
        with pytest.raises(Boom):
            dsla.nonlinear_solve(raising(3), torch.zeros(n), torch.tensor(1.0), jvp=jvp)
    with pytest.raises(Boom):
        dsla.nonlinear_solve(F, torch.zeros(n), torch.tensor(1.0),
                             jacobian=lambda u, lam: (_ for _ in ()).throw(Boom()))
    with pytest.raises(Boom):
        dsla.nonlinear_solve(F, torch.zeros(n), torch.tensor(1.0), method="picard",
                             G=lambda u, lam: (_ for _ in ()).throw(Boom()))
    with pytest.raises(Boom):
        dsla.nonlinear_solve(F, torch.zeros(n), torch.tensor(1.0),
                             linear_solver={"M": lambda r: (_ for _ in ()).throw(Boom())})
    with pytest.raises(TypeError, match="argument 'jacobian'"):
        dsla.nonlinear_solve(F, torch.zeros(n), torch.tensor(1.0), jacobian=lambda u, lam: 3)
    with pytest.raises(ValueError, match="argument 'F'"):
        dsla.nonlinear_solve(lambda u: "residual", torch.zeros(3))
    with pytest.raises(ValueError, match="precond"):  # a named preconditioner needs a matrix
        dsla.nonlinear_solve(F, torch.zeros(n), torch.tensor(1.0),
                             linear_solver={"precond": "amg"})
    # raised inside backward (the adjoint's vjp calls F on the live params)
    for jac in (None, bratu_J(L)):
        fail = [False]

        def Fb(u, lam):
            if fail[0]:
                raise Boom("in backward")
            return F(u, lam)
        lam = torch.tensor(1.0, requires_grad=True)
        u = dsla.nonlinear_solve(Fb, torch.zeros(n), lam, jacobian=jac, rtol=1e-10)
        fail[0] = True
        with pytest.raises(Boom):
            u.sum().backward()
