"""The structure of a sparse matrix: connected components of its graph, positive definiteness
and the matrix type.

The graph of a square matrix has an edge ``i -> j`` for every stored entry ``(i, j)``,
``i != j``, whatever its value (an explicit zero is an edge): components are a property of the
pattern, shared by a batch and cached on it. Definiteness is decided by an attempted Cholesky
factorization (CHOLMOD on the CPU, cuDSS on CUDA, a dense Cholesky for small matrices where the
build has neither), never by an eigensolver.

Every function takes what :func:`dsla.solve` takes as a matrix: a ``dsla.SparseTensor``, a
``torch.sparse_coo`` / ``torch.sparse_csr`` tensor, a dense tensor or a ``scipy.sparse`` matrix.
"""
from collections import namedtuple

from . import _C, _interop
from ._util import as_float, as_int

Component = namedtuple("Component", ["index", "matrix"])
Component.__doc__ = """One weak component of a matrix (see :func:`split_components`).

``index``: the rows (= columns) of the matrix in this component, ascending (torch.int64 on the
matrix's device); ``matrix``: ``A[index][:, index]``, a ``dsla.SparseTensor`` whose values are
differentiable (a gather of ``A.values``)."""
Component.index.__doc__ = "Rows (= columns) of A in this component, ascending, torch.int64."
Component.matrix.__doc__ = "The diagonal block A[index][:, index] (dsla.SparseTensor)."

_CONNECTIONS = ("weak", "strong")


def _tol(value, name):
    return as_float(value, name, 0.0)


def connected_components(A, directed=True, connection="weak", return_labels=True):
    """Connected components of the graph of a square matrix (``scipy.sparse.csgraph``'s
    conventions).

    directed: ``True`` (edges ``i -> j`` of stored entries) or ``False`` (undirected: then
    ``connection`` does not matter). connection: ``"weak"`` (components of the graph of
    ``A + Aᵀ``: the blocks of a block-diagonal permutation of A) or ``"strong"`` (strongly
    connected components: A is irreducible iff there is one). Returns ``(n_components,
    labels)``, labels a ``torch.int64`` tensor ``[n]`` on A's device with values in
    ``[0, n_components)``, components numbered in the order of their smallest row (SciPy's
    numbering may differ; the partition is the same), or ``n_components`` alone with
    ``return_labels=False``.

    Computed on the host once per pattern (Tarjan's algorithm for strong components, union-find
    for weak ones) and cached on it; a CUDA matrix's pattern is copied to the host once.
    """
    A = _interop.as_sparse(A, "A")
    if not isinstance(connection, str) or connection.lower() not in _CONNECTIONS:
        raise ValueError(f"dsla: argument 'connection': must be 'weak' or 'strong', got "
                         f"{connection!r}")
    if not isinstance(directed, bool):
        raise TypeError(f"dsla: argument 'directed': expected True or False, got "
                        f"{type(directed).__name__}")
    kind = connection.lower() if directed else "weak"
    count, labels = _C.connected_components(A._m, kind)
    return (count, labels) if return_labels else count


def split_components(A):
    """A square matrix as the list of its weak components: ``[Component(index, matrix), ...]``
    in the order of :func:`connected_components`.

    A is block diagonal over its weak components, so the blocks hold every stored entry exactly
    once and a solve splits into independent solves::

        x = torch.empty_like(b)
        for index, block in dsla.split_components(A):
            x[index] = dsla.solve(block, b[index])

    Each ``matrix`` is ``A[index][:, index]`` with differentiable values (batched values stay
    batched, ``[B, nnz_c]``); ``index`` is ascending, ``torch.int64`` on A's device. Built in one
    pass over the entries (not one submatrix per component). A 0 x 0 matrix has no components.
    """
    A = _interop.as_sparse(A, "A")
    return [Component(index, A._like(m)) for index, m in _C.split_components(A._m)]


_FACTORIZATIONS = ("auto", "sparse", "dense")


def _factorization(f):
    if not isinstance(f, str) or f not in _FACTORIZATIONS:
        raise ValueError(f"dsla: argument 'factorization': must be 'auto', 'sparse' or 'dense', "
                         f"got {f!r}")
    return f


def is_positive_definite(A, rtol=1e-12, atol=0.0, pivot_tolerance=1e-14, dense_max_rows=4096,
                         factorization="auto"):
    """Whether A is symmetric positive definite (Hermitian positive definite for complex A),
    by an attempted Cholesky factorization — never an eigensolver.

    A matrix that is not symmetric (Hermitian) within ``|a_ij − conj(a_ji)| <= atol + rtol ·
    max|a|`` (:meth:`SparseTensor.is_symmetric`'s test) is not positive definite; otherwise its
    Hermitian part ``(A + Aᴴ)/2`` is factored: CHOLMOD on the CPU (needs
    ``dsla.features['suitesparse']``), cuDSS on CUDA (``dsla.features['cudss']``). The answer is
    ``True`` when every pivot is positive and the smallest / largest pivot (the squared diagonal
    of the Cholesky factor) exceeds ``pivot_tolerance``: a semidefinite matrix with a null space
    (a pure Neumann Laplacian) factors to a last pivot at rounding level, singular to working
    precision, and is reported not definite. ``pivot_tolerance=0`` accepts any positive pivot.
    A non-positive diagonal entry (a missing one is zero) answers ``False`` without factoring.
    (For the other convention — ``Re xᴴ A x > 0`` for every ``x`` of a nonsymmetric A — test
    the symmetric part: ``dsla.is_positive_definite((A + A.H) * 0.5)``.)

    factorization: ``"auto"`` (the sparse Cholesky where the build has one for A's device; else
    matrices of up to ``dense_max_rows`` rows take a dense Cholesky — ``torch.linalg.cholesky_ex``
    in float64 / complex128, on A's device — and larger ones raise ``NotImplementedError``
    saying what to install), ``"sparse"`` (that error instead of a dense fallback) or
    ``"dense"`` (the dense Cholesky whatever the size: n² memory). float32 / complex64 matrices
    are factored in double precision (the question is about the matrix as given).

    Returns a Python bool, or for batched values (``[*S, nnz]``) a ``torch.bool`` tensor of
    shape ``S`` (one answer per member). Non-square: ``False``; 0 x 0: ``True`` (as
    ``torch.linalg.cholesky``). Values with NaN or Inf raise ``ValueError``.
    """
    A = _interop.as_sparse(A, "A")
    r = _C.is_positive_definite(A._m, _tol(rtol, "rtol"), _tol(atol, "atol"),
                                _tol(pivot_tolerance, "pivot_tolerance"),
                                as_int(dense_max_rows, "dense_max_rows", 0),
                                _factorization(factorization))
    return A._unflat(r) if A.is_batched else bool(r)


def detect_matrix_type(A, rtol=1e-12, atol=0.0, definite=True, pivot_tolerance=1e-14,
                       dense_max_rows=4096, factorization="auto"):
    """The most specific type A has, as a string:

    ============================ ===========================================================
    ``"spd"`` / ``"hpd"``        real symmetric / complex Hermitian positive definite
    ``"symmetric"``              ``A = Aᵀ``: real, not definite (or ``definite=False``);
                                 complex and not Hermitian
    ``"hermitian"``              complex ``A = Aᴴ``, not definite (or ``definite=False``)
    ``"skew-symmetric"``         ``A = −Aᵀ`` (nonzero)
    ``"skew-hermitian"``         complex ``A = −Aᴴ`` (nonzero), not skew-symmetric
    ``"general"``                none of these, or not square
    ============================ ===========================================================

    Each symmetry is tested entrywise within the named tolerance: ``|a_ij − s · op(a_ji)| <=
    atol + rtol · max|a|`` (``s = ±1``, ``op`` the identity or the conjugate), so a matrix
    symmetric up to rounding in its assembly needs an ``rtol`` above that rounding (e.g.
    ``1e-10``). Symmetric / Hermitian matrices are tested for definiteness by
    :func:`is_positive_definite` (``pivot_tolerance``, ``dense_max_rows``, ``factorization``: as
    there; a Cholesky attempt); ``definite=False`` skips that factorization. The zero matrix is
    symmetric (Hermitian), not skew; a complex matrix with real values is Hermitian. Batched
    values: the type every member has.

    The type suggests a solver: ``"spd"``/``"hpd"`` CG or Cholesky (presets ``"spd-*"``),
    ``"symmetric"``/``"hermitian"`` MINRES or LDLᵀ (``"indefinite-*"``), others GMRES /
    BiCGStab or LU (``"general-*"``, ``"convection-*"``).
    """
    A = _interop.as_sparse(A, "A")
    if not isinstance(definite, bool):
        raise TypeError(f"dsla: argument 'definite': expected True or False, got "
                        f"{type(definite).__name__}")
    return _C.detect_matrix_type(A._m, _tol(rtol, "rtol"), _tol(atol, "atol"), definite,
                                 _tol(pivot_tolerance, "pivot_tolerance"),
                                 as_int(dense_max_rows, "dense_max_rows", 0),
                                 _factorization(factorization))


def color_rows(A):
    """A distance-1 coloring of the graph of ``A + Aᵀ``: ``(n_colors, colors)``, colors a
    ``torch.int64`` tensor ``[n]`` on A's device with values in ``[0, n_colors)``, no two rows
    joined by a stored entry (either direction) sharing a color — the rows of one color can be
    updated at once, as the multicolor preconditioners ``"mc_sgs"``, ``"mc_ssor"`` and
    ``"dilu"`` do. Computed on A's device (independent-set rounds with fixed-seed priorities:
    deterministic), cached on the pattern. poisson2d takes about 10 colors.
    """
    A = _interop.as_sparse(A, "A")
    if A.shape[-1] != A.shape[-2]:
        raise ValueError(f"dsla: argument 'A': color_rows needs a square matrix, got "
                         f"{tuple(A.shape)}")
    return tuple(_C.color_rows(A._m))


__all__ = ["Component", "color_rows", "connected_components", "split_components", "is_positive_definite",
           "detect_matrix_type"]
