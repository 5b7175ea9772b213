"""``dsla.SparseTensor``: a sparse matrix (or a batch of same-pattern matrices) whose values
carry autograd. The structure (CSR pattern) lives in C++ and is shared between tensors that
differ only in values, so analysis done once (transpose, factorization, AMG setup) is reused.
"""
import torch

from . import _C, _batch
from ._sparse_base import SparseTensorBase, matrix_from_scipy
from ._util import as_batch_shape, device_name, dtype_name
# The functional modules behind the methods below. They never import this module (they know a
# SparseTensor through SparseTensorBase), so importing them here closes no circle.
from .eigen import cond as _cond, eigs as _eigs, eigsh as _eigsh, norm2 as _norm2, svds as _svds
from .solve import solve as _solve
from . import _algebra, _interop, _torch_protocol
from .det import det as _det, logdet as _logdet, slogdet as _slogdet
from .structure import (detect_matrix_type as _detect_matrix_type,
                        is_positive_definite as _is_positive_definite)


def _elementwise(name):
    """A method ``A.<name>()``: ``torch.<name>`` of the stored values, on A's pattern."""
    def method(self):
        return _algebra.elementwise(self, name)

    zero = {"exp": "1", "cos": "1", "cosh": "1", "sigmoid": "0.5", "log": "-inf",
            "log2": "-inf", "log10": "-inf", "rsqrt": "inf", "acos": "π/2"}.get(name)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``torch.{name}`` of the stored values, on A's pattern (shared); "
                      "differentiable. Applied to the stored entries only: the implicit zeros "
                      "stay zero" + (f", although {name}(0) = {zero}: the result differs "
                                     "from the dense one there (SciPy and torch.sparse apply "
                                     "functions to the stored values too, but offer only "
                                     "those with f(0) = 0)" if zero else "")
                      + ". ``torch." + name + "(A)`` calls it.")
    return method


def _values_batch(values, batch, rows, cols, arg="values"):
    """The batch shape of constructor values ``[..., nnz]`` checked against the batch part of
    ``shape`` (a shape without one takes the values' batch)."""
    if values.dim() == 0:
        raise ValueError(f"dsla: argument '{arg}': expected a tensor [nnz] (or [..., nnz] for "
                         "a batch), got a 0-d tensor")
    vb = tuple(values.shape[:-1])
    if batch and vb != batch:
        raise ValueError(
            f"dsla: argument '{arg}' has shape {tuple(values.shape)}, batch shape {vb}, but "
            f"argument 'shape' {batch + (rows, cols)} names the batch {batch}; give values "
            f"of shape {list(batch) + ['nnz']} (e.g. values.expand(*{batch}, -1) to share one "
            f"matrix's values) or shape={vb + (rows, cols)}")
    if any(b == 0 for b in vb):
        raise ValueError(f"dsla: argument '{arg}' has shape {tuple(values.shape)}: an empty "
                         "batch dimension; every batch dimension needs at least one member")
    return vb


def _flat_values(values):
    """Values ``[..., nnz]`` as the C++ side takes them: ``[nnz]`` or ``[B, nnz]``."""
    return values.reshape(-1, values.shape[-1]) if values.dim() > 2 else values


class SparseTensor(SparseTensorBase):
    """Sparse matrix of shape ``(n, m)``, or a batch of matrices with one pattern, with any
    number of leading batch dimensions: shape ``(*batch_shape, n, m)``.

    Construction takes coordinates in any order; duplicates are summed::

        A = dsla.SparseTensor(values, row, col, (n, m))         # values [nnz] or [..., nnz]
        A = dsla.SparseTensor(values, row, col, (2, 3, n, m))   # values [2, 3, nnz]

    The batch shape comes from the values' leading dimensions; a ``shape`` with batch
    dimensions (``(B, n, m)``, ``(B1, B2, n, m)``) must name the same ones. Every operation
    broadcasts over the batch (products, solves, determinants, algebra, reductions); the C++
    core holds the values as one flat batch ``[prod(batch_shape), nnz]``.

    Values may require grad: products and solves are differentiable in them.
    Index dtype is int32 when it fits, int64 otherwise (also for nnz > 2**31).
    """

    # _bs: the batch shape when it has 2 or more dimensions (None: the C++ matrix's own flat
    # batch, () or (B,)); _v: then the values [*_bs, nnz], of which _m holds a reshape.
    __slots__ = ("_m", "_bs", "_v")

    def __init__(self, values, row, col, shape, *, check=True, sum_duplicates=True):
        values = torch.as_tensor(values)
        row = torch.as_tensor(row)
        col = torch.as_tensor(col)
        batch, rows, cols = as_batch_shape(shape)
        batch = _values_batch(values, batch, rows, cols)
        self._m = _C.SparseMatrix.from_coo(row, col, _flat_values(values), rows, cols, check,
                                           sum_duplicates)
        self._set_batch(batch)

    # ------------------------------------------------------------------ construction
    def _set_batch(self, batch, values=None):
        """Records the batch shape; ``values`` (``[*batch, nnz]``, of which ``_m`` holds the
        flat reshape) is what :attr:`values` returns, so that a user's tensor comes back as
        the same object."""
        if batch is None or len(batch) < 2:
            self._bs = self._v = None
            return
        self._bs = tuple(batch)
        if values is None:
            values = self._m.values.reshape(self._bs + (self._m.nnz,))
        self._v = values

    @classmethod
    def _wrap(cls, m, batch_shape=None):
        """A SparseTensor around the C++ matrix ``m`` whose flat batch has
        ``prod(batch_shape)`` members (None: m's own batch, ``()`` or ``(B,)``)."""
        obj = cls.__new__(cls)
        obj._m = m
        if batch_shape is not None and len(batch_shape) >= 2 \
                and _batch.numel(batch_shape) != (m.batch_size if m.is_batched else -1):
            raise RuntimeError(f"dsla: internal error: batch shape {tuple(batch_shape)} for a "
                               f"flat batch of {m.batch_size}")
        obj._set_batch(batch_shape)
        return obj

    def _like(self, m):
        """``m`` (same flat batch as self) with self's batch shape."""
        return SparseTensor._wrap(m, self._bs)

    def _flat(self):
        """Self with its batch flattened to the C++ flat batch (shares the values)."""
        return SparseTensor._wrap(self._m) if self._bs else self

    def _unflat(self, t):
        """A C++ result ``[B, ...]`` over the flat batch as ``[*batch_shape, ...]``."""
        return _batch.unflatten(t, self._bs) if self._bs else t

    def expand(self, *batch_shape):
        """The batch broadcast to ``batch_shape`` (torch.expand rules on the values' batch
        dimensions; an unbatched matrix gains a batch). The result's values are the expanded
        (copied) values, differentiable."""
        if len(batch_shape) == 1 and isinstance(batch_shape[0], (tuple, list, torch.Size)):
            batch_shape = batch_shape[0]
        batch_shape = tuple(int(b) for b in batch_shape)
        if batch_shape == self.batch_shape:
            return self
        if _batch.broadcast(batch_shape, self.batch_shape, "A.expand()", "A",
                            "the target") != batch_shape:
            raise ValueError(f"dsla: A.expand(): argument 'batch_shape' {batch_shape} is "
                             f"smaller than A's batch shape {self.batch_shape}")
        return self.with_values(self.values.expand(batch_shape + (self.nnz,)))

    def reshape_batch(self, *batch_shape):
        """The same members under another batch shape of equal size (``-1`` allowed, as in
        torch.reshape): ``A.reshape_batch(6)``, ``A.reshape_batch(2, 3)``; ``()`` for a batch
        of one."""
        if len(batch_shape) == 1 and isinstance(batch_shape[0], (tuple, list, torch.Size)):
            batch_shape = batch_shape[0]
        try:
            v = self.values.reshape(tuple(batch_shape) + (self.nnz,))
        except RuntimeError:
            raise ValueError(f"dsla: A.reshape_batch(): argument 'batch_shape' "
                             f"{tuple(batch_shape)} does not hold A's "
                             f"{_batch.numel(self.batch_shape)} members (batch shape "
                             f"{self.batch_shape})") from None
        return self.with_values(v)

    @classmethod
    def from_coo(cls, row, col, values, shape, *, check=True, sum_duplicates=True):
        """Same as the constructor, with the arguments in (row, col, values) order."""
        return cls(values, row, col, shape, check=check, sum_duplicates=sum_duplicates)

    @classmethod
    def from_csr(cls, crow, col, values, shape, *, check=True):
        """From CSR arrays: ``crow [n+1]``, ``col [nnz]`` (sorted, unique per row), values
        ``[nnz]`` or ``[..., nnz]``; ``shape`` ``(n, m)`` or ``(*batch, n, m)`` as for the
        constructor."""
        values = torch.as_tensor(values)
        batch, rows, cols = as_batch_shape(shape)
        batch = _values_batch(values, batch, rows, cols)
        m = _C.SparseMatrix.from_csr(crow, col, _flat_values(values), rows, cols, check)
        return cls._wrap(m, batch)

    @classmethod
    def from_dense(cls, dense):
        """Entries != 0 of a dense ``[n, m]`` tensor (``[..., n, m]``: a batch on the union
        pattern of its members). Differentiable in ``dense``."""
        dense = torch.as_tensor(dense)
        if dense.dim() > 3:
            batch = tuple(dense.shape[:-2])
            if any(b == 0 for b in batch):
                raise ValueError(f"dsla: argument 'dense' has shape {tuple(dense.shape)}: an "
                                 "empty batch dimension")
            return cls._wrap(_C.SparseMatrix.from_dense(
                dense.reshape((-1,) + tuple(dense.shape[-2:]))), batch)
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
        """Dense ``[n, m]`` (or ``[*batch_shape, n, m]``) tensor; differentiable in the
        values."""
        return self._unflat(self._m.to_dense())

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
        return self._like(self._m.to(device_name(device), dtype_name(dtype)))

    def cuda(self, device=None):
        return self.to(torch.device("cuda") if device is None else torch.device("cuda", device))

    def cpu(self):
        return self.to("cpu")

    def double(self):
        return self.to(dtype=torch.float64)

    def float(self):
        return self.to(dtype=torch.float32)

    def detach(self):
        return self._like(self._m.detach())

    def with_values(self, values):
        """Same pattern (shared, with its cached analysis), new values ``[nnz]`` or
        ``[..., nnz]``: the values' leading dimensions are the result's batch shape (any
        batch, whatever self's)."""
        values = torch.as_tensor(values)
        if values.dim() > 2:
            batch = _values_batch(values, (), *self.shape[-2:])
            out = SparseTensor._wrap(self._m.with_values(_flat_values(values)))
            out._set_batch(batch, values)
            return out
        return SparseTensor._wrap(self._m.with_values(values))

    def requires_grad_(self, flag=True):
        if self._v is None:
            self.values.requires_grad_(flag)
            return self
        # the [..., nnz] values become the leaf (A.values.grad after backward), and the C++
        # matrix holds their reshape
        self._v.requires_grad_(flag)
        self._m = self._m.with_values(_flat_values(self._v))
        return self

    # ------------------------------------------------------------------ properties
    @property
    def values(self):
        """Values in CSR order, ``[nnz]`` or ``[*batch_shape, nnz]`` (a view of the flat
        batch the C++ side holds: gradients flow through it)."""
        return self._m.values if self._v is None else self._v

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
        """``batch_shape + (n, m)``."""
        return self.batch_shape + (self._m.rows, self._m.cols)

    @property
    def batch_shape(self):
        """The leading batch dimensions: ``()`` unbatched, ``(B,)``, ``(B1, B2)``, ..."""
        if self._bs is not None:
            return self._bs
        return (self._m.batch_size,) if self._m.is_batched else ()

    @property
    def ndim(self):
        return len(self.batch_shape) + 2

    def dim(self):
        return self.ndim

    @property
    def nnz(self):
        return self._m.nnz

    @property
    def is_batched(self):
        return self._m.is_batched

    @property
    def batch_size(self):
        """The number of matrices, ``prod(batch_shape)`` (1 unbatched)."""
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
        return self._like(self._m.transpose())

    @property
    def mT(self):
        return self.T

    @property
    def H(self):
        """Conjugate transpose."""
        return self._like(self._m.conj_transpose())

    def t(self):
        return self.T

    def conj(self):
        return self._like(self._m.conj())

    # ------------------------------------------------------------------ algebra
    def __matmul__(self, x):
        """``A @ x`` for a dense x: ``[m]`` (one vector for every member), ``[m, k]``, a batch
        of vectors ``[*S, m]`` (``len(S)`` equal to A's batch dimensions, each equal to A's or
        1; for a flat batch ``[B, m]``) or of matrices ``[*S, m, k]`` (S broadcast against A's
        batch shape as torch.matmul does; an unbatched A takes any batch of x in one product).
        The result has the broadcast batch shape. ``A @ B`` with a SparseTensor B is the
        sparse product (SpGEMM; batches broadcast)."""
        if isinstance(x, SparseTensor):
            A, B, batch = _algebra.broadcast_pair(self, x, "A @ B")
            return SparseTensor._wrap(_C.spgemm(A._m, B._m), batch)
        return _algebra.apply_dense(self, torch.as_tensor(x), _C.matmul, "A @ x", "x")

    def matmul(self, x):
        return self @ x

    def rmatmul(self, x):
        """``Aᵀ @ x`` without materializing the transpose's values (x as for ``A @ x``, with
        A's rows)."""
        return _algebra.apply_dense(self, torch.as_tensor(x), _C.matmul_transpose,
                                    "A.rmatmul(x)", "x", transpose=True)

    # Entrywise arithmetic. Implicit zeros stay zero under every operation below except
    # where a docstring says otherwise; results share A's pattern where they keep it.
    def __add__(self, other):
        """``A + B``: a SparseTensor (or torch sparse tensor) B gives the sum on the union of the
        two patterns (differentiable in both values; equal shapes, dtypes and devices; a batch
        broadcasts against an unbatched matrix). A number or 0-d tensor ``s`` is added to the
        *stored* entries only, ``values + s``, on A's pattern — the implicit zeros stay zero,
        so ``A + s`` is not the dense ``A.to_dense() + s`` (SciPy and torch's sparse tensors
        refuse ``A + s``; for the dense sum write ``A.to_dense() + s``). A dense tensor raises
        TypeError naming both ways to say what is meant: ``A.to_dense() + D`` or
        ``A + dsla.SparseTensor.from_dense(D)``."""
        return _algebra.add(self, other, 1.0, "A + B")

    def __radd__(self, other):
        return _algebra.add(self, other, 1.0, "B + A")

    def __sub__(self, other):
        """``A - B``: as ``A + (-B)`` (union pattern; a number is subtracted from the stored
        entries only)."""
        return _algebra.add(self, other, -1.0, "A - B")

    def __rsub__(self, other):
        if _algebra._is_scalar(other):
            return _algebra.add_scalar(self, other, reverse=True)
        return _algebra.add(-self, other, 1.0, "B - A")

    def add(self, other, alpha=1):
        """``A + alpha * other`` (as torch.add): see :meth:`__add__`."""
        return _algebra.add(self, other, alpha, "A.add()")

    def sub(self, other, alpha=1):
        """``A - alpha * other`` (as torch.sub)."""
        return _algebra.add(self, other, -alpha, "A.sub()")

    def __neg__(self):
        return self.with_values(-self.values)

    def __mul__(self, other):
        """``A * B``, the entrywise (Hadamard) product. A SparseTensor (or torch sparse) B: the
        product on the *intersection* of the patterns (an entry stored in only one of them
        multiplies an implicit zero), differentiable in both values, equal shapes, dtypes and
        devices, batches broadcast. A dense tensor D broadcastable to ``(n, m)`` (or
        ``(B, n, m)``): A's pattern with ``values * D[row, col]`` (sampled; ``A * v`` scales the
        columns by ``v [m]``, ``A * u[:, None]`` the rows), differentiable in D too. A number or
        0-d tensor scales the values."""
        return _algebra.multiply(self, other, "A * B")

    def __rmul__(self, other):
        return _algebra.multiply(self, other, "B * A")

    def mul(self, other):
        """``A * other`` (as torch.mul): see :meth:`__mul__`."""
        return _algebra.multiply(self, other, "A.mul()")

    def multiply(self, other):
        """The entrywise product, SciPy's name: see :meth:`__mul__`."""
        return _algebra.multiply(self, other, "A.multiply()")

    def __truediv__(self, other):
        """``A / s`` for a number or 0-d tensor, or a dense tensor broadcastable to A's shape
        (sampled at A's entries, as for ``*``); dividing by a sparse matrix would divide by its
        implicit zeros and is refused."""
        if _algebra._is_scalar(other):
            return self.with_values(self.values / other)
        if isinstance(other, torch.Tensor) and other.layout == torch.strided:
            return self.with_values(self.values / _algebra.sample_dense(self, other, "A / D"))
        raise TypeError(f"dsla: A / B: B must be a number or a dense tensor, got "
                        f"{type(other).__name__}; dividing by a sparse matrix divides by its "
                        "implicit zeros (for the stored entries of a common pattern use "
                        "A.with_values(A.values / B.values))")

    def __pow__(self, exponent):
        """``A ** p``: the stored values to the power p (see :meth:`pow`)."""
        return _algebra.power(self, exponent)

    def pow(self, exponent):
        """Stored values to the power ``exponent`` (a number or 0-d tensor), on A's pattern:
        the implicit zeros stay zero, also for ``p <= 0`` (where the dense power would give 1
        or inf) — SciPy's ``A.power(p)``."""
        return _algebra.power(self, exponent)

    def __abs__(self):
        return self.abs()

    def clamp(self, min=None, max=None):
        """Stored values clamped to ``[min, max]`` (real values), on A's pattern. The implicit
        zeros are not clamped: ``A.clamp(min=1)`` leaves them 0."""
        return _algebra.clamp(self, min, max)

    clip = clamp

    abs = _elementwise("abs")
    absolute = abs
    neg = _elementwise("neg")
    negative = neg
    exp = _elementwise("exp")
    expm1 = _elementwise("expm1")
    log = _elementwise("log")
    log1p = _elementwise("log1p")
    log2 = _elementwise("log2")
    log10 = _elementwise("log10")
    sqrt = _elementwise("sqrt")
    rsqrt = _elementwise("rsqrt")
    square = _elementwise("square")
    sin = _elementwise("sin")
    cos = _elementwise("cos")
    tan = _elementwise("tan")
    asin = _elementwise("asin")
    acos = _elementwise("acos")
    atan = _elementwise("atan")
    sinh = _elementwise("sinh")
    cosh = _elementwise("cosh")
    tanh = _elementwise("tanh")
    asinh = _elementwise("asinh")
    atanh = _elementwise("atanh")
    sigmoid = _elementwise("sigmoid")
    relu = _elementwise("relu")
    sign = _elementwise("sign")
    sgn = _elementwise("sgn")
    floor = _elementwise("floor")
    ceil = _elementwise("ceil")
    round = _elementwise("round")
    trunc = _elementwise("trunc")
    angle = _elementwise("angle")

    @property
    def real(self):
        """Real part of the values on A's pattern (a real SparseTensor; A itself when A is
        real, as ``torch.real``); differentiable."""
        if not self.dtype.is_complex:
            return self
        return _algebra.elementwise(self, "real")

    @property
    def imag(self):
        """Imaginary part of the values on A's pattern (a real SparseTensor); complex A only,
        as ``torch.imag``; differentiable."""
        return _algebra.elementwise(self, "imag")

    def solve(self, b, **kwargs):
        """``x`` with ``A x = b`` (differentiable); options as for :func:`dsla.solve`."""
        return _solve(self, b, **kwargs)

    def diagonal(self):
        """Main diagonal (zeros where not stored); differentiable."""
        return self._unflat(self._m.diagonal())

    def is_symmetric(self, rtol=1e-12, atol=0.0, hermitian=True):
        """Values and pattern symmetric (Hermitian for complex, unless ``hermitian=False``)
        within ``atol + rtol·max|a|``. A Python bool for one matrix; for a batch, one answer
        per member: a ``torch.bool`` tensor of shape ``batch_shape`` (on the CPU)."""
        if not self._m.is_batched:
            return self._m.is_symmetric(rtol, atol, hermitian)
        flat = self._m.values
        out = [self._m.with_values(flat[b]).is_symmetric(rtol, atol, hermitian)
               for b in range(flat.shape[0])]
        return torch.tensor(out, dtype=torch.bool).reshape(self.batch_shape)

    def is_hermitian(self, rtol=1e-12, atol=0.0):
        """``A == Aᴴ`` within ``atol + rtol·max|a|`` (for real values the same as
        :meth:`is_symmetric`); per member for a batch, as :meth:`is_symmetric`."""
        return self.is_symmetric(rtol, atol, hermitian=True)

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

    # Reductions. dim=None: all entries; dim=1: one value per row (over the columns, as in
    # torch); dim=0: one value per column; batched matrices give [*S] / [*S, n] / [*S, m]
    # for batch shape S.
    # Every entry of the n x m matrix takes part, the implicit zeros included (the dense
    # semantics of torch.sum / SciPy's sum, mean, max, min): a reduction of the stored values
    # alone is one of A.values (e.g. A.values.mean(-1)).
    def sum(self, dim=None):
        """Sum of all entries (``dim=None``), row sums (``dim=1``) or column sums (``dim=0``);
        differentiable. The implicit zeros add nothing: as ``torch.sparse.sum`` and SciPy."""
        dim = _algebra._dim(dim, "A.sum()")
        if dim is None:
            return self.values.sum(-1)
        return self._unflat(self._m.row_sums() if dim == 1 else self._m.col_sums())

    def mean(self, dim=None):
        """Mean over all ``n·m`` entries, per row (``dim=1``, the row sum over ``m``) or per
        column (``dim=0``): the implicit zeros count, as SciPy's ``A.mean(axis)`` and
        ``A.to_dense().mean(dim)`` (torch has no sparse mean to follow). The mean of the stored
        values alone is ``A.values.mean(-1)``. An empty reduction is NaN, as in torch.
        Differentiable."""
        return _algebra.mean(self, dim)

    def prod(self, dim=None):
        """Product of all entries, per row (``dim=1``) or per column (``dim=0``), implicit zeros
        included: a row (column) that is not full — fewer than ``m`` (``n``) stored entries —
        has product 0, and so does the whole matrix unless every entry is stored (an empty
        product is 1, as in torch). Differentiable (torch.prod's gradient, zeros included)."""
        return _algebra.prod(self, dim)

    def max(self, dim=None):
        """Largest entry overall, per row (``dim=1``) or per column (``dim=0``), the implicit
        zeros included as SciPy's ``A.max(axis)``: a row (column) that is not full has a
        maximum of at least 0. Values only (no indices; ``torch.max(A)`` calls this, and
        ``torch.amax(A, dim)`` the per-row/column form). Real values; an empty matrix (or
        ``dim=1`` with no columns) raises ValueError. Differentiable: the gradient goes to the
        stored entry that is the maximum (none when an implicit zero is)."""
        return _algebra.extreme(self, dim, "max")

    def min(self, dim=None):
        """Smallest entry overall, per row or per column, implicit zeros included (SciPy's
        ``A.min(axis)``): see :meth:`max`."""
        return _algebra.extreme(self, dim, "min")

    amax = max
    amin = min

    def norm(self, ord="fro", dim=None):
        """Matrix norm (``dim=None``): ``"fro"``, ``1`` (max column sum), ``inf`` (max row sum)
        or ``2`` (largest singular value, see :func:`dsla.norm2`). With ``dim=1`` (``0``): the
        vector ``ord``-norm of each row (column), as ``torch.linalg.vector_norm(A.to_dense(),
        ord, dim)``: ``ord`` = ``"fro"``/2 (default), 1, any p > 0, ``inf``, ``-inf`` (0 for a
        row that is not full: the implicit zeros count) or 0 (the number of nonzero values).
        Differentiable (a zero row has gradient 0, not NaN)."""
        dim = _algebra._dim(dim, "A.norm()")
        if dim is not None:
            return _algebra.vector_norm(self, ord, dim)
        if ord in (1, "1"):
            ord = "1"
        elif ord in (float("inf"), "inf"):
            ord = "inf"
        elif ord in (2, "2"):
            return _norm2(self)
        return self._unflat(self._m.norm(ord))

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
        return self._like(
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
        r = repr(self._m).replace("SparseMatrix", "SparseTensor", 1)
        if self._bs:
            r = r.replace(f"batch={self._m.batch_size}", f"batch={self._bs}", 1)
        return r


_torch_protocol.allow_in_torch_load(SparseTensor)
_interop.register_sparse_tensor(SparseTensor)
