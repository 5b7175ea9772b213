"""Determinants of sparse matrices: ``slogdet``, ``logdet``, ``det``.

All three take a :class:`dsla.SparseTensor` (batched values ``[B, nnz]`` give ``[B]`` results)
and are differentiable in its values: the gradient of ``log|det A|`` is ``A^{-T}`` on A's
pattern (conjugated for complex, as torch does), computed from the factorization without
forming the dense inverse (selected inversion for Cholesky, blocked solves for LU).

``method``: ``"auto"`` (Cholesky when A is symmetric/Hermitian positive definite, otherwise
LU), ``"cholesky"``, ``"ldlt"``, ``"lu"``. ``ordering``: ``"auto"``, ``"amd"``, ``"metis"``,
``"natural"`` (``"nesdis"`` for cholesky/ldlt). CPU: SuiteSparse; float32/complex64 are
factorized in double precision and the results cast back. CUDA: cuDSS (when built with it),
``"cholesky"`` and ``"ldlt"`` only (``"auto"``: Cholesky, then LDLᵀ for a symmetric pattern):
cuDSS's LU does not expose its row pivoting, so the sign of its determinant is unknown.
"""
from . import _C
from . import _interop

__all__ = ["slogdet", "logdet", "det"]


def _matrix(A, name="A"):
    """The C++ matrix of a SparseTensor, torch sparse / dense tensor or scipy.sparse matrix."""
    return _interop.as_sparse(A, name)._m


def slogdet(A, *, method="auto", ordering="auto"):
    """``(sign, logabsdet)`` with torch.linalg.slogdet semantics: sign is ±1 (real) or a
    unit-modulus complex number, ``(0, -inf)`` for a matrix found exactly singular."""
    sign, logabs = _C.slogdet(_matrix(A), method, ordering)
    return sign, logabs


def logdet(A, *, method="auto", ordering="auto"):
    """``log det A`` with torch.logdet semantics: NaN when a real determinant is negative,
    ``-inf`` when singular; the principal logarithm for complex A. The main use is the
    log-likelihood of a Gaussian process (SPD A: Cholesky)."""
    return _C.logdet(_matrix(A), method, ordering)


def det(A, *, method="auto", ordering="auto"):
    """``det A = sign * exp(logabsdet)``; over/underflows where the determinant does — prefer
    slogdet/logdet for large matrices."""
    return _C.det(_matrix(A), method, ordering)
