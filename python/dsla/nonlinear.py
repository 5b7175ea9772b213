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
``jacobian=None`` is Jacobian-free Newton–Krylov: GMRES (restart ≥ 50 unless a method is named)
on exact Jacobian-vector products (the double-vjp trick, ``jvp="autograd"``) or finite
differences (``jvp="fd"``), with an optional preconditioner ``linear_solver={"M": callable or
SparseTensor}``.

One implementation: the iterations, the linear-solve policy and the gradient are dsla's C++
(``dsla::nonlinear_solve`` in src/solve/nonlinear, the adjoint node in
src/autograd/nonlinear_fn.cpp), which C++ users call directly. This module checks the
arguments, binds the params into functions of u, and passes them to ``_C.nonlinear_solve``,
which calls back into Python for F, the Jacobian, G and the preconditioner.

Gradients: the forward records no graph; one autograd node computes, in backward,
``(∂F/∂u)ᵀ λ = g`` (one transpose solve: the Solver's adjoint with an assembled Jacobian,
GMRES on vjp products otherwise) and returns ``−λᵀ ∂F/∂θ`` (one vjp) to every tensor param that
requires grad, to ``SparseTensor`` params' values, and to tensors listed in ``captured=`` (tensors
``F`` closes over, e.g. ``A.values``). Memory does not grow with the iteration count.
"""
import warnings
from dataclasses import dataclass, field
from typing import List

import torch

from . import _C, _interop, _progress
from ._util import as_int
# Jacobians arrive as SparseTensors and the linear options are solve's: this module sits above
# sparse_tensor and solve, neither of which imports it.
from .solve import _options
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
    # (iterative: no direct backend for the device), "jfnk-gmres" (matrix-free; "+user" with a
    # preconditioner M), "" otherwise
    linear_solver: str = ""
    function_evals: int = 0
    message: str = ""

    @property
    def total_linear_iterations(self):
        return int(sum(self.linear_iterations))


def _err(arg, msg):
    return ValueError(f"dsla: argument '{arg}': {msg}")


def _detached_params(params):
    return [p.detach() if isinstance(p, (SparseTensor, torch.Tensor)) else p for p in params]


def _jacobian_callback(F, jacobian, p):
    """u -> _C.SparseMatrix: the user's assembly (checked), or a dense autograd Jacobian."""
    if jacobian is None:
        return None
    if jacobian == "autograd":
        def J(u):
            with torch.enable_grad():
                Jd = torch.autograd.functional.jacobian(lambda v: F(v, *p), u)
            return SparseTensor.from_dense(Jd.reshape(u.numel(), u.numel()))._m
        return J

    def J(u):
        # A SparseTensor, or a torch sparse / dense tensor or scipy.sparse matrix (converted).
        return _interop.as_sparse(jacobian(u, *p), "jacobian")._m
    return J


def _dist_jacobian_callback(jacobian, p):
    """u -> _C.DistMatrix: the user's distributed assembly (checked)."""
    if jacobian is None:
        return None

    def J(u):
        Jm = jacobian(u, *p)
        if not getattr(Jm, "_is_distributed", False):
            raise TypeError("dsla: argument 'jacobian': with dist it must return a "
                            f"dsla.distributed.DistTensor, got {type(Jm).__name__}")
        return Jm._m
    return J


def _preconditioner(M):
    """The JFNK preconditioner on [n, k] blocks (a SparseTensor, or a callable r -> M r)."""
    if M is None:
        return None
    if isinstance(M, SparseTensor):
        return lambda X: M @ X
    if not callable(M):
        raise TypeError("dsla: argument 'linear_solver': 'M' must be a callable r -> M r or a "
                        f"SparseTensor, got {type(M).__name__}")
    return lambda X: torch.stack([M(X[:, j]) for j in range(X.shape[1])], 1)


def _linear_options(opts):
    """The Solver options dict of Newton's linear solves (validated as dsla.solve does)."""

    return _options(None, opts.get("method") or "auto", opts.get("precond"),
                    float(opts.get("rtol", 1e-8)), float(opts.get("atol", 0.0)),
                    opts.get("maxiter"), opts.get("restart", 30), None, None, False, None, None,
                    False, opts.get("ordering", "auto"))


def nonlinear_solve(F, u0, *params, method="newton", jacobian=None, G=None, linear_solver=None,
                    rtol=1e-8, atol=0.0, maxiter=50, step_tol=0.0, line_search=True,
                    anderson_m=5, omega=1.0, jvp=None, captured=(), divtol=1e8, stall=10,
                    return_info=False, raise_on_failure=False, dist=None):
    """Solve ``F(u, *params) = 0`` from ``u0``; differentiable in the params (implicit adjoint).

    method: ``"newton"`` | ``"picard"`` | ``"anderson"``. jacobian (Newton): callable
    ``(u, *params) -> SparseTensor`` (assembled, Solver reused via refactor), ``"autograd"``
    (dense, small problems), or None (JFNK). linear_solver: dict of ``dsla.Solver`` options
    (method, precond, rtol, maxiter, restart) or, matrix-free, GMRES options plus ``M`` (a
    preconditioner callable r -> M r or SparseTensor ≈ J⁻¹). G (picard/anderson): fixed-point map
    ``(u, *params) -> u`` (default ``u − omega F(u)``). Convergence: ``‖F(u)‖ ≤ max(rtol ‖F(u0)‖,
    atol)``, or a step below ``step_tol (1 + ‖u‖)``. Divergence (NaN/Inf, ``‖F‖ > divtol ‖F(u0)‖``),
    stagnation (``stall`` fixed-point iterations without 1% progress; 0 never) and line-search
    failure are reported in the info; ``raise_on_failure=True`` raises ``dsla.SolveError``.
    captured: tensors F closes over (e.g. ``A.values``) that should receive gradients.
    jvp (JFNK): ``"autograd"`` (exact, the default on one process) or ``"fd"`` (finite
    differences; the default with ``dist``).

    dist: a :class:`dsla.distributed.DistTensor` whose row distribution u follows — u0 and F(u)
    are this rank's owned slices, F may call ``A @ u`` or ``A.halo(u)`` (collectives: every rank
    alike) — for a solve over the ranks: every norm and inner product of the iterations is
    all-reduced, so every rank takes the same steps, and the info is the same everywhere.
    jacobian then returns a DistTensor of the same distribution (``A.with_values(...)`` keeps
    the pattern, so the DistSolver is only refactored), or None (JFNK over the ranks). The
    gradient (one distributed adjoint solve; backward is a collective) reaches the params and
    captured tensors of each rank: sum over ranks with :func:`dsla.distributed.global_sum` on
    the loss, as for ``dsla.solve``. Newton, Picard and Anderson.

    Returns ``u`` or ``(u, info)`` (a NonlinearInfo).
    """
    if not callable(F) and not (F is None and G is not None):
        raise TypeError("dsla: argument 'F': expected a callable F(u, *params) -> residual")
    if G is not None and not callable(G):
        raise TypeError(f"dsla: argument 'G': expected a callable G(u, *params) -> u, got "
                        f"{type(G).__name__}")
    method = str(method).lower()
    if method not in METHODS:
        raise _err("method", f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if F is None:
        def F(v, *q):
            return v - G(v, *q)
    if not isinstance(u0, torch.Tensor):
        raise TypeError(f"dsla: argument 'u0': expected a tensor, got {type(u0).__name__}")
    if not (jacobian is None or jacobian == "autograd" or callable(jacobian)):
        raise _err("jacobian", "must be None (JFNK), 'autograd', or a callable returning a "
                   "SparseTensor")
    if dist is not None and not getattr(dist, "_is_distributed", False):
        raise TypeError(f"dsla: argument 'dist': expected a dsla.distributed.DistTensor, got "
                        f"{type(dist).__name__}")
    if dist is not None:
        # Agreed on: a bad u0 on one rank raises on every rank (none waits in a collective).
        from .distributed import _agree

        err = None
        if u0.dim() != 1 or u0.shape[0] != dist.n_owned:
            err = _err("u0", f"must be this rank's owned slice [{dist.n_owned}] of the "
                       f"distribution of 'dist', got shape {tuple(u0.shape)}")
        elif jacobian == "autograd":
            err = _err("jacobian", "'autograd' builds a dense Jacobian of one process; with "
                       "dist pass a callable returning a DistTensor, or None (JFNK)")
        _agree(dist._m.comm, err, "nonlinear_solve")
    if jvp is None:
        jvp = "fd" if dist is not None else "autograd"
    if jvp not in ("autograd", "fd"):
        raise _err("jvp", f"must be 'autograd' or 'fd'; got {jvp!r}")
    for i, p in enumerate(params):
        if not isinstance(p, (torch.Tensor, SparseTensor)) and p is not None:
            if not isinstance(p, (int, float, complex, bool, str)):
                raise TypeError(f"dsla: argument 'params[{i}]': expected a tensor, SparseTensor "
                                f"or number, got {type(p).__name__}")
    captured = tuple(captured)
    for i, t in enumerate(captured):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"dsla: argument 'captured[{i}]': expected a tensor, got "
                            f"{type(t).__name__}")
    lin = dict(linear_solver or {})
    M = _preconditioner(lin.pop("M", None)) if jacobian is None else None  # JFNK only
    options = dict(method=method, rtol=float(rtol), atol=float(atol), step_tol=float(step_tol),
                   maxiter=as_int(maxiter, "maxiter"), line_search=bool(line_search),
                   anderson_m=as_int(anderson_m, "anderson_m"), omega=float(omega),
                   divtol=float(divtol), stall=as_int(stall, "stall"),
                   linear=_linear_options(lin))

    # The solve sees the params detached; the gradient's residual reads the live ones.
    p = _detached_params(params)
    inputs = [q.values if isinstance(q, SparseTensor) else q for q in params
              if isinstance(q, (SparseTensor, torch.Tensor))]
    inputs.extend(captured)
    wants_grad = torch.is_grad_enabled() and any(t.requires_grad for t in inputs)
    jac = (_dist_jacobian_callback(jacobian, p) if dist is not None
           else _jacobian_callback(F, jacobian, p))
    u, d = _C.nonlinear_solve(
        lambda u: F(u, *p), (lambda u: F(u, *params)) if wants_grad else None, u0,
        jac, None if G is None else (lambda u: G(u, *p)), M, jvp,
        inputs if wants_grad else [], options, None if dist is None else dist._m)
    info = NonlinearInfo(method=method, **d)
    _progress.report("nonlinear_solve", info.message)
    if not info.converged:
        if raise_on_failure:
            raise _C.SolveError("dsla: " + info.message)
        warnings.warn("dsla: " + info.message, NonlinearWarning, stacklevel=2)
    return (u, info) if return_info else u
