"""Nonlinear solves ``F(u, *params) = 0`` with implicit-function (adjoint) gradients.

    u = dsla.nonlinear_solve(F, u0, theta, method="newton", jacobian=J)

Methods: ``"newton"`` (backtracking Armijo line search on ½‖F‖²), ``"picard"`` (fixed point
``u = G(u)``), ``"anderson"`` (Anderson acceleration of the same fixed point, depth
``anderson_m``, safeguarded: a step that raises the residual is replaced by the plain Picard
step and the history is cleared). ``G`` defaults to the damped residual step
``u − omega · F(u)``; pass ``G=`` for a problem-specific fixed-point map (e.g. a lagged
coefficient solve).

Jacobians (Newton): ``jacobian=callable(u, *params) -> SparseTensor`` assembles ∂F/∂u; the linear
solves go through a ``dsla.Solver`` that is refactored (numeric phase only) when the pattern is
unchanged. Its default (``linear_solver`` without a method): LU where this build has a direct
backend for u's device (``dsla.features``: suitesparse on the CPU, cudss on CUDA), else CG + AMG
for symmetric Jacobians with a positive diagonal (GMRES once CG fails) and GMRES + ILU0 (CPU) /
Jacobi (CUDA) otherwise, rtol ≤ 1e-10; ``info.linear_solver`` names it.
``jacobian="autograd"`` builds a dense Jacobian with autograd (small problems only).
``jacobian=None`` is Jacobian-free Newton–Krylov: GMRES (dsla) on exact Jacobian-vector products
(the double-vjp trick, ``jvp="autograd"``) or finite differences (``jvp="fd"``), with an optional
preconditioner ``linear_solver={"M": callable or SparseTensor}``.

Why Python: ``F`` is an arbitrary differentiable torch function that must be called from
Python; the algorithms orchestrate torch ops and dsla's C++ solvers (``dsla.Solver``,
``_C.operator_solve``), so every linear solve runs in the library.

Gradients: the forward runs under ``no_grad``; one autograd node computes, in backward,
``(∂F/∂u)ᵀ λ = g`` (one transpose solve: ``Solver.solve_adjoint`` with an assembled Jacobian,
GMRES on vjp products otherwise) and returns ``−λᵀ ∂F/∂θ`` (one vjp) to every tensor param that
requires grad, to ``SparseTensor`` params' values, and to tensors listed in ``captured=`` (tensors
``F`` closes over, e.g. ``A.values``). Memory does not grow with the iteration count.
"""
import math
import warnings
from dataclasses import dataclass, field
from typing import List

import torch

from . import _C
# Newton assembles Jacobians as SparseTensors and solves with dsla.Solver: this module sits
# above sparse_tensor and solve, neither of which imports it.
from .solve import Solver, _options
from .sparse_tensor import SparseTensor

METHODS = ("newton", "picard", "anderson")


class NonlinearWarning(UserWarning):
    """A nonlinear solve that did not converge (see the info's message)."""


@dataclass
class NonlinearInfo:
    method: str = "newton"
    converged: bool = False
    status: str = "max_iterations"  # converged, step_tol, max_iterations, diverged, stagnated,
    #                                 line_search_failed, linear_solve_failed
    iterations: int = 0
    residual: float = float("nan")  # final ‖F(u)‖
    residual_history: List[float] = field(default_factory=list)
    linear_iterations: List[int] = field(default_factory=list)  # per Newton step
    # Newton's inner solver: "lu"/"cholesky" (direct), "cg+amg", "gmres+ilu0", "gmres+jacobi"
    # (iterative: no direct backend for the device), "jfnk-gmres" (matrix-free), "" otherwise
    linear_solver: str = ""
    function_evals: int = 0
    message: str = ""

    @property
    def total_linear_iterations(self):
        return int(sum(self.linear_iterations))


def _err(arg, msg):
    return ValueError(f"dsla: argument '{arg}': {msg}")


def _detached_params(params):
    out = []
    for p in params:
        if isinstance(p, SparseTensor):
            out.append(p.detach())
        elif isinstance(p, torch.Tensor):
            out.append(p.detach())
        else:
            out.append(p)
    return out


def _norm(r):
    return float(torch.linalg.vector_norm(r))


class _Linear:
    """The Newton linear solves: assembled (a dsla.Solver, refactored across steps) or
    matrix-free GMRES on Jacobian-vector products."""

    def __init__(self, F, params, jacobian, opts, jvp):
        self.F, self.params, self.jacobian, self.jvp = F, params, jacobian, jvp
        self.opts = dict(opts or {})
        self.solver = None
        self.pattern = None
        self.last_its = 0
        self.name = ""

    # -- assembled ------------------------------------------------------------------------
    def _assemble(self, u):
        if self.jacobian == "autograd":
            with torch.enable_grad():
                J = torch.autograd.functional.jacobian(lambda v: self.F(v, *self.params), u)
            return SparseTensor.from_dense(J.reshape(u.numel(), u.numel()))
        J = self.jacobian(u, *self.params)
        if not isinstance(J, SparseTensor):
            raise TypeError("dsla: argument 'jacobian': the callback must return a "
                            f"dsla.SparseTensor, got {type(J).__name__}")
        if J.shape != (u.numel(), u.numel()):
            raise _err("jacobian", f"returned shape {J.shape}; expected {(u.numel(),) * 2}")
        return J.detach()

    def prepare(self, u):
        """Linearize at u (assembled: (re)factor; matrix-free: build the vjp graph)."""
        self.u = u
        if self.jacobian is not None:
            J = self._assemble(u)
            self.J = J
            pat = (J.nnz, J.crow, J.col)
            same = (self.pattern is not None and self.pattern[0] == pat[0]
                    and torch.equal(self.pattern[1], pat[1])
                    and torch.equal(self.pattern[2], pat[2]))
            if same:
                self.solver.refactor(J.values)
            else:
                # method "auto": LU where this build has a direct backend for J's device, else
                # CG + AMG (symmetric, positive diagonal) or GMRES + ILU0 (CPU) / Jacobi (CUDA),
                # rtol <= 1e-10 (_C.inner_solver, the policy shift-invert eigensolvers use too).
                self.solver, self.name = _inner_solver(J, self.opts, "general")
                self.pattern = pat
            return
        self.name = "jfnk-" + str(self.opts.get("method") or "gmres").replace("auto", "gmres")
        if self.opts.get("M") is not None:
            self.name += "+user"
        self._graph = None
        if self.jvp == "autograd":
            with torch.enable_grad():
                uu = u.detach().requires_grad_(True)
                r = self.F(uu, *self.params)
                w = torch.zeros_like(r, requires_grad=True)
                (jtw,) = torch.autograd.grad(r, uu, w, create_graph=True)
            self._graph = (w, jtw)
        else:
            self._r0 = self.F(u, *self.params)

    def _jv(self, v):
        if self.jvp == "autograd":
            w, jtw = self._graph
            (jv,) = torch.autograd.grad(jtw, w, v, retain_graph=True)
            return jv
        eps = math.sqrt(torch.finfo(v.dtype).eps) * (1 + _norm(self.u)) / max(_norm(v), 1e-300)
        return (self.F(self.u + eps * v, *self.params) - self._r0) / eps

    def solve(self, rhs):
        if self.jacobian is not None:
            x, info = self.solver._s.solve(rhs)  # no SolveWarning: the NonlinearInfo reports
            if (not info.converged and self.solver.method == "cg"
                    and self.opts.get("method", "auto") in ("auto", None)):
                # symmetric but not positive definite after all: GMRES from here on
                self.solver, self.name = _inner_solver(self.J, self.opts, "gmres")
                x, info = self.solver._s.solve(rhs)
            self.last_its = int(info.iterations)
            return x, bool(info.converged), info.message
        return _operator_solve(lambda X: torch.stack([self._jv(X[:, j]) for j in
                                                      range(X.shape[1])], 1),
                               rhs, self.opts)


def _inner_solver(J, opts, kind):
    """(dsla.Solver, name) for Newton's assembled Jacobian J (see _C.inner_solver)."""
    o = {k: v for k, v in opts.items() if k != "M"}
    d = _options(J, o.get("method") or "auto", o.get("precond"), float(o.get("rtol", 1e-8)),
                 float(o.get("atol", 0.0)), o.get("maxiter"), int(o.get("restart", 30)), None,
                 None, False, None, None, False, o.get("ordering", "auto"))
    s, name = _C.inner_solver(J._m, d, kind, 1e-10)
    return Solver._wrap(s), name


def _operator_solve(apply, b, opts):
    """GMRES (dsla) on a matrix-free operator; returns (x, converged, message)."""
    d = {"method": opts.get("method", "gmres"), "rtol": float(opts.get("rtol", 1e-8)),
         "restart": int(opts.get("restart", 50))}
    if d["method"] in ("auto", None):
        d["method"] = "gmres"
    if "maxiter" in opts and opts["maxiter"] is not None:
        d["maxiter"] = int(opts["maxiter"])
    M = opts.get("M")
    if M is not None:
        if isinstance(M, SparseTensor):
            d["M"] = lambda X, M=M: M @ X
        else:
            d["M"] = lambda X, M=M: torch.stack([M(X[:, j]) for j in range(X.shape[1])], 1)
    x, info = _C.operator_solve(apply, b, d)
    _operator_solve.last_its = int(info.iterations)
    return x, bool(info.converged), info.message


_operator_solve.last_its = 0


def _eval(F, u, params, info):
    """(F(u), ‖F(u)‖), counted."""
    r = F(u, *params)
    info.function_evals += 1
    return r, _norm(r)


def _stop(info, it, rn, r0, tol, maxiter, divtol):
    """The stop test at the top of iteration ``it`` (Newton, JFNK, Picard, Anderson): sets
    info.iterations and, when the loop ends here, info.status; returns whether it ends."""
    info.iterations = it
    if not math.isfinite(rn) or rn > divtol * max(r0, 1e-300):
        info.status = "diverged"
    elif rn <= tol:
        info.status = "converged"
    elif it == maxiter:
        info.status = "max_iterations"
    else:
        return False
    return True


def _accept(info, it, u, rn, step, step_tol, tol):
    """Records the accepted step of iteration ``it`` (new iterate u, residual norm rn, step
    length); returns whether the step tolerance ends the loop (status set)."""
    info.residual_history.append(rn)
    if step_tol > 0 and step <= step_tol * (1 + _norm(u)):
        info.iterations = it + 1
        info.status = "step_tol" if rn > tol else "converged"
        return True
    return False


def _newton(F, u, params, lin, info, rtol, atol, maxiter, step_tol, line_search, divtol):
    r, rn = _eval(F, u, params, info)
    r0 = rn
    info.residual_history.append(rn)
    tol = max(rtol * r0, atol)
    for it in range(maxiter + 1):
        if _stop(info, it, rn, r0, tol, maxiter, divtol):
            return u
        lin.prepare(u)
        du, ok, msg = lin.solve(-r)
        info.linear_solver = lin.name
        info.linear_iterations.append(lin.last_its if lin.jacobian is not None
                                      else _operator_solve.last_its)
        if not bool(torch.isfinite(du).all()):
            info.status = "linear_solve_failed"
            info.message = msg
            return u
        t = 1.0
        phi0 = rn * rn
        while True:
            un = u + t * du
            rnew, rnn = _eval(F, un, params, info)
            # Armijo on ½‖F‖²: the Newton direction has slope −‖F‖² (c = 1e-4).
            if not line_search or (math.isfinite(rnn) and rnn * rnn <= (1 - 2e-4 * t) * phi0):
                break
            t *= 0.5
            if t < 1e-10:
                info.status = "line_search_failed"
                info.residual = rn
                info.message = ("the line search found no decrease along the Newton direction "
                                "(inaccurate Jacobian or linear solve" +
                                ("" if ok else f": {msg}") + ", or a local minimum of ‖F‖)")
                return u
        step = t * _norm(du)
        u, r, rn = un, rnew, rnn
        if _accept(info, it, u, rn, step, step_tol, tol):
            return u
    return u


def _fixed_point(F, G, u, params, info, rtol, atol, maxiter, step_tol, anderson_m, beta,
                 divtol, stall):
    _, rn = _eval(F, u, params, info)
    r0 = rn
    info.residual_history.append(rn)
    tol = max(rtol * r0, atol)
    dU, dFs = [], []
    f_prev = u_prev = None
    for it in range(maxiter + 1):
        if _stop(info, it, rn, r0, tol, maxiter, divtol):
            return u
        h = info.residual_history
        if len(h) > stall and h[-1] > 0.99 * h[-1 - stall]:
            # no progress over the window: growing residuals diverge, flat ones stagnate
            info.status = "diverged" if h[-1] > 10 * h[-1 - stall] else "stagnated"
            return u
        g = G(u, *params)
        f = (g - u).reshape(-1)
        picard = u + beta * (g - u)
        un = picard
        if anderson_m > 0:
            if f_prev is not None:
                dFs.append(f - f_prev)
                dU.append((u - u_prev).reshape(-1))
                if len(dFs) > anderson_m:
                    dFs.pop(0)
                    dU.pop(0)
            if dFs:
                dF = torch.stack(dFs, 1)
                dUm = torch.stack(dU, 1)
                gamma = torch.linalg.lstsq(dF, f.unsqueeze(1), rcond=None).solution.squeeze(1)
                if bool(torch.isfinite(gamma).all()):
                    un = (u.reshape(-1) + beta * f - (dUm + beta * dF) @ gamma).reshape(u.shape)
            u_prev, f_prev = u, f
        _, rnn = _eval(F, un, params, info)
        if anderson_m > 0 and un is not picard and (not math.isfinite(rnn) or rnn > 2 * rn):
            # Safeguard: reject the accelerated step, restart the history.
            un = picard
            dU.clear()
            dFs.clear()
            u_prev = f_prev = None
            _, rnn = _eval(F, un, params, info)
        step = _norm(un - u)
        u, rn = un, rnn
        if _accept(info, it, u, rn, step, step_tol, tol):
            return u
    return u


def _run(F, G, u0, params, method, jacobian, linear_solver, rtol, atol, maxiter, step_tol,
         line_search, anderson_m, omega, jvp, divtol, stall):
    info = NonlinearInfo(method=method)
    p = _detached_params(params)
    u = u0.detach().clone()
    with torch.no_grad():
        if method == "newton":
            lin = _Linear(F, p, jacobian, linear_solver, jvp)
            u = _newton(F, u, p, lin, info, rtol, atol, maxiter, step_tol, line_search, divtol)
        else:
            if G is None:
                def G(v, *q):
                    return v - omega * F(v, *q)
            m = anderson_m if method == "anderson" else 0
            u = _fixed_point(F, G, u, p, info, rtol, atol, maxiter, step_tol, m, 1.0, divtol,
                             stall)
    info.residual = info.residual_history[-1] if info.residual_history else float("nan")
    info.converged = info.status in ("converged", "step_tol")
    if not info.message:
        info.message = (f"{method} {'converged' if info.converged else 'did not converge'}: "
                        f"{info.status} after {info.iterations} iterations, ‖F‖ = "
                        f"{info.residual:.3e} (from {info.residual_history[0]:.3e})")
    else:
        info.message = f"{method} did not converge: {info.status}: {info.message}"
    return u, info


def _adjoint_solve(F, u, params, jacobian, linear_solver, g, cache):
    """λ with (∂F/∂u)ᵀ λ = g at the solution u."""
    if jacobian is not None:
        lin = cache.get("lin")
        if lin is None:
            lin = _Linear(F, _detached_params(params), jacobian, linear_solver, "autograd")
        lin.prepare(u)  # refactor at u* (same pattern: numeric phase only)
        lam, info = lin.solver.solve_adjoint(g, return_info=True)
        ok, msg = bool(info.converged), info.message
    else:
        p = _detached_params(params)
        with torch.enable_grad():
            uu = u.detach().requires_grad_(True)
            r = F(uu, *p)

            def vjp(X):
                return torch.stack([torch.autograd.grad(r, uu, X[:, j], retain_graph=True)[0]
                                    for j in range(X.shape[1])], 1)

            opts = dict(linear_solver or {})
            opts.pop("M", None)  # the forward preconditioner approximates J, not Jᵀ
            opts.setdefault("rtol", 1e-10)
            lam, ok, msg = _operator_solve(vjp, g, opts)
    if not ok:
        warnings.warn(f"dsla: nonlinear_solve backward: the adjoint solve did not converge "
                      f"({msg}); gradients are inaccurate", NonlinearWarning, stacklevel=3)
    return lam


class _Implicit(torch.autograd.Function):
    """u* as a function of the params through F(u*, θ) = 0: one node, no unrolling."""

    @staticmethod
    def forward(ctx, spec, u_star, *inputs):
        ctx.spec = spec
        ctx.save_for_backward(u_star)
        return u_star.clone()

    @staticmethod
    def backward(ctx, g):
        (u_star,) = ctx.saved_tensors
        F, params, jacobian, linear_solver, inputs, cache = ctx.spec
        lam = _adjoint_solve(F, u_star, params, jacobian, linear_solver,
                             g.reshape(u_star.shape).contiguous(), cache)
        need = [i for i, t in enumerate(inputs) if t.requires_grad]
        grads = [None] * len(inputs)
        if need:
            with torch.enable_grad():
                r = F(u_star.detach(), *params)
                gs = torch.autograd.grad(r, [inputs[i] for i in need], -lam, allow_unused=True)
            for i, gi in zip(need, gs):
                grads[i] = gi
        return (None, None, *grads)


def nonlinear_solve(F, u0, *params, method="newton", jacobian=None, G=None, linear_solver=None,
                    rtol=1e-8, atol=0.0, maxiter=50, step_tol=0.0, line_search=True,
                    anderson_m=5, omega=1.0, jvp="autograd", captured=(), divtol=1e8, stall=10,
                    return_info=False, raise_on_failure=False):
    """Solve ``F(u, *params) = 0`` from ``u0``; differentiable in the params (implicit adjoint).

    method: ``"newton"`` | ``"picard"`` | ``"anderson"``. jacobian (Newton): callable
    ``(u, *params) -> SparseTensor`` (assembled, Solver reused via refactor), ``"autograd"``
    (dense, small problems), or None (JFNK). linear_solver: dict of ``dsla.Solver`` options
    (method, precond, rtol, maxiter, restart) or, matrix-free, GMRES options plus ``M`` (a
    preconditioner callable r -> M r or SparseTensor ≈ J⁻¹). G (picard/anderson): fixed-point map
    ``(u, *params) -> u`` (default ``u − omega F(u)``). Convergence: ``‖F(u)‖ ≤ max(rtol ‖F(u0)‖,
    atol)``, or a step below ``step_tol (1 + ‖u‖)``. Divergence (NaN/Inf, ``‖F‖ > divtol ‖F(u0)‖``),
    stagnation (``stall`` fixed-point iterations without 1% progress) and line-search failure are
    reported in the info; ``raise_on_failure=True`` raises ``dsla.SolveError``.
    captured: tensors F closes over (e.g. ``A.values``) that should receive gradients.

    Returns ``u`` or ``(u, info)`` (a NonlinearInfo).
    """
    if not callable(F) and not (F is None and G is not None):
        raise TypeError("dsla: argument 'F': expected a callable F(u, *params) -> residual")
    method = str(method).lower()
    if method not in METHODS:
        raise _err("method", f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if F is None:
        def F(v, *q):
            return v - G(v, *q)
    if not isinstance(u0, torch.Tensor):
        raise TypeError(f"dsla: argument 'u0': expected a tensor, got {type(u0).__name__}")
    if u0.dim() != 1:
        raise _err("u0", f"must be a 1-D tensor [n]; got shape {tuple(u0.shape)} (flatten it)")
    if not (jacobian is None or jacobian == "autograd" or callable(jacobian)):
        raise _err("jacobian", "must be None (JFNK), 'autograd', or a callable returning a "
                   "SparseTensor")
    if jvp not in ("autograd", "fd"):
        raise _err("jvp", f"must be 'autograd' or 'fd'; got {jvp!r}")
    if maxiter < 0:
        raise _err("maxiter", f"must be >= 0; got {maxiter}")
    if method == "anderson" and anderson_m < 1:
        raise _err("anderson_m", f"must be >= 1; got {anderson_m}")
    for i, p in enumerate(params):
        if not isinstance(p, (torch.Tensor, SparseTensor)) and p is not None:
            if not isinstance(p, (int, float, complex, bool, str)):
                raise TypeError(f"dsla: argument 'params[{i}]': expected a tensor, SparseTensor "
                                f"or number, got {type(p).__name__}")
    r0 = F(u0.detach(), *_detached_params(params))
    if not isinstance(r0, torch.Tensor) or r0.shape != u0.shape:
        raise _err("F", f"must return a tensor of u's shape {tuple(u0.shape)}; got "
                   f"{getattr(r0, 'shape', type(r0).__name__)}")
    u_star, info = _run(F, G, u0, params, method, jacobian, linear_solver, rtol, atol, maxiter,
                        step_tol, line_search, anderson_m, omega, jvp, divtol, stall)
    if not info.converged:
        if raise_on_failure:
            raise _C.SolveError("dsla: " + info.message)
        warnings.warn("dsla: " + info.message, NonlinearWarning, stacklevel=2)
    inputs = []
    for p in params:
        if isinstance(p, SparseTensor):
            inputs.append(p.values)
        elif isinstance(p, torch.Tensor):
            inputs.append(p)
    inputs.extend(captured)
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        spec = (F, params, jacobian, linear_solver, inputs, {})
        u = _Implicit.apply(spec, u_star, *inputs)
    else:
        u = u_star
    return (u, info) if return_info else u
