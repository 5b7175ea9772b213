"""Block-sparse matrices (BSR): dense ``r x c`` blocks at block coordinates::

    Ab = dsla.BlockSparseTensor(values, crow, col, shape)   # values [nnzb, r, c] or [B, nnzb, r, c]
    Ab = dsla.BlockSparseTensor.from_coo(block_row, block_col, values, shape)  # any order, sums
    Ab = dsla.BlockSparseTensor.from_sparse(A, (r, c))       # a scalar matrix in blocks
    y = Ab @ x                      # block SpMV / SpMM (x [m], [m, k] or [B, m, k])
    C = Ab @ Bb                     # block SpGEMM (c of Ab = r of Bb)
    d = Ab.block_det()              # per-block determinants [nnzb] (slogdet, inv too)
    x = dsla.solve(Ab, b, method="cg", precond="amg")   # AMG on the nodes: block_size = r

Everything is differentiable in ``values`` and runs on any device (the block kernels are torch
batched matrix products and index additions). Solves go through the scalar matrix
(:meth:`to_sparse`, differentiable) with the block structure handed to the preconditioner:
``precond="amg"`` aggregates nodes (``block_size=r``, one constant near-nullspace vector per
component unless ``near_nullspace`` is given), ``precond="block_jacobi"`` inverts the ``r x r``
diagonal blocks. A stored block is stored whole: its zeros are entries of the scalar pattern.
"""
import torch

from ._util import as_int

_INT = (torch.int32, torch.int64)


def _blocksize(blocksize, name="blocksize"):
    if isinstance(blocksize, int):
        blocksize = (blocksize, blocksize)
    try:
        r, c = (as_int(b, name, 1) for b in blocksize)
    except TypeError:
        raise TypeError(f"dsla: argument '{name}': expected an int or a pair (r, c), got "
                        f"{blocksize!r}") from None
    return r, c


def _check_shape(shape, r, c):
    if len(shape) != 2:
        raise ValueError(f"dsla: argument 'shape': expected (n, m), got {tuple(shape)}")
    n, m = (int(s) for s in shape)
    if n < 0 or m < 0 or n % r or m % c:
        raise ValueError(f"dsla: argument 'shape': ({n}, {m}) is not a whole number of "
                         f"{r} x {c} blocks; use a shape divisible by the block size")
    return n, m


class BlockSparseTensor:
    """Block-sparse matrix (BSR) of shape ``(n, m)`` = ``(nb r, mb c)``: ``nnzb`` dense
    ``r x c`` blocks, block row pointers ``crow [nb + 1]`` and sorted unique block columns
    ``col [nnzb]`` per block row; ``values [nnzb, r, c]`` or a batch ``[B, nnzb, r, c]`` on
    one pattern."""

    _is_bsr = True
    __slots__ = ("_values", "_crow", "_col", "_shape", "_brow")

    def __init__(self, values, crow, col, shape, *, check=True):
        values = torch.as_tensor(values)
        crow = torch.as_tensor(crow, device=values.device)
        col = torch.as_tensor(col, device=values.device)
        if values.dim() not in (3, 4):
            raise ValueError("dsla: argument 'values': expected [nnzb, r, c] or [B, nnzb, r, c], "
                             f"got shape {tuple(values.shape)}")
        if not (values.is_floating_point() or values.is_complex()):
            raise TypeError(f"dsla: argument 'values': expected a floating or complex dtype "
                            f"(torch.float64, torch.float32, torch.complex128, ...), got "
                            f"{values.dtype}")
        if crow.dtype not in _INT or col.dtype not in _INT or crow.dim() != 1 or col.dim() != 1:
            raise TypeError("dsla: arguments 'crow' and 'col': expected 1-D torch.int32 or "
                            f"torch.int64 tensors, got {crow.dtype} {tuple(crow.shape)} and "
                            f"{col.dtype} {tuple(col.shape)}")
        r, c = values.shape[-2:]
        n, m = _check_shape(shape, r, c)
        nb, mb = n // r, m // c
        nnzb = values.shape[-3]
        if check:
            if crow.numel() != nb + 1:
                raise ValueError(f"dsla: argument 'crow': expected {nb + 1} block row pointers "
                                 f"for {nb} block rows, got {crow.numel()}")
            if col.numel() != nnzb:
                raise ValueError(f"dsla: argument 'col': expected {nnzb} block columns (one "
                                 f"per block of values), got {col.numel()}")
            cr = crow.long()
            if int(cr[0]) != 0 or int(cr[-1]) != nnzb or bool((cr[1:] < cr[:-1]).any()):
                raise ValueError("dsla: argument 'crow': must rise from 0 to nnzb = "
                                 f"{nnzb} (got {int(cr[0])} ... {int(cr[-1])})")
            if nnzb and (int(col.min()) < 0 or int(col.max()) >= mb):
                raise ValueError(f"dsla: argument 'col': block columns must be in [0, {mb}), "
                                 f"got [{int(col.min())}, {int(col.max())}]")
            brow = torch.repeat_interleave(torch.arange(nb, device=col.device),
                                           cr[1:] - cr[:-1])
            keys = brow * max(mb, 1) + col.long()
            if nnzb > 1 and bool((keys[1:] <= keys[:-1]).any()):
                raise ValueError("dsla: argument 'col': block columns must be sorted and unique "
                                 "in each block row; use BlockSparseTensor.from_coo for "
                                 "unsorted or duplicate blocks")
        self._values = values
        self._crow = crow.long()
        self._col = col.long()
        self._shape = (n, m)
        self._brow = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def _make(cls, values, crow, col, shape):
        return cls(values, crow, col, shape, check=False)

    @classmethod
    def from_coo(cls, block_row, block_col, values, shape):
        """Blocks in any order at ``(block_row[b], block_col[b])``; duplicates summed."""
        values = torch.as_tensor(values)
        if values.dim() not in (3, 4):
            raise ValueError("dsla: argument 'values': expected [nnzb, r, c] or [B, nnzb, r, c], "
                             f"got shape {tuple(values.shape)}")
        r, c = values.shape[-2:]
        n, m = _check_shape(shape, r, c)
        nb, mb = n // r, m // c
        br = torch.as_tensor(block_row, device=values.device).long().reshape(-1)
        bc = torch.as_tensor(block_col, device=values.device).long().reshape(-1)
        if br.numel() != values.shape[-3] or bc.numel() != values.shape[-3]:
            raise ValueError(f"dsla: arguments 'block_row' and 'block_col': expected "
                             f"{values.shape[-3]} coordinates (one per block of values), got "
                             f"{br.numel()} and {bc.numel()}")
        if br.numel() and (int(br.min()) < 0 or int(br.max()) >= nb or int(bc.min()) < 0
                           or int(bc.max()) >= mb):
            raise ValueError(f"dsla: arguments 'block_row' / 'block_col': must be in [0, {nb}) "
                             f"x [0, {mb}) for shape {(n, m)} in {r} x {c} blocks")
        keys, inv = torch.unique(br * max(mb, 1) + bc, sorted=True, return_inverse=True)
        summed = values.new_zeros(values.shape[:-3] + (keys.numel(), r, c))
        summed = summed.index_add(values.dim() - 3, inv, values)
        crow = torch.zeros(nb + 1, dtype=torch.long, device=values.device)
        crow[1:] = torch.bincount(keys // max(mb, 1), minlength=nb).cumsum(0)
        return cls._make(summed, crow, keys % max(mb, 1), (n, m))

    @classmethod
    def from_dense(cls, dense, blocksize):
        """The blocks of a dense ``[n, m]`` (or ``[B, n, m]``) tensor with a nonzero entry."""
        dense = torch.as_tensor(dense)
        r, c = _blocksize(blocksize)
        if dense.dim() not in (2, 3):
            raise ValueError(f"dsla: argument 'dense': expected [n, m] or [B, n, m], got shape "
                             f"{tuple(dense.shape)}")
        n, m = _check_shape(dense.shape[-2:], r, c)
        nb, mb = n // r, m // c
        blocks = dense.reshape(dense.shape[:-2] + (nb, r, mb, c)).transpose(-3, -2)
        nz = blocks.detach().ne(0).flatten(-2).any(-1)  # [.., nb, mb]
        if nz.dim() == 3:
            nz = nz.any(0)
        br, bc = nz.nonzero(as_tuple=True)
        return cls.from_coo(br, bc, blocks[..., br, bc, :, :], (n, m))

    @classmethod
    def from_sparse(cls, A, blocksize):
        """A scalar sparse matrix (dsla.SparseTensor, scipy.sparse, torch sparse) in ``r x c``
        blocks; entries missing from a stored block are zeros. Differentiable in A's values."""
        from . import _interop
        A = _interop.as_sparse(A, "A")
        r, c = _blocksize(blocksize)
        n, m = _check_shape(A.shape[-2:], r, c)
        if A.values.dim() > 2:
            raise ValueError("dsla: argument 'A': one batch dimension at most for a BSR matrix")
        row, col = A.row.long(), A.col.long()
        br, bc = row // r, col // c
        mb = max(m // c, 1)
        keys, inv = torch.unique(br * mb + bc, sorted=True, return_inverse=True)
        v = A.values
        vals = v.new_zeros(v.shape[:-1] + (keys.numel(), r, c))
        idx = (inv, row % r, col % c)
        if v.dim() == 2:  # a batch: the same scatter for every member
            vals = torch.stack([vals[b].index_put(idx, v[b], accumulate=True)
                                for b in range(v.shape[0])])
        else:
            vals = vals.index_put(idx, v, accumulate=True)
        crow = torch.zeros(n // r + 1, dtype=torch.long, device=v.device)
        crow[1:] = torch.bincount(keys // mb, minlength=n // r).cumsum(0)
        return cls._make(vals, crow, keys % mb, (n, m))

    # ------------------------------------------------------------------ properties
    @property
    def values(self):
        return self._values

    @property
    def crow(self):
        return self._crow

    @property
    def col(self):
        return self._col

    @property
    def block_row(self):
        """Block row of every block, ``[nnzb]``."""
        if self._brow is None:
            nb = self._crow.numel() - 1
            self._brow = torch.repeat_interleave(torch.arange(nb, device=self._col.device),
                                                 self._crow[1:] - self._crow[:-1])
        return self._brow

    @property
    def shape(self):
        return self._shape

    @property
    def blocksize(self):
        return tuple(self._values.shape[-2:])

    @property
    def block_shape(self):
        """Blocks per column and row: ``(nb, mb)``."""
        r, c = self.blocksize
        return self._shape[0] // r, self._shape[1] // c

    @property
    def nnzb(self):
        return self._values.shape[-3]

    @property
    def nnz(self):
        """Scalar entries stored (whole blocks)."""
        r, c = self.blocksize
        return self.nnzb * r * c

    @property
    def is_batched(self):
        return self._values.dim() == 4

    @property
    def batch_size(self):
        return self._values.shape[0] if self.is_batched else 1

    @property
    def dtype(self):
        return self._values.dtype

    @property
    def device(self):
        return self._values.device

    @property
    def requires_grad(self):
        return self._values.requires_grad

    def __repr__(self):
        r, c = self.blocksize
        return (f"BlockSparseTensor(shape={self._shape}, blocksize=({r}, {c}), "
                f"nnzb={self.nnzb}, dtype={self.dtype}, device={self.device}"
                + (f", batch={self.batch_size}" if self.is_batched else "") + ")")

    # ------------------------------------------------------------------ conversion
    def with_values(self, values):
        """Same block pattern, new values ``[nnzb, r, c]`` or ``[B, nnzb, r, c]``."""
        values = torch.as_tensor(values)
        if values.dim() not in (3, 4) or tuple(values.shape[-3:]) != tuple(self._values.shape[-3:]):
            raise ValueError(f"dsla: argument 'values': expected [..., {self.nnzb}, "
                             f"{self.blocksize[0]}, {self.blocksize[1]}], got "
                             f"{tuple(values.shape)}")
        out = BlockSparseTensor._make(values, self._crow, self._col, self._shape)
        out._brow = self._brow
        return out

    def to(self, device=None, dtype=None):
        if isinstance(device, torch.dtype):
            device, dtype = None, device
        v = self._values.to(device=device, dtype=dtype)
        return BlockSparseTensor._make(v, self._crow.to(v.device), self._col.to(v.device),
                                       self._shape)

    def cuda(self):
        return self.to("cuda")

    def cpu(self):
        return self.to("cpu")

    def detach(self):
        return self.with_values(self._values.detach())

    def _scalar_coords(self):
        r, c = self.blocksize
        dev = self._col.device
        rr = (self.block_row * r).view(-1, 1, 1) + torch.arange(r, device=dev).view(1, r, 1)
        cc = (self._col * c).view(-1, 1, 1) + torch.arange(c, device=dev).view(1, 1, c)
        return rr.expand(-1, r, c).reshape(-1), cc.expand(-1, r, c).reshape(-1)

    def to_sparse(self):
        """The scalar ``dsla.SparseTensor`` (whole blocks stored); differentiable."""
        from .sparse_tensor import SparseTensor
        row, col = self._scalar_coords()
        v = self._values.reshape(self._values.shape[:-3] + (-1,))
        shape = ((self.batch_size,) if self.is_batched else ()) + self._shape
        return SparseTensor(v, row, col, shape, check=False)

    def to_dense(self):
        r, c = self.blocksize
        nb, mb = self.block_shape
        out = self._values.new_zeros(self._values.shape[:-3] + (nb, mb, r, c))
        if self._values.dim() == 3:
            out = out.index_put((self.block_row, self._col), self._values)
        else:
            out = torch.stack([o.index_put((self.block_row, self._col), v)
                               for o, v in zip(out, self._values)])
        return out.transpose(-3, -2).reshape(self._values.shape[:-3] + self._shape)

    def to_scipy(self):
        """As a ``scipy.sparse.bsr_matrix`` (unbatched, detached, on the CPU)."""
        import scipy.sparse as sp
        if self.is_batched:
            raise ValueError("dsla: to_scipy needs an unbatched matrix")
        return sp.bsr_matrix((self._values.detach().cpu().numpy(), self._col.cpu().numpy(),
                              self._crow.cpu().numpy()), shape=self._shape)

    # ------------------------------------------------------------------ algebra
    @property
    def T(self):
        return self.transpose()

    def transpose(self):
        """``Aᵀ`` with ``c x r`` blocks (a sort of the block keys)."""
        nb, _ = self.block_shape
        keys = self._col * max(nb, 1) + self.block_row
        order = torch.argsort(keys)
        v = self._values.index_select(self._values.dim() - 3, order).transpose(-2, -1)
        _, mb = self.block_shape
        crow = torch.zeros(mb + 1, dtype=torch.long, device=v.device)
        crow[1:] = torch.bincount(self._col, minlength=mb).cumsum(0)
        return BlockSparseTensor._make(v, crow, self.block_row.index_select(0, order),
                                       self._shape[::-1])

    def __matmul__(self, other):
        if getattr(other, "_is_bsr", False):
            return self._spgemm(other)
        return self._spmm(torch.as_tensor(other))

    def matmul(self, other):
        return self @ other

    def _spmm(self, x):
        """y = A x for x [m], [m, k] or [B, m, k]: gather x's blocks, one batched product per
        block, sum into the block rows."""
        n, m = self._shape
        r, c = self.blocksize
        if x.dim() == 0 or x.shape[-2 if x.dim() >= 2 else 0] != m or x.dim() > 3:
            raise ValueError(f"dsla: argument 'x': expected [{m}], [{m}, k] or [B, {m}, k] for "
                             f"a {n} x {m} matrix, got shape {tuple(x.shape)}")
        if x.device != self.device:
            raise ValueError(f"dsla: argument 'x': on {x.device}, the matrix on {self.device}; "
                             "move one of them (x.to(A.device))")
        vec = x.dim() == 1
        xk = x.unsqueeze(-1) if vec else x
        dt = torch.promote_types(self.dtype, xk.dtype)
        xb = xk.to(dt).reshape(xk.shape[:-2] + (m // c, c, xk.shape[-1]))
        xg = xb.index_select(xb.dim() - 3, self._col)          # [..., nnzb, c, k]
        yb = torch.matmul(self._values.to(dt), xg)             # [..., nnzb, r, k]
        lead = yb.shape[:-3]
        out = yb.new_zeros(lead + (n // r, r, xk.shape[-1]))
        out = out.index_add(out.dim() - 3, self.block_row, yb)
        y = out.reshape(lead + (n, xk.shape[-1]))
        return y.squeeze(-1) if vec and not lead else y

    def _spgemm(self, B):
        """C = A B on the block level: every product of an A block (i, k) with a B block
        (k, j), summed into C's block (i, j)."""
        n, m = self._shape
        r, c = self.blocksize
        c2, d = B.blocksize
        if B.shape[0] != m or c2 != c:
            raise ValueError(f"dsla: block product: A is {self._shape} in {r} x {c} blocks, B "
                             f"is {B.shape} in {c2} x {d} blocks; the inner dimensions and "
                             "block sizes must match")
        if B.device != self.device:
            raise ValueError(f"dsla: block product: B on {B.device}, A on {self.device}")
        cnt = (B._crow[1:] - B._crow[:-1]).index_select(0, self._col)
        a_idx = torch.repeat_interleave(torch.arange(self.nnzb, device=self.device), cnt)
        start = torch.repeat_interleave(cnt.cumsum(0) - cnt, cnt)
        b_idx = B._crow.index_select(0, self._col).index_select(0, a_idx) + \
            torch.arange(a_idx.numel(), device=self.device) - start
        ci, cj = self.block_row.index_select(0, a_idx), B._col.index_select(0, b_idx)
        dt = torch.promote_types(self.dtype, B.dtype)
        av = self._values.to(dt).index_select(self._values.dim() - 3, a_idx)
        bv = B._values.to(dt).index_select(B._values.dim() - 3, b_idx)
        prods = torch.matmul(av, bv)  # [..., P, r, d]
        nb, mbB = n // r, B.shape[1] // d
        keys, inv = torch.unique(ci * max(mbB, 1) + cj, sorted=True, return_inverse=True)
        vals = prods.new_zeros(prods.shape[:-3] + (keys.numel(), r, d))
        vals = vals.index_add(vals.dim() - 3, inv, prods)
        crow = torch.zeros(nb + 1, dtype=torch.long, device=self.device)
        crow[1:] = torch.bincount(keys // max(mbB, 1), minlength=nb).cumsum(0)
        return BlockSparseTensor._make(vals, crow, keys % max(mbB, 1), (n, B.shape[1]))

    def __add__(self, other):
        if not getattr(other, "_is_bsr", False):
            return NotImplemented
        if other.shape != self.shape or other.blocksize != self.blocksize:
            raise ValueError(f"dsla: adding BSR matrices of shapes {self.shape} / {other.shape} "
                             f"and block sizes {self.blocksize} / {other.blocksize}: they must "
                             "match")
        dt = torch.promote_types(self.dtype, other.dtype)
        a, b = self._values.to(dt), other._values.to(dt)
        if a.dim() != b.dim():  # one batched operand: broadcast the other over its batch
            a = a if a.dim() == 4 else a.expand((b.shape[0],) + a.shape)
            b = b if b.dim() == 4 else b.expand((a.shape[0],) + b.shape)
        return BlockSparseTensor.from_coo(torch.cat([self.block_row, other.block_row]),
                                          torch.cat([self._col, other._col]),
                                          torch.cat([a, b], dim=a.dim() - 3), self._shape)

    def __sub__(self, other):
        return self + (-other)

    def __neg__(self):
        return self.with_values(-self._values)

    def __mul__(self, s):
        if isinstance(s, (int, float, complex)) or (torch.is_tensor(s) and s.dim() == 0):
            return self.with_values(self._values * s)
        return NotImplemented

    __rmul__ = __mul__

    # ------------------------------------------------------------------ blocks
    def _square_blocks(self, what):
        r, c = self.blocksize
        if r != c:
            raise ValueError(f"dsla: {what} needs square blocks, got {r} x {c}")

    def block_det(self):
        """Determinant of every block, ``[nnzb]`` (``[B, nnzb]``); differentiable."""
        self._square_blocks("block_det")
        return torch.linalg.det(self._values)

    def block_slogdet(self):
        """``(sign, log|det|)`` of every block."""
        self._square_blocks("block_slogdet")
        return torch.linalg.slogdet(self._values)

    def block_inv(self):
        """Same pattern with every block inverted (a singular block raises)."""
        self._square_blocks("block_inv")
        return self.with_values(torch.linalg.inv(self._values))

    def diagonal_blocks(self):
        """The ``r x r`` diagonal blocks ``[nb, r, r]`` (zeros where none is stored)."""
        self._square_blocks("diagonal_blocks")
        nb, mb = self.block_shape
        r = self.blocksize[0]
        sel = (self.block_row == self._col).nonzero().view(-1)
        out = self._values.new_zeros(self._values.shape[:-3] + (min(nb, mb), r, r))
        picked = self._values.index_select(self._values.dim() - 3, sel)
        return out.index_add(out.dim() - 3, self._col.index_select(0, sel), picked)

    # ------------------------------------------------------------------ solves
    def solve(self, b, **kwargs):
        from .solve import solve
        return solve(self, b, **kwargs)

    def is_symmetric(self, rtol=1e-12, atol=0.0):
        return self.to_sparse().is_symmetric(rtol=rtol, atol=atol)


__all__ = ["BlockSparseTensor"]
