"""Eigenvalues and singular values of sparse matrices (a few of them).

``eigsh`` (symmetric / Hermitian, generalized with SPD ``M``): LOBPCG with an optional
preconditioner, shift-invert through a ``dsla.Solver`` for interior eigenvalues (``sigma``).
``eigs`` (nonsymmetric): restarted Arnoldi. ``svds``: singular triplets. ``norm``/``cond``.

Pair ``i`` has converged when ``‖A x − λ M x‖ / ((‖A‖ + |λ| ‖M‖) ‖x‖) ≤ tol``; ``info``
(``return_info=True``) reports the converged count and these residuals, recomputed on the
original problem. Non-convergence warns, or raises ``dsla.SolveError`` with
``raise_on_failure=True``. Eigenvalues come in ascending order.

Gradients flow to ``A.values`` (and ``M.values``): eigenvalues always, eigenvectors where the
eigenvalues are simple (clusters closer than ``degenerate_tol`` warn: only functions invariant
under rotations within a cluster, such as its projector, then have meaningful gradients),
singular values, and singular vectors of real matrices where the singular values are simple
(through the eigenvector rule on ``[[0, A], [Aᵀ, 0]]``: clusters closer than ``degenerate_tol``
warn as above, and singular values near 0 make the vector gradients ill-conditioned).
``eigs`` results are not differentiable.
"""
import warnings

import torch

from . import _C
from . import _interop, _progress
from ._sparse_base import is_sparse_tensor

EigenInfo = _C.EigenInfo


def _check_A(A, name="A"):
    """A (or M) as a SparseTensor: torch sparse, dense and scipy.sparse matrices are converted."""
    return _interop.as_sparse(A, name)


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"dsla: argument 'k': expected an int, got {type(k).__name__}")


def _precond_entry(precond, d):
    if precond is None:
        pass  # "auto": eigsh's automatic plan
    elif isinstance(precond, str):
        d["precond"] = precond.lower()
    elif is_sparse_tensor(precond):
        d["precond_op"] = lambda x: precond @ x
    elif callable(precond):
        d["precond_op"] = precond
    else:
        raise TypeError("dsla: argument 'precond': expected a name ('jacobi', 'amg', ...), a "
                        "SparseTensor, or a callable X -> T X on [n, m] tensors")


def _options(which, tol, maxiter, block, sigma, solver, X0, seed, raise_on_failure,
             degenerate_tol=1e-6, precond=None):
    d = dict(which=str(which).upper(), tol=float(tol), seed=int(seed), warn=False,
             raise_on_failure=bool(raise_on_failure), degenerate_tol=float(degenerate_tol))
    if maxiter is not None:
        d["maxiter"] = int(maxiter)
    if block is not None:
        d["block"] = int(block)
    if sigma is not None:
        d["sigma"] = float(sigma)
    if X0 is not None:
        d["X0"] = torch.as_tensor(X0)
    if solver is not None:
        if isinstance(solver, str):
            solver = {"method": solver}
        for key in ("method", "precond", "rtol", "maxiter"):
            if key in solver:
                d["solver_" + key] = solver[key]
    _precond_entry(precond, d)
    return d


class EigenWarning(UserWarning):
    """An eigensolve that did not converge (see the EigenInfo in the message)."""


def _report(info, raise_on_failure):
    if not info.ok and not raise_on_failure:
        warnings.warn(f"dsla: {info.message}", EigenWarning, stacklevel=3)


def eigsh(A, k=6, which="LM", M=None, precond=None, sigma=None, tol=1e-8, maxiter=None,
          block=None, X0=None, seed=0, solver=None, return_info=False, raise_on_failure=False,
          degenerate_tol=1e-6):
    """k eigenpairs of a symmetric / Hermitian ``A`` (``A x = λ M x`` with SPD ``M``).

    which: ``"LM"`` largest magnitude (the default, as in SciPy; it was ``"SA"`` before
    0.2, see CHANGELOG.md), ``"SA"`` smallest, ``"LA"`` largest, ``"SM"`` smallest magnitude
    (shift-invert at 0). Values come in ascending order, as SciPy's. sigma: the k eigenvalues nearest sigma (shift-invert through
    a Solver; ``solver`` = method name or dict of method/precond/rtol/maxiter). The default
    inner solver is direct where this build has one for A's device (Cholesky, else LU;
    ``dsla.features``: suitesparse on the CPU, cudss on CUDA), else iterative at rtol 1e-12:
    CG + AMG when A − σM has a positive diagonal, MINRES (+ Jacobi for a positive diagonal),
    moving on when a stage does not converge; when none converges, ``dsla.SolveError``.
    ``info.inner_solver`` names the one used. precond: ``"jacobi"``, ``"amg"``, ``"none"``, a
    SparseTensor or a callable approximating ``A⁻¹`` (LOBPCG's preconditioner).

    Defaults (changed: plain LOBPCG did not converge on ill-conditioned matrices): with
    ``precond``, ``block``, ``X0`` and ``solver`` left unset, a plan picks the path, named in
    ``info.method``: ``"dense-eigh"`` for n ≤ 256; for ``"SA"`` on an SPD A,
    ``"shift-invert(cholesky)"`` at σ = 0 where the build has a direct solver for A's device,
    else ``"lobpcg+amg"`` (positive diagonal); ``"lobpcg"`` otherwise. Setting any of those
    four runs LOBPCG (or shift-invert) as configured. The default LOBPCG block is
    ``k + max(4, k)``.
    Returns ``(values [k], vectors [n, k])`` (+ info): differentiable in A.values / M.values.
    A batched A (or M) of B members gives ``(values [B, k], vectors [B, n, k])``, each member
    solved as its own eigenproblem (info: a list of the members' infos). X0 may be ``[B, n, b]``.
    A matrix-free Hermitian operator (a scipy ``LinearOperator``, an object with ``shape`` and
    ``matvec``, or a callable with ``X0`` giving n, dtype and device) runs LOBPCG on its
    products: which ``"LM"``, ``"SA"``, ``"LA"``; ``precond`` a callable approximating ``A⁻¹``;
    not differentiable (no entries). A :class:`dsla.distributed.DistTensor` runs
    :func:`dsla.distributed.eigsh` (LOBPCG over the ranks; ``sigma`` / ``"SM"`` by
    shift-invert through a distributed inner solve).
    """
    if getattr(A, "_is_distributed", False):
        if M is not None:
            raise ValueError("dsla: argument 'M': generalized problems are not available for "
                             "distributed matrices; pass M=None")
        return A._eigsh(k, which=which, precond=precond, tol=tol, maxiter=maxiter,
                        block=block, X0=X0, seed=seed, return_info=return_info,
                        raise_on_failure=raise_on_failure, sigma=sigma, solver=solver)
    if _interop.is_operator(A):
        _check_k(k)
        lam, U, info = _interop.operator_eigsh(A, k, which, M, sigma, precond, tol, maxiter,
                                               block, X0, seed, raise_on_failure)
        _progress.report("eigsh", info.message)
        _report(info, raise_on_failure)
        return (lam, U, info) if return_info else (lam, U)
    A = _check_A(A)
    _check_k(k)
    if M is not None:
        M = _check_A(M, "M")
    if A.is_batched or (M is not None and M.is_batched):
        return _eigsh_batched(A, M, k, which=which, precond=precond, sigma=sigma, tol=tol,
                              maxiter=maxiter, block=block, X0=X0, seed=seed, solver=solver,
                              return_info=return_info, raise_on_failure=raise_on_failure,
                              degenerate_tol=degenerate_tol)
    d = _options(which, tol, maxiter, block, sigma, solver, X0, seed, raise_on_failure,
                 degenerate_tol, precond)
    lam, U, info = _C.eigsh(A._m, k, None if M is None else M._m, d)
    _progress.report("eigsh", info.message)
    _report(info, raise_on_failure)
    return (lam, U, info) if return_info else (lam, U)


def eigs(A, k=6, which="LM", sigma=None, tol=1e-8, maxiter=None, ncv=None, seed=0, solver=None,
         return_info=False, raise_on_failure=False):
    """k eigenpairs of a general square ``A`` by restarted Arnoldi (complex results).

    which: ``"LM"``, ``"SM"`` (shift-invert at 0), ``"LR"``, ``"SR"``; sigma: nearest sigma.
    ncv: Krylov basis size (default max(2k + 1, 20)). maxiter: restarts (default 300), the
    verification rounds included. Converged pairs are locked, and a restart from a fresh random
    vector checks for further copies of repeated eigenvalues (a Krylov space grown from one
    vector holds one copy): ``info.ok`` is False ("unverified") until a round finds nothing
    better. ``info.method``: ``"arnoldi"``, ``"shift-invert(<inner>)"`` or ``"dense-eig"``
    (ncv ≥ n). Not differentiable.
    """
    A = _check_A(A)
    _check_k(k)
    d = _options(which, tol, maxiter, ncv, sigma, solver, None, seed, raise_on_failure)
    lam, U, info = _C.eigs(A._m, k, d)
    _progress.report("eigs", info.message)
    _report(info, raise_on_failure)
    return (lam, U, info) if return_info else (lam, U)


def svds(A, k=6, which="LM", tol=1e-8, maxiter=None, block=None, seed=0, solver=None,
         return_info=False, raise_on_failure=False, degenerate_tol=1e-6):
    """k singular triplets ``(U [n, k], S [k], V [m, k])`` with ``A V = U diag(S)``.

    which: ``"LM"`` largest, ``"SM"`` smallest (square A, through a Solver: LU where the build
    has a direct backend for A's device, else CG + AMG (SPD-looking A), GMRES + ILU0 (CPU) /
    Jacobi (CUDA), then plain GMRES, at rtol 1e-12). S is in ascending order for both, as
    SciPy's svds returns it (before 0.2 ``"LM"`` was descending, see CHANGELOG.md); the
    columns of U and V follow S. S is differentiable in A.values; U and V are not (backward
    through them raises).
    """
    A = _check_A(A)
    _check_k(k)
    d = _options(which, tol, maxiter, block, None, solver, None, seed, raise_on_failure,
                 degenerate_tol)
    U, S, V, info = _C.svds(A._m, k, d)
    _progress.report("svds", info.message)
    if S.numel() > 1 and bool(S[0] > S[-1]):  # C++ gives "LM" descending: SciPy's order is ascending
        U, S, V = U.flip(-1), S.flip(-1), V.flip(-1)
    _report(info, raise_on_failure)
    return (U, S, V, info) if return_info else (U, S, V)


def _member(T, i):
    """Batch member i (flat index over the batch shape) of a batched SparseTensor; unbatched
    ones are shared."""
    if T is None or not T.is_batched:
        return T
    return T.with_values(T.values.reshape(-1, T.values.shape[-1])[i])


def _eigsh_batched(A, M, k, X0=None, return_info=False, **kw):
    """eigsh of each batch member, one after another (each member is its own eigenproblem: the
    members' spectra share nothing a joint iteration could exploit). Values ``[*S, k]``,
    vectors ``[*S, n, k]`` for the batch shape S, differentiable in the batched values; with
    ``return_info``, a list of the members' infos (flat order)."""
    S = tuple(A.batch_shape) if A.is_batched else tuple(M.batch_shape)
    if A.is_batched and M is not None and M.is_batched and tuple(M.batch_shape) != S:
        raise ValueError(f"dsla: eigsh: argument 'M': batch shape {tuple(M.batch_shape)} does "
                         f"not match A's {S}")
    count = 1
    for d in S:
        count *= d
    n = A.shape[-1]
    if X0 is not None:
        X0 = torch.as_tensor(X0)
        if X0.dim() >= 3:
            X0 = X0.reshape((-1,) + tuple(X0.shape[-2:]))
    lams, Us, infos = [], [], []
    for i in range(count):
        x0 = X0[i] if X0 is not None and X0.dim() == 3 else X0
        lam, U, info = eigsh(_member(A, i), k, M=_member(M, i), X0=x0, return_info=True, **kw)
        lams.append(lam)
        Us.append(U)
        infos.append(info)
    lam = torch.stack(lams).reshape(S + (k,))
    U = torch.stack(Us).reshape(S + (n, k))
    return (lam, U, infos) if return_info else (lam, U)


def norm2(A, tol=1e-8, maxiter=None, return_info=False, raise_on_failure=False):
    """Largest singular value ``‖A‖₂`` (differentiable)."""
    A = _check_A(A)
    s, info = _C.norm2(A._m, _options("LM", tol, maxiter, None, None, None, None, 0,
                                      raise_on_failure))
    _report(info, raise_on_failure)
    return (s, info) if return_info else s


def cond(A, tol=1e-8, maxiter=None, solver=None, return_info=False, raise_on_failure=False):
    """2-norm condition number ``σ_max / σ_min`` of a square ``A`` (σ_min through a Solver)."""
    A = _check_A(A)
    s, info = _C.cond(A._m, _options("LM", tol, maxiter, None, None, solver, None, 0,
                                     raise_on_failure))
    _report(info, raise_on_failure)
    return (s, info) if return_info else s
