"""Determinants of sparse matrices: ``slogdet``, ``logdet``, ``det``.

All three take a :class:`dsla.SparseTensor` (a batch, values ``[*S, nnz]``, gives results of
shape ``S``)
and are differentiable in its values: the gradient of ``log|det A|`` is ``A^{-T}`` on A's
pattern (conjugated for complex, as torch does), computed from the factorization without
forming the dense inverse (selected inversion for Cholesky, blocked solves for LU).

``method``: ``"auto"`` (Cholesky when A is symmetric/Hermitian positive definite, otherwise
LU), ``"cholesky"``, ``"ldlt"``, ``"lu"``. ``ordering``: ``"auto"``, ``"amd"``, ``"metis"``,
``"natural"`` (``"nesdis"`` for cholesky/ldlt). CPU: SuiteSparse; float32/complex64 are
factorized in double precision and the results cast back. CUDA: cuDSS (when built with it),
``"cholesky"`` and ``"ldlt"`` only (``"auto"``: Cholesky, then LDLᵀ for a symmetric pattern):
cuDSS's LU does not expose its row pivoting, so the sign of its determinant is unknown.

``logdet(A, method="stochastic")`` estimates ``log det A`` of a symmetric positive definite
matrix from sparse products alone (Hutchinson probes with Lanczos quadrature, see
:func:`logdet`), for matrices too large to factor; it reports a standard error, and its gradient
is an unbiased probe estimate through CG solves.
"""
import dataclasses

import torch

from . import _C
from . import _batch, _interop
from ._logdet_stochastic import LogdetInfo, logdet_stochastic

__all__ = ["slogdet", "logdet", "det", "LogdetInfo"]

_STOCHASTIC_ONLY = ("probes", "lanczos_steps", "seed", "scaling", "reorthogonalize",
                    "grad_rtol", "grad_precond")


def _refuse_stochastic(method, what):
    if isinstance(method, str) and method.lower() == "stochastic":
        raise ValueError(f"dsla.{what}: argument 'method': 'stochastic' is available for "
                         f"dsla.logdet only (an SPD matrix has determinant sign +1): use "
                         f"dsla.logdet(A, method='stochastic')")


def _matrix(A, name="A"):
    """The C++ matrix of a SparseTensor, torch sparse / dense tensor or scipy.sparse matrix,
    and the function that gives its flat-batch results the batch shape."""
    A = _interop.as_sparse(A, name)
    return A._m, A._unflat


def slogdet(A, *, method="auto", ordering="auto"):
    """``(sign, logabsdet)`` with torch.linalg.slogdet semantics: sign is ±1 (real) or a
    unit-modulus complex number, ``(0, -inf)`` for a matrix found exactly singular."""
    _refuse_stochastic(method, "slogdet")
    m, unflat = _matrix(A)
    sign, logabs = _C.slogdet(m, method, ordering)
    return unflat(sign), unflat(logabs)


def logdet(A, *, method="auto", ordering="auto", probes=None, lanczos_steps=None, seed=None,
           scaling=None, reorthogonalize=None, grad_rtol=None, grad_precond=None,
           return_info=False):
    """``log det A`` with torch.logdet semantics: NaN when a real determinant is negative,
    ``-inf`` when singular; the principal logarithm for complex A. The main use is the
    log-likelihood of a Gaussian process (SPD A: Cholesky).

    ``method="stochastic"``: an estimate for a real symmetric positive definite A too large to
    factor, from sparse products ``A @ V`` only (stochastic Lanczos quadrature): the mean over
    ``probes`` (default 32) Rademacher vectors ``z`` of ``zᵀ log(C) z``, each by
    ``lanczos_steps`` (default 50, at most n) steps of Lanczos, where ``C = D^{-1/2} A
    D^{-1/2}`` is A scaled to a unit diagonal (``scaling="jacobi"``, the default; ``log det A =
    Σ log a_ii + log det C`` exactly) or A itself (``scaling="none"``). Each probe's value is an
    unbiased sample of ``tr log C`` up to the quadrature error, which falls geometrically with
    the steps at a rate set by ``√cond(C)``. ``seed``: the probes' generator (None: torch's
    global generator, so ``torch.manual_seed`` governs it; an int: the same probes on every
    call and device); ``probes`` may also be a tensor ``[n, p]`` (``[B, n, p]`` for a batch) of
    your own probe vectors as columns, A's dtype, with ``E[z zᵀ] = I``. ``reorthogonalize``:
    full reorthogonalization of the Lanczos vectors (False by default: memory ``n · probes ·
    steps``; the quadrature does not need it in practice). Batched values give ``[B]``
    estimates; float32 matrices are computed in float64 and the results cast back. A that is not
    square, not symmetric, complex, with a non-positive diagonal entry, or on which Lanczos
    meets a Ritz value <= 0 (not positive definite) raises with a message.

    With ``return_info=True`` it returns ``(estimate, info)``, ``info`` a :class:`LogdetInfo`
    whose ``std_error`` is the standard error (the per-probe values' standard deviation over
    √probes: the estimate ± 2 standard errors covers the exact value ~95 % of the time when the
    quadrature has converged, see ``info.lanczos_change``); the exact methods return an info
    with ``std_error`` 0.

    Gradient of the stochastic estimate (``∂/∂ values``): ``A⁻ᵀ`` on A's pattern estimated with
    the same probes, ``mean (y_j w_i + y_i w_j) / 2`` over the probes for entry ``(i, j)`` where
    ``y = A⁻¹ D^{1/2} z`` comes from one multi-right-hand-side CG solve through
    :func:`dsla.solve` (``precond=grad_precond``, default ``"jacobi"``, ``rtol=grad_rtol``,
    default 1e-6) and ``w = D^{-1/2} z``: an unbiased estimate of the exact gradient (up to
    the CG tolerance), whose error falls as ``1/√probes`` — per entry ``(i, j)`` it is of the
    order of ``‖A⁻¹ e_j‖ / √probes``, small against ``(A⁻¹)_{ij}`` only where the inverse is
    concentrated near its diagonal (diagonally dominant A); for a large Laplacian the estimate
    of a single step is noisy, and its use is stochastic optimization, where unbiasedness is
    what counts. It is not the derivative of the quadrature estimate itself. Not twice
    differentiable.
    """
    given = dict(probes=probes, lanczos_steps=lanczos_steps, seed=seed, scaling=scaling,
                 reorthogonalize=reorthogonalize, grad_rtol=grad_rtol, grad_precond=grad_precond)
    if not isinstance(return_info, bool):
        raise TypeError("dsla.logdet: argument 'return_info': expected True or False, got "
                        f"{type(return_info).__name__}")
    if isinstance(method, str) and method.lower() == "stochastic":
        kw = {k: v for k, v in given.items() if v is not None}
        value, info = _logdet_stochastic_batched(A, kw)
        return (value, info) if return_info else value
    for k in _STOCHASTIC_ONLY:
        if given[k] is not None:
            raise ValueError(f"dsla.logdet: argument '{k}' applies to method='stochastic' only "
                             f"(method is {method!r}); drop it or pass method='stochastic'")
    m, unflat = _matrix(A)
    value = unflat(_C.logdet(m, method, ordering))
    if return_info:
        return value, LogdetInfo(str(method), torch.zeros_like(value.detach()))
    return value


def _logdet_stochastic_batched(A, kw):
    """The stochastic estimate over a batch of two or more dimensions: on the flat batch
    (probes ``[*S, n, p]`` flattened alike), the per-member results reshaped to ``S``."""
    A = _interop.as_sparse(A, "A")
    S = A.batch_shape
    if len(S) < 2:
        return logdet_stochastic(A, **kw)
    probes = kw.get("probes")
    if isinstance(probes, torch.Tensor) and probes.dim() == len(S) + 2 \
            and tuple(probes.shape[:len(S)]) == S:
        kw = dict(kw, probes=probes.reshape((-1,) + tuple(probes.shape[len(S):])))
    elif isinstance(probes, torch.Tensor):
        raise ValueError(f"dsla.logdet: argument 'probes': expected probe vectors as the "
                         f"columns of a tensor of shape {S + (A.shape[-1], 'p')} with p >= 1, "
                         f"got {tuple(probes.shape)}")
    value, info = logdet_stochastic(A._flat(), **kw)
    fields = {f.name: _batch.unflatten(getattr(info, f.name), S)
              for f in dataclasses.fields(info) if isinstance(getattr(info, f.name), torch.Tensor)}
    return _batch.unflatten(value, S), dataclasses.replace(info, **fields)


def det(A, *, method="auto", ordering="auto"):
    """``det A = sign * exp(logabsdet)``; over/underflows where the determinant does — prefer
    slogdet/logdet for large matrices."""
    _refuse_stochastic(method, "det")
    m, unflat = _matrix(A)
    return unflat(_C.det(m, method, ordering))
