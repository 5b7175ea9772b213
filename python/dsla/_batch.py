"""Leading batch dimensions on top of the C++ flat batch.

A :class:`dsla.SparseTensor` with batch shape ``S`` (a tuple; ``()`` unbatched) hands the C++
``SparseMatrix`` its values flattened to ``[prod(S), nnz]`` (one flat batch) and reshapes what
comes back. This module holds the rules that every entry point shares: which dense operands are
batches of vectors and which are (batches of) matrices, how their batch broadcasts against
``S``, and how results are brought back to the broadcast batch shape. It imports nothing of
dsla's, so every module may use it.
"""
import math

import torch


def numel(shape):
    return math.prod(shape)


def unflatten(t, batch_shape):
    """A C++ result with one flat leading batch dimension ``[B, ...]`` as ``[*batch_shape, ...]``
    (unchanged for batch shapes of length 0 or 1)."""
    if len(batch_shape) < 2:
        return t
    return t.reshape(tuple(batch_shape) + tuple(t.shape[1:]))


def broadcast(a, b, what, name, a_name="A"):
    """The broadcast of two batch shapes; a ValueError naming argument ``name`` otherwise."""
    try:
        return tuple(torch.broadcast_shapes(tuple(a), tuple(b)))
    except RuntimeError:
        raise ValueError(f"dsla: {what}: argument '{name}' has a batch of {_fmt(b)} but "
                         f"{a_name} has {_fmt(a)}; batch shapes broadcast as torch's do (equal "
                         "dimensions, or 1 where one side is shared; an unbatched matrix "
                         "meets any batch)") from None


def _fmt(shape):
    shape = tuple(shape)
    return str(shape[0]) if len(shape) == 1 else str(shape)


class Layout:
    """How a dense operand ``x`` meets a matrix of batch shape ``S`` whose product (or solve)
    needs ``n`` rows in ``x``:

    - ``x [n]``: one vector for every member;
    - ``x [*Sx, n]`` with ``len(Sx) == len(S) >= 1`` and ``Sx`` broadcasting to ``S`` (equal
      dimensions or 1): a batch of vectors, member by member — for a flat batch the
      ``[B, n]`` of the C++ API;
    - anything else is ``[*Sx, n, k]``: ``k`` columns, ``Sx`` (possibly empty) broadcast
      against ``S`` as torch.matmul broadcasts.

    ``batch`` is the result's batch shape, ``vector`` whether ``x`` holds vectors, ``k`` the
    columns (1 for vectors)."""

    def __init__(self, S, n, x, name, what):
        S = tuple(S)
        self.S, self.n, self.name, self.what = S, n, name, what
        if x.dim() == 0:
            raise ValueError(f"dsla: {what}: argument '{name}' is a 0-d tensor; expected "
                             f"[n], [..., n] or [..., n, k] with n = {n}")
        s = len(S)
        self.vector = x.dim() == 1 or (
            s >= 1 and x.dim() == s + 1 and x.shape[-1] == n
            and all(a in (1, b) for a, b in zip(x.shape[:-1], S)))
        if self.vector:
            self.xbatch = tuple(x.shape[:-1])
            self.k = 1
            if x.shape[-1] != n:
                raise ValueError(f"dsla: {what}: argument '{name}' has shape "
                                 f"{tuple(x.shape)}; expected [n], [..., n] or [..., n, k] "
                                 f"with n = {n}")
        else:
            if x.shape[-2] != n:
                want = f"[{n}], [{n}, k]" + (f", [*batch, {n}] with batch {S} (or 1 in a "
                                             f"dimension)" if S else "")
                raise ValueError(f"dsla: {what}: argument '{name}' has shape "
                                 f"{tuple(x.shape)}; expected {want} or [*batch, {n}, k] "
                                 f"(n = {n} rows)")
            self.xbatch = tuple(x.shape[:-2])
            self.k = x.shape[-1]
        self.batch = broadcast(S, self.xbatch, what, name)

    def core(self, rows):
        """The trailing (non-batch) dimensions of an operand with ``rows`` rows."""
        return (rows,) if self.vector else (rows, self.k)

    def native(self):
        """True when the C++ flat batch takes ``x`` as it is: ``x`` has no batch of its own and
        ``[n, k]`` cannot be read as the C++ ``[B, n]``."""
        if self.xbatch:
            return False
        if self.vector or not self.S:
            return True
        return not (self.k == self.n and self.n == numel(self.S))

    def fold(self):
        """Unbatched matrix, batched ``x [*Sx, n, k]``: one product with ``n x (prod(Sx)·k)``."""
        return not self.S and bool(self.xbatch)

    def to_flat(self, t, rows=None):
        """``t`` (``x`` or an operand shaped like it, with ``rows`` rows) in the form the C++
        call takes for this layout: ``[n, ...]`` native, ``[n, prod·k]`` folded, or
        ``[B, n, k]`` (vectors as ``k = 1``) over the broadcast batch."""
        rows = self.n if rows is None else rows
        if self.native():
            return t
        if self.fold():
            return t.movedim(-2, 0).reshape(rows, -1)
        if self.vector:
            t = t.unsqueeze(-1)
        return t.expand(self.batch + (rows, self.k)).reshape(
            (numel(self.batch), rows, self.k))

    def from_flat(self, y):
        """A C++ result of :meth:`to_flat`'s form back to ``[*batch, rows(, k)]``."""
        if self.native():
            return unflatten(y, self.S) if self.S else y
        if self.fold():
            rows = y.shape[0]
            return y.reshape((rows,) + self.xbatch + (self.k,)).movedim(0, -2)
        y = y.reshape(self.batch + tuple(y.shape[1:]))
        return y.squeeze(-1) if self.vector else y

    def per_system(self, r):
        """Per-system figures ``[B or 1, k_total]`` (SolveInfo.residuals) as ``[*batch, k]``."""
        if self.native():
            return unflatten(r, self.S) if self.S else r
        if self.fold():
            return r.reshape(self.xbatch + (self.k,))
        return r.reshape(self.batch + (self.k,))
