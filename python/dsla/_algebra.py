"""Algebra on sparse matrices, written once in torch operations on the values and the CSR
arrays (so the same code runs on CPU and CUDA tensors, and autograd differentiates it):
elementwise functions of the stored values, sums and Hadamard products of matrices with
different patterns, scalar offsets, reductions over rows / columns / all entries, and the
assembly of Kronecker products and block-diagonal matrices (and the split of the latter).

:class:`dsla.SparseTensor`'s methods and operators and :mod:`dsla.construct`'s factories call
these functions; this module knows a SparseTensor only through ``_sparse_base`` and builds
results through ``_interop._wrap`` (it never imports ``sparse_tensor``). The conventions (what
happens to the implicit zeros) are stated in the docstrings of the public methods.
"""
import numbers

import torch

from . import _C, _batch, _interop
from ._sparse_base import is_sparse_tensor
from ._util import as_float, as_int

_INT32_MAX = 2**31 - 1


# ---------------------------------------------------------------------------------- helpers
def _shape2(A):
    return A._m.rows, A._m.cols


def _wrap(m, batch_shape=None):
    return _interop._wrap(m, batch_shape)


def _from_csr(crow, col, values, shape):
    """A SparseTensor from CSR arrays already sorted and unique per row (indices are still
    validated, O(nnz)); int32 indices when every index and the nnz fit. Values ``[..., nnz]``:
    their leading dimensions are the batch shape."""
    n, m = shape
    idx = torch.int32 if max(n, m, col.numel()) <= _INT32_MAX else torch.int64
    batch = tuple(values.shape[:-1])
    if values.dim() > 2:
        values = values.reshape(-1, values.shape[-1])
    return _wrap(_C.SparseMatrix.from_csr(crow.to(idx), col.to(idx), values, n, m, False),
                 batch)


def broadcast_pair(A, B, what, name="B"):
    """Two SparseTensors brought to batches the C++ flat batch combines member by member:
    ``(A', B', batch_shape)`` where each of A', B' is unbatched or has the broadcast batch
    shape (values expanded only where a batch dimension of 1 meets a larger one)."""
    sa, sb = A.batch_shape, B.batch_shape
    batch = _batch.broadcast(sa, sb, what, name)
    if sa and sa != batch:
        A = A.expand(batch)
    if sb and sb != batch:
        B = B.expand(batch)
    return A, B, batch


def apply_dense(A, x, fn, what, name, transpose=False):
    """``fn(A._m, x)`` (``_C.matmul`` / ``_C.matmul_transpose``) over A's batch shape and x's
    (see ``_batch.Layout`` for the shapes x may have); the result has the broadcast batch."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"dsla: {what}: argument '{name}' must be a torch.Tensor, got "
                        f"{type(x).__name__}")
    n, m = _shape2(A)
    L = _batch.Layout(A.batch_shape, n if transpose else m, x, name, what)
    if not L.native() and not L.fold() and L.batch != A.batch_shape:
        A = A.expand(L.batch)
    return L.from_flat(fn(A._m, L.to_flat(x)))


def _crow_of(row, n):
    """CSR row pointers ``[n + 1]`` of row indices sorted ascending (int64)."""
    return torch.searchsorted(row, torch.arange(n + 1, device=row.device, dtype=row.dtype))


def _dtype_fix(dtype):
    return f"convert one of them, e.g. B.to({dtype})"


def _check_same_kind(A, B, what, name="B"):
    """Shape, dtype, device and batch shapes (broadcastable) of two SparseTensors that combine
    entrywise."""
    if _shape2(A) != _shape2(B):
        raise ValueError(f"dsla: {what}: argument '{name}' has shape {_shape2(B)} but A has "
                         f"{_shape2(A)}; entrywise operations need equal shapes")
    if A.dtype != B.dtype:
        raise TypeError(f"dsla: {what}: argument '{name}' has dtype {B.dtype} but A has "
                        f"{A.dtype}; {_dtype_fix(A.dtype)}")
    if A.device != B.device:
        raise ValueError(f"dsla: {what}: argument '{name}' is on {B.device} but A is on "
                         f"{A.device}; move one, e.g. B.to('{A.device}')")
    _batch.broadcast(A.batch_shape, B.batch_shape, what, name)


def _entry_keys(A, B):
    """One int64 key per stored entry of A and of B, ascending in CSR order (row-major), equal
    exactly for equal (row, col). ``row * cols + col``; when that could overflow int64 the
    columns are first renumbered among those that occur."""
    n, m = _shape2(A)
    ra, ca, rb, cb = A.row.long(), A.col.long(), B.row.long(), B.col.long()
    if n * m >= 2**62:
        used = torch.unique(torch.cat([ca, cb]))
        ca, cb, m = torch.searchsorted(used, ca), torch.searchsorted(used, cb), used.numel()
    return ra * m + ca, rb * m + cb


def _matching(A, B):
    """Positions ``(ia, ib)`` of the entries A and B both store, ascending."""
    ka, kb = _entry_keys(A, B)
    if ka.numel() == 0 or kb.numel() == 0:
        e = torch.zeros(0, dtype=torch.int64, device=ka.device)
        return e, e
    pos = torch.searchsorted(ka, kb)
    hit = ka[pos.clamp(max=ka.numel() - 1)] == kb
    ib = hit.nonzero().squeeze(1)
    return pos[ib], ib


def _gather(values, index):
    """``values[..., index]`` (index_select along the last dimension; differentiable)."""
    return values.index_select(values.dim() - 1, index)


def _is_scalar(x):
    return isinstance(x, numbers.Number) or (isinstance(x, torch.Tensor) and x.dim() == 0)


def _as_sparse_operand(x):
    """A SparseTensor, or a torch sparse COO / CSR tensor as one; None for anything else."""
    if is_sparse_tensor(x):
        return x
    if isinstance(x, torch.Tensor) and x.layout in (torch.sparse_coo, torch.sparse_csr):
        return _interop.as_sparse(x, "B")
    return None


# ---------------------------------------------------------------------------------- elementwise
# name -> (needs real values, complex-only). f is torch.<name>, applied to the stored values.
ELEMENTWISE = {
    "abs": (False, False), "neg": (False, False), "exp": (False, False),
    "expm1": (False, False), "log": (False, False), "log1p": (False, False),
    "log2": (False, False), "log10": (False, False), "sqrt": (False, False),
    "rsqrt": (False, False), "square": (False, False), "sin": (False, False),
    "cos": (False, False), "tan": (False, False), "asin": (False, False),
    "acos": (False, False), "atan": (False, False), "sinh": (False, False),
    "cosh": (False, False), "tanh": (False, False), "asinh": (False, False),
    "atanh": (False, False), "sigmoid": (False, False), "relu": (True, False),
    "sign": (True, False), "sgn": (False, False), "floor": (True, False),
    "ceil": (True, False), "round": (True, False), "trunc": (True, False),
    "angle": (False, False), "real": (False, False), "imag": (False, True),
}


def elementwise(A, name, *args, **kwargs):
    """``torch.<name>`` of A's stored values, on A's pattern (shared with A)."""
    real_only, complex_only = ELEMENTWISE.get(name, (False, False))
    if real_only and A.dtype.is_complex:
        alt = {"sign": "A.sgn() (z / |z|)"}.get(name, "it on A.real and A.imag")
        raise TypeError(f"dsla: A.{name}(): not defined for complex values ({A.dtype}); "
                        f"use {alt}")
    if complex_only and not A.dtype.is_complex:
        raise TypeError(f"dsla: A.{name}(): A is real ({A.dtype}), its imaginary part is zero; "
                        "convert first, e.g. A.to(torch.complex128), or use A * 0")
    try:
        v = getattr(torch, name)(A.values, *args, **kwargs)
    except (RuntimeError, NotImplementedError) as e:
        if "not implemented for" not in str(e) and "not supported" not in str(e):
            raise
        raise TypeError(f"dsla: A.{name}(): torch.{name} does not support {A.dtype} values "
                        f"(on {A.device.type}, torch {torch.__version__}: {e}); convert A, e.g. "
                        "A.to(torch.float64) for real values") from None
    if not v.is_contiguous():  # .real / .imag are strided views of the complex values
        v = v.contiguous()
    return A.with_values(v)


def clamp(A, min=None, max=None):
    if A.dtype.is_complex:
        raise TypeError(f"dsla: A.clamp(): not defined for complex values ({A.dtype}); clamp "
                        "A.real or A.abs()")
    if min is None and max is None:
        raise ValueError("dsla: A.clamp(): give argument 'min' or 'max' (or both)")
    return A.with_values(torch.clamp(A.values, min=min, max=max))


def power(A, exponent):
    if not _is_scalar(exponent):
        raise TypeError("dsla: A.pow(): argument 'exponent' must be a number or a 0-d tensor, "
                        f"got {type(exponent).__name__}"
                        + (f" of shape {tuple(exponent.shape)}"
                           if isinstance(exponent, torch.Tensor) else "")
                        + "; for entrywise exponents on A's pattern use "
                          "A.with_values(A.values ** e)")
    return A.with_values(torch.pow(A.values, exponent))


# ---------------------------------------------------------------------------------- binary
def add_scalar(A, s, alpha=1, reverse=False):
    """Stored values ``v + alpha·s`` (``alpha·s − v`` with reverse): implicit zeros stay."""
    v = A.values
    return A.with_values((s - v) if reverse else (v + s * alpha))


def _dense_sum_error(what, other):
    return TypeError(
        f"dsla: {what}: the other operand is a dense {type(other).__name__} of shape "
        f"{tuple(getattr(other, 'shape', ()))}; a sparse matrix plus a dense one is dense, "
        "which dsla does not build silently: use A.to_dense() + D for the dense sum, or "
        "A + dsla.SparseTensor.from_dense(D) for the sum on the union pattern (a number is "
        "added to A's stored entries only)")


def add(A, B, alpha=1.0, what="A + B"):
    """``A + alpha·B``: union pattern for a sparse B, the stored entries for a scalar B."""
    if _is_scalar(B):
        return add_scalar(A, B, alpha)
    Bs = _as_sparse_operand(B)
    if Bs is None:
        if isinstance(B, torch.Tensor):
            raise _dense_sum_error(what, B)
        return NotImplemented
    _check_same_kind(A, Bs, what)
    if not isinstance(alpha, numbers.Number):
        raise TypeError(f"dsla: {what}: argument 'alpha' must be a number, got "
                        f"{type(alpha).__name__}")
    return add_matrices(A, Bs, 1.0, alpha, what)


def add_matrices(A, B, alpha, beta, what):
    """``alpha·A + beta·B`` on the union pattern, batches broadcast."""
    A, B, batch = broadcast_pair(A, B, what)
    return _wrap(_C.add(A._m, B._m, float(alpha), float(beta)), batch)


def multiply(A, B, what="A * B"):
    """Hadamard product: intersection pattern for a sparse B; A's pattern for a dense B
    (sampled at A's entries) or a scalar."""
    if _is_scalar(B):
        return A.with_values(A.values * B)
    Bs = _as_sparse_operand(B)
    if Bs is not None:
        _check_same_kind(A, Bs, what)
        ia, ib = _matching(A, Bs)
        vals = _gather(A.values, ia) * _gather(Bs.values, ib)
        n, m = _shape2(A)
        row = _gather(A.row.long(), ia)
        return _from_csr(_crow_of(row, n), _gather(A.col.long(), ia), vals.contiguous(), (n, m))
    if isinstance(B, torch.Tensor):
        return A.with_values(A.values * sample_dense(A, B, what))
    return NotImplemented


def sample_dense(A, D, what):
    """``D[..., row, col]`` for a dense D broadcastable to A's ``(*batch_shape, n, m)``."""
    n, m = _shape2(A)
    if D.layout != torch.strided:
        raise TypeError(f"dsla: {what}: unsupported layout {D.layout} of the other operand")
    if D.device != A.device:
        raise ValueError(f"dsla: {what}: the dense operand is on {D.device} but A is on "
                         f"{A.device}; move it, e.g. D.to('{A.device}')")
    D2 = D.reshape((1,) * max(0, 2 - D.dim()) + tuple(D.shape))
    try:
        D2 = D2.expand(*D2.shape[:-2], n, m)
    except RuntimeError:
        raise ValueError(f"dsla: {what}: the dense operand of shape {tuple(D.shape)} does not "
                         f"broadcast to A's ({n}, {m})") from None
    _batch.broadcast(A.batch_shape, tuple(D2.shape[:-2]), what, "D")
    return D2[..., A.row.long(), A.col.long()]


# ---------------------------------------------------------------------------------- reductions
def _dim(dim, what):
    """None (all entries), 0 (one value per column) or 1 (one value per row); -2 and -1 name
    the same axes, and (0, 1) means all."""
    def one(d):
        if isinstance(d, bool) or not isinstance(d, int) or not -2 <= d <= 1:
            raise ValueError(f"dsla: {what}: argument 'dim': use None (all entries), 0 (over "
                             f"the rows: one value per column) or 1 (over the columns: one "
                             f"value per row), got {dim!r}")
        return d % 2

    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        ds = {one(d) for d in dim}
        if len(ds) != len(dim) or not ds:
            one(None)
        return None if len(ds) == 2 else ds.pop()
    return one(dim)


def _row_counts(A):
    c = A.crow.long()
    return c[1:] - c[:-1]


def _zeros_out(A, size, dtype=None):
    shape = A.batch_shape + (size,)
    return torch.zeros(shape, dtype=dtype or A.dtype, device=A.device)


def _segment_sum(A, v, index, size):
    """``out[..., index[k]] += v[..., k]`` (differentiable)."""
    return _zeros_out(A, size, v.dtype).index_add(v.dim() - 1, index, v)


def mean(A, dim=None):
    """Mean over all ``n·m`` entries (implicit zeros count), per row or per column."""
    n, m = _shape2(A)
    dim = _dim(dim, "A.mean()")
    count = n * m if dim is None else (m if dim == 1 else n)
    s = A.sum(dim)
    return s / count if count else s * float("nan")


def prod(A, dim=None):
    """Product over all entries, per row (dim=1) or per column (dim=0): an implicit zero makes
    it 0, so only full rows (columns) have a nonzero product."""
    n, m = _shape2(A)
    dim = _dim(dim, "A.prod()")
    if dim is None:
        if A.nnz == n * m:
            return A.values.prod(-1)
        return _zeros_out(A, 1).squeeze(-1)
    if dim == 0:
        return prod(A.T, 1)
    counts = _row_counts(A)
    if m == 0:
        return _zeros_out(A, n) + 1
    full = (counts == m).nonzero().squeeze(1)
    c = A.crow.long()
    # the entries of the full rows, m per row, in row order: one [n_full, m] block
    idx = (c[full].unsqueeze(1) + torch.arange(m, device=A.device)).reshape(-1)
    block = _gather(A.values, idx).reshape(A.values.shape[:-1] + (full.numel(), m))
    return _zeros_out(A, n).index_copy(A.values.dim() - 1, full, block.prod(-1))


def _check_real(A, what):
    if A.dtype.is_complex:
        raise TypeError(f"dsla: {what}: not defined for complex values ({A.dtype}); reduce "
                        "A.real, A.imag or A.abs() instead")


def _row_extreme(A, v, op):
    """Per-row max / min of the stored values ``v`` ([..., nnz], A's order): -inf / +inf for
    rows without entries."""
    n, _ = _shape2(A)
    fill = float("-inf") if op == "max" else float("inf")
    if v.shape[-1] == 0:
        return _zeros_out(A, n, v.dtype) + fill
    counts = _row_counts(A)
    if v.dim() == 1:
        return torch.segment_reduce(v, op, lengths=counts, axis=0, unsafe=True)
    flat = v.reshape(-1, v.shape[-1])
    r = torch.segment_reduce(flat, op, lengths=counts.expand(flat.shape[0], n), axis=1,
                             unsafe=True)
    return r.reshape(tuple(v.shape[:-1]) + (n,))


def extreme(A, dim, op):
    """max / min with the implicit zeros included (SciPy's ``max(axis)``)."""
    what = f"A.{op}()"
    _check_real(A, what)
    n, m = _shape2(A)
    dim = _dim(dim, what)
    bound = (lambda x: x.clamp(min=0)) if op == "max" else (lambda x: x.clamp(max=0))
    if dim is None:
        if n * m == 0:
            raise ValueError(f"dsla: {what}: A has no entries (shape {(n, m)}); the {op} of an "
                             "empty matrix is undefined (as for torch and SciPy)")
        if A.nnz == 0:
            return _zeros_out(A, 1).squeeze(-1)
        r = A.values.amax(-1) if op == "max" else A.values.amin(-1)
        return r if A.nnz == n * m else bound(r)
    if dim == 0:
        return extreme(A.T, 1, op)
    if m == 0:
        raise ValueError(f"dsla: {what}: A has {m} columns; the {op} over an empty row is "
                         "undefined (as for torch and SciPy)")
    r = _row_extreme(A, A.values, op)
    full = _row_counts(A) == m
    return torch.where(full, r, bound(r))


def _safe_root(s, p):
    """``s ** (1/p)`` with a zero gradient (not NaN) where ``s`` is 0."""
    pos = s > 0
    return torch.where(pos, torch.where(pos, s, torch.ones_like(s)) ** (1.0 / p),
                       torch.zeros_like(s))


def vector_norm(A, ord, dim):
    """p-norm of each row (dim=1) or column (dim=0) of the matrix, implicit zeros included."""
    what = "A.norm(dim=...)"
    if ord == "fro":
        ord = 2
    if isinstance(ord, str) and ord in ("inf", "-inf"):
        ord = float(ord)
    p = as_float(ord, "ord")
    if p < 0 and p != float("-inf"):
        raise ValueError(f"dsla: {what}: argument 'ord': use a p >= 0, inf or -inf, got {ord!r}")
    n, m = _shape2(A)
    a = A.values.abs()
    if dim == 0:
        return vector_norm(A.T, ord, 1)
    if p == float("inf"):
        return _row_extreme(A, a, "max").clamp(min=0)
    if p == float("-inf"):
        r = _row_extreme(A, a, "min")
        return torch.where(_row_counts(A) == m, r, torch.zeros_like(r))
    row = A.row.long()
    if p == 0:
        return _segment_sum(A, (a != 0).to(a.dtype), row, n)
    if p == 1:
        return _segment_sum(A, a, row, n)
    return _safe_root(_segment_sum(A, a ** p, row, n), p)


# ---------------------------------------------------------------------------------- assembly
def _batch_values(values, names, what):
    """Values ``[nnz_i]`` / ``[..., nnz_i]`` brought to one batch shape (torch broadcasting of
    the leading dimensions; unbatched ones expanded)."""
    shapes = [tuple(v.shape[:-1]) for v in values]
    try:
        batch = tuple(torch.broadcast_shapes(*shapes))
    except RuntimeError:
        got = ", ".join(f"{nm}: {s}" for nm, s in zip(names, shapes) if s)
        raise ValueError(f"dsla: {what}: batch sizes differ and do not broadcast ({got}); "
                         "give the batched matrices equal batch shapes, or 1 where one is "
                         "shared (unbatched ones are broadcast)") from None
    if not batch:
        return values
    return [v if tuple(v.shape[:-1]) == batch else v.expand(batch + (v.shape[-1],))
            for v in values]


def _same_dtype_device(mats, names, what):
    ref = mats[0]
    for M, nm in zip(mats[1:], names[1:]):
        if M.dtype != ref.dtype:
            raise TypeError(f"dsla: {what}: argument '{nm}' has dtype {M.dtype} but "
                            f"'{names[0]}' has {ref.dtype}; convert it, e.g. "
                            f"{nm}.to({ref.dtype})")
        if M.device != ref.device:
            raise ValueError(f"dsla: {what}: argument '{nm}' is on {M.device} but "
                             f"'{names[0]}' is on {ref.device}; move it, e.g. "
                             f"{nm}.to('{ref.device}')")


def kron(A, B):
    """Kronecker product, built directly in CSR order (no sort)."""
    A = _interop.as_sparse(A, "A")
    B = _interop.as_sparse(B, "B")
    _same_dtype_device([A, B], ["A", "B"], "dsla.kron")
    (na, ma), (nb, mb) = _shape2(A), _shape2(B)
    dev = A.device
    ca, cb = A.crow.long(), B.crow.long()
    cnt_a, cnt_b = ca[1:] - ca[:-1], cb[1:] - cb[:-1]
    per_row = (cnt_a.unsqueeze(1) * cnt_b.unsqueeze(0)).reshape(-1)  # output row ra * nb + rb
    crow = torch.zeros(na * nb + 1, dtype=torch.int64, device=dev)
    crow[1:] = torch.cumsum(per_row, 0)
    total = A.nnz * B.nnz
    R = torch.repeat_interleave(torch.arange(na * nb, device=dev), per_row, output_size=total)
    ra, rb = torch.div(R, nb, rounding_mode="floor") if nb else R, (R % nb) if nb else R
    t = torch.arange(total, device=dev) - crow[R]
    nbr = cnt_b[rb]
    ia = ca[ra] + torch.div(t, nbr, rounding_mode="floor")
    ib = cb[rb] + t % nbr
    col = A.col.long()[ia] * mb + B.col.long()[ib]
    va, vb = _batch_values([A.values, B.values], ["A", "B"], "dsla.kron")
    vals = _gather(va, ia) * _gather(vb, ib)
    return _from_csr(crow, col, vals, (na * nb, ma * mb))


def block_diag(matrices):
    """Block-diagonal assembly of a list of matrices, in CSR order directly."""
    what = "dsla.block_diag"
    if is_sparse_tensor(matrices) or isinstance(matrices, torch.Tensor):
        raise TypeError(f"dsla: {what}: argument 'matrices': expected a list of matrices, got "
                        "one matrix; pass [A1, A2, ...]")
    try:
        mats = list(matrices)
    except TypeError:
        raise TypeError(f"dsla: {what}: argument 'matrices': expected a list of matrices, got "
                        f"{type(matrices).__name__}") from None
    if not mats:
        raise ValueError(f"dsla: {what}: argument 'matrices': the list is empty; give at least "
                         "one matrix (the dtype and device come from them)")
    names = [f"matrices[{i}]" for i in range(len(mats))]
    mats = [_interop.as_sparse(M, nm) for M, nm in zip(mats, names)]
    _same_dtype_device(mats, names, what)
    crows, cols, r0, c0, e0 = [], [], 0, 0, 0
    for M in mats:
        crows.append(M.crow.long()[:-1] + e0)
        cols.append(M.col.long() + c0)
        r, c = _shape2(M)
        r0, c0, e0 = r0 + r, c0 + c, e0 + M.nnz
    dev = mats[0].device
    crow = torch.cat(crows + [torch.tensor([e0], dtype=torch.int64, device=dev)])
    vals = torch.cat(_batch_values([M.values for M in mats], names, what), -1)
    return _from_csr(crow, torch.cat(cols), vals, (r0, c0))


def _block_sizes(sizes, what):
    try:
        items = list(sizes)
    except TypeError:
        raise TypeError(f"dsla: {what}: argument 'sizes': expected a list of block sizes (ints "
                        f"for square blocks, or (rows, cols) pairs), got "
                        f"{type(sizes).__name__}") from None
    out = []
    for i, s in enumerate(items):
        pair = s if isinstance(s, (tuple, list)) else (s, s)
        if len(pair) != 2:
            raise ValueError(f"dsla: {what}: argument 'sizes[{i}]': expected an int or a "
                             f"(rows, cols) pair, got {s!r}")
        out.append((as_int(pair[0], f"sizes[{i}]", 0), as_int(pair[1], f"sizes[{i}]", 0)))
    return out


def split_block_diag(A, sizes, check=True):
    """The diagonal blocks of A: a list of SparseTensors (differentiable gathers of A.values)."""
    what = "dsla.split_block_diag"
    A = _interop.as_sparse(A, "A")
    blocks = _block_sizes(sizes, what)
    n, m = _shape2(A)
    rs, cs = sum(b[0] for b in blocks), sum(b[1] for b in blocks)
    if (rs, cs) != (n, m):
        raise ValueError(f"dsla: {what}: argument 'sizes': the blocks cover ({rs}, {cs}) but A "
                         f"has shape ({n}, {m}); the block sizes must add up to A's shape")
    if not blocks:
        return []
    dev = A.device
    rb = torch.tensor([0] + [b[0] for b in blocks], device=dev).cumsum(0)
    cb = torch.tensor([0] + [b[1] for b in blocks], device=dev).cumsum(0)
    row, col = A.row.long(), A.col.long()
    # block of each entry's row / column (zero-size blocks own no index)
    br = torch.searchsorted(rb[1:], row, right=True)
    bc = torch.searchsorted(cb[1:], col, right=True)
    inside = br == bc
    if not check:
        sel = inside.nonzero().squeeze(1)
    elif not bool(inside.all()):
        k = int((~inside).sum())
        raise ValueError(f"dsla: {what}: A stores {k} entries outside the diagonal blocks of "
                         f"'sizes'; check the sizes, or pass check=False to drop those entries")
    else:
        sel = None
    counts = torch.bincount(br if sel is None else br[sel], minlength=len(blocks)).tolist()
    out, start = [], 0
    for k, (r, c) in enumerate(blocks):
        idx = torch.arange(start, start + counts[k], device=dev)
        if sel is not None:
            idx = sel[idx]
        start += counts[k]
        rows = row[idx] - rb[k]
        out.append(_from_csr(_crow_of(rows, r), col[idx] - cb[k], _gather(A.values, idx),
                             (r, c)))
    return out
