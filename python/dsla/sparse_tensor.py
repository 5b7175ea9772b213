"""``dsla.SparseTensor``: a sparse matrix (or a batch of same-pattern matrices) whose values
carry autograd. The structure (CSR pattern) lives in C++ and is shared between tensors that
differ only in values, so analysis done once (transpose, factorization, AMG setup) is reused.
"""
import torch

from . import _C
from ._sparse_base import SparseTensorBase, matrix_from_scipy
from ._util import as_shape, device_name, dtype_name
# The functional modules behind the methods below. They never import this module (they know a
# SparseTensor through SparseTensorBase), so importing them here closes no circle.
from .eigen import cond as _cond, eigs as _eigs, eigsh as _eigsh, norm2 as _norm2, svds as _svds
from .solve import solve as _solve
from . import _interop, _torch_protocol
from .det import det as _det, logdet as _logdet, slogdet as _slogdet
from .structure import (detect_matrix_type as _detect_matrix_type,
                        is_positive_definite as _is_positive_definite)


class SparseTensor(SparseTensorBase):
    """Sparse matrix of shape ``(n, m)``, or a batch of ``B`` matrices with one pattern.

    Construction takes coordinates in any order; duplicates are summed::

        A = dsla.SparseTensor(values, row, col, (n, m))  # values [nnz] or [B, nnz]

    Values may require grad: products and solves are differentiable in them.
    Index dtype is int32 when it fits, int64 otherwise (also for nnz > 2**31).
    """

    __slots__ = ("_m",)

    def __init__(self, values, row, col, shape, *, check=True, sum_duplicates=True):
        values = torch.as_tensor(values)
        row = torch.as_tensor(row)
        col = torch.as_tensor(col)
        rows, cols = as_shape(shape)
        self._m = _C.SparseMatrix.from_coo(row, col, values, rows, cols, check, sum_duplicates)

    # ------------------------------------------------------------------ construction
    @classmethod
    def _wrap(cls, m):
        obj = cls.__new__(cls)
        obj._m = m
        return obj

    @classmethod
    def from_coo(cls, row, col, values, shape, *, check=True, sum_duplicates=True):
        """Same as the constructor, with the arguments in (row, col, values) order."""
        return cls(values, row, col, shape, check=check, sum_duplicates=sum_duplicates)

    @classmethod
    def from_csr(cls, crow, col, values, shape, *, check=True):
        """From CSR arrays: ``crow [n+1]``, ``col [nnz]`` (sorted, unique per row), values."""
        rows, cols = as_shape(shape)
        return cls._wrap(_C.SparseMatrix.from_csr(crow, col, values, rows, cols, check))

    @classmethod
    def from_dense(cls, dense):
        """Entries != 0 of a dense ``[n, m]`` tensor (``[B, n, m]``: union pattern).
        Differentiable in ``dense``."""
        return cls._wrap(_C.SparseMatrix.from_dense(dense))

    @classmethod
    def from_torch(cls, t):
        """From a ``torch.sparse_coo`` / ``torch.sparse_csr`` (or strided) 2-D tensor."""
        return cls._wrap(_C.SparseMatrix.from_torch(t))

    @classmethod
    def from_scipy(cls, S, dtype=None):
        """From any ``scipy.sparse`` matrix."""
        return cls._wrap(matrix_from_scipy(S, dtype))

    # ------------------------------------------------------------------ conversion
    def to_dense(self):
        """Dense ``[n, m]`` (or ``[B, n, m]``) tensor; differentiable in the values."""
        return self._m.to_dense()

    def to_torch(self, layout=torch.sparse_csr):
        """As a ``torch.sparse_csr`` (default) or ``torch.sparse_coo`` tensor (unbatched)."""
        if layout == torch.sparse_coo:
            return self._m.to_torch_coo()
        if layout == torch.sparse_csr:
            return self._m.to_torch_csr()
        raise ValueError("dsla: argument 'layout': use torch.sparse_csr or torch.sparse_coo")

    def to_scipy(self):
        """As a ``scipy.sparse.csr_matrix`` (unbatched, detached, on the CPU)."""
        import scipy.sparse as sp

        if self.is_batched:
            raise ValueError("dsla: to_scipy needs an unbatched matrix")
        v = self.values.detach().cpu().numpy()
        return sp.csr_matrix(
            (v, self.col.cpu().numpy(), self.crow.cpu().numpy()), shape=self.shape
        )

    def to(self, device=None, dtype=None):
        """Moves and/or converts: ``A.to("cuda")``, ``A.to(dtype=torch.float32)``,
        ``A.to(torch.float32)``."""
        if isinstance(device, torch.dtype):
            device, dtype = None, device
        return SparseTensor._wrap(self._m.to(device_name(device), dtype_name(dtype)))

    def cuda(self, device=None):
        return self.to(torch.device("cuda") if device is None else torch.device("cuda", device))

    def cpu(self):
        return self.to("cpu")

    def double(self):
        return self.to(dtype=torch.float64)

    def float(self):
        return self.to(dtype=torch.float32)

    def detach(self):
        return SparseTensor._wrap(self._m.detach())

    def with_values(self, values):
        """Same pattern (shared, with its cached analysis), new values ``[nnz]`` or ``[B, nnz]``."""
        return SparseTensor._wrap(self._m.with_values(values))

    def requires_grad_(self, flag=True):
        self.values.requires_grad_(flag)
        return self

    # ------------------------------------------------------------------ properties
    @property
    def values(self):
        """Values in CSR order, ``[nnz]`` or ``[B, nnz]``."""
        return self._m.values

    @property
    def row(self):
        """Row index of each stored entry, ``[nnz]``."""
        return self._m.row_indices()

    @property
    def col(self):
        """Column index of each stored entry, ``[nnz]``."""
        return self._m.col_indices()

    @property
    def crow(self):
        """CSR row pointers, ``[n + 1]``."""
        return self._m.crow_indices()

    @property
    def shape(self):
        if self._m.is_batched:
            return (self._m.batch_size, self._m.rows, self._m.cols)
        return (self._m.rows, self._m.cols)

    @property
    def nnz(self):
        return self._m.nnz

    @property
    def is_batched(self):
        return self._m.is_batched

    @property
    def batch_size(self):
        return self._m.batch_size

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def device(self):
        return self.values.device

    @property
    def index_dtype(self):
        return torch.int32 if self._m.index_dtype == "int32" else torch.int64

    @property
    def requires_grad(self):
        return self.values.requires_grad

    @property
    def T(self):
        """Transpose (cached permutation; differentiable)."""
        return SparseTensor._wrap(self._m.transpose())

    @property
    def mT(self):
        return self.T

    @property
    def H(self):
        """Conjugate transpose."""
        return SparseTensor._wrap(self._m.conj_transpose())

    def t(self):
        return self.T

    def conj(self):
        return SparseTensor._wrap(self._m.conj())

    # ------------------------------------------------------------------ algebra
    def __matmul__(self, x):
        """``A @ x``: x ``[n]``, ``[n, k]``; batched A: ``[B, n]``, ``[B, n, k]``.
        ``A @ B`` with a SparseTensor B is the sparse product (SpGEMM)."""
        if isinstance(x, SparseTensor):
            return SparseTensor._wrap(_C.spgemm(self._m, x._m))
        return _C.matmul(self._m, x)

    def matmul(self, x):
        return self @ x

    def rmatmul(self, x):
        """``Aᵀ @ x`` without materializing the transpose's values."""
        return _C.matmul_transpose(self._m, x)

    def __add__(self, other):
        if not isinstance(other, SparseTensor):
            return NotImplemented
        return SparseTensor._wrap(_C.add(self._m, other._m, 1.0, 1.0))

    def __sub__(self, other):
        if not isinstance(other, SparseTensor):
            return NotImplemented
        return SparseTensor._wrap(_C.add(self._m, other._m, 1.0, -1.0))

    def __neg__(self):
        return self.with_values(-self.values)

    def __mul__(self, alpha):
        if isinstance(alpha, (int, float, complex)) or (
            isinstance(alpha, torch.Tensor) and alpha.dim() == 0
        ):
            return self.with_values(self.values * alpha)
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, alpha):
        return self.with_values(self.values / alpha)

    def solve(self, b, **kwargs):
        """``x`` with ``A x = b`` (differentiable); options as for :func:`dsla.solve`."""
        return _solve(self, b, **kwargs)

    def diagonal(self):
        """Main diagonal (zeros where not stored); differentiable."""
        return self._m.diagonal()

    def is_symmetric(self, rtol=1e-12, atol=0.0, hermitian=True):
        """Values and pattern symmetric (Hermitian for complex) within atol + rtol·max|a|."""
        return self._m.is_symmetric(rtol, atol, hermitian)

    def is_structurally_symmetric(self):
        return self._m.is_structurally_symmetric()

    def is_positive_definite(self, **kwargs):
        """Symmetric (Hermitian) positive definite, by an attempted Cholesky factorization;
        see :func:`dsla.is_positive_definite`."""
        return _is_positive_definite(self, **kwargs)

    def detect_matrix_type(self, **kwargs):
        """``"spd"``, ``"hpd"``, ``"symmetric"``, ``"hermitian"``, ``"skew-symmetric"``,
        ``"skew-hermitian"`` or ``"general"``; see :func:`dsla.detect_matrix_type`."""
        return _detect_matrix_type(self, **kwargs)

    def sum(self, dim=None):
        """``dim=None``: sum of all entries; ``dim=1``: row sums; ``dim=0``: column sums."""
        if dim is None:
            return self.values.sum(-1)
        if dim in (1, -1):
            return self._m.row_sums()
        if dim in (0, -2):
            return self._m.col_sums()
        raise ValueError("dsla: argument 'dim': use None, 0 or 1")

    def norm(self, ord="fro"):
        """Matrix norm: ``"fro"``, ``1`` (max column sum), ``inf`` (max row sum) or ``2``
        (largest singular value, see :func:`dsla.norm2`)."""
        if ord in (1, "1"):
            ord = "1"
        elif ord in (float("inf"), "inf"):
            ord = "inf"
        elif ord in (2, "2"):
            return _norm2(self)
        return self._m.norm(ord)

    def eigsh(self, k=6, which="LM", **kwargs):
        """k eigenpairs of a symmetric matrix (path chosen by default, see info.method); see
        :func:`dsla.eigsh`."""
        return _eigsh(self, k, which, **kwargs)

    def eigs(self, k=6, which="LM", **kwargs):
        """k eigenpairs of a general matrix (Arnoldi); see :func:`dsla.eigs`."""
        return _eigs(self, k, which, **kwargs)

    def svds(self, k=6, **kwargs):
        """k singular triplets (U, S, V); see :func:`dsla.svds`."""
        return _svds(self, k, **kwargs)

    def cond(self, **kwargs):
        """2-norm condition number estimate; see :func:`dsla.cond`."""
        return _cond(self, **kwargs)

    def submatrix(self, rows, cols):
        """``A[rows][:, cols]`` for index tensors (no repeats); differentiable."""
        return SparseTensor._wrap(
            self._m.submatrix(torch.as_tensor(rows), torch.as_tensor(cols))
        )

    def det(self, **kwargs):
        """``det A``; options as for :func:`dsla.det`."""
        return _det(self, **kwargs)

    def logdet(self, **kwargs):
        """``log det A``; options as for :func:`dsla.logdet`."""
        return _logdet(self, **kwargs)

    def slogdet(self, **kwargs):
        """``(sign, log|det A|)``; options as for :func:`dsla.slogdet`."""
        return _slogdet(self, **kwargs)

    # ------------------------------------------------------------------ torch protocols
    # (pickle / deepcopy / torch.save, torch.matmul and friends, x @ A: see _torch_protocol)
    def __reduce__(self):
        return _torch_protocol.reduce(self)

    def __deepcopy__(self, memo):
        return _torch_protocol.deepcopy(self, memo)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return _torch_protocol.torch_function(func, args, kwargs or {})

    def __rmatmul__(self, x):
        return _torch_protocol.rmatmul(self, x)

    def __repr__(self):
        return repr(self._m).replace("SparseMatrix", "SparseTensor", 1)


_torch_protocol.allow_in_torch_load(SparseTensor)
_interop.register_sparse_tensor(SparseTensor)
