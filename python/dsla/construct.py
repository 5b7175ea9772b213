"""Factories: ``dsla.eye`` and ``dsla.diag`` (the sparse counterparts of ``torch.eye`` /
``torch.diag``), ``dsla.tridiagonal``, ``dsla.kron``, ``dsla.block_diag`` and its inverse
``dsla.split_block_diag``. Every one is differentiable in the values it is given (the result's
values are gathers and products of them) and runs on the device of its inputs."""
from typing import Optional, Union

import torch

from . import _algebra
from ._sparse_base import is_sparse_tensor
from ._util import as_int
from .sparse_tensor import SparseTensor

__all__ = ["eye", "diag", "tridiagonal", "kron", "block_diag", "split_block_diag"]


def eye(n: int, m: Optional[int] = None, *, dtype: Optional[torch.dtype] = None,
        device: Union[str, torch.device, None] = None, requires_grad: bool = False
        ) -> SparseTensor:
    """The ``n x m`` (default ``n x n``) identity as a SparseTensor: ones on the main diagonal,
    ``min(n, m)`` stored entries. ``dtype`` defaults to ``torch.get_default_dtype()``, as for
    ``torch.eye``."""
    n = as_int(n, "n", 0)
    m = n if m is None else as_int(m, "m", 0)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    k = min(n, m)
    idx = torch.arange(k, device=device)
    values = torch.ones(k, dtype=dtype, device=device, requires_grad=requires_grad)
    return SparseTensor(values, idx, idx, (n, m))


def diag(input: Union[torch.Tensor, SparseTensor], diagonal: int = 0
         ) -> Union[SparseTensor, torch.Tensor]:
    """As ``torch.diag``: a 1-D tensor ``v`` of length ``k`` gives the square SparseTensor of size
    ``k + |diagonal|`` with ``v`` on that diagonal (differentiable in ``v``; a ``[..., k]`` tensor
    gives a batch of that batch shape); a SparseTensor gives its main diagonal (``diagonal``
    must be 0)."""
    diagonal = as_int(diagonal, "diagonal")
    if is_sparse_tensor(input):
        if diagonal != 0:
            raise ValueError("dsla.diag: argument 'diagonal': only 0 (the main diagonal) is "
                             f"supported for a SparseTensor, got {diagonal}")
        return input.diagonal()
    if not isinstance(input, torch.Tensor):
        raise TypeError("dsla.diag: argument 'input': expected a 1-D torch.Tensor or a "
                        f"dsla.SparseTensor, got {type(input).__name__}")
    if input.dim() < 1:
        raise ValueError("dsla.diag: argument 'input': expected a 1-D tensor (or [..., k] for "
                         f"a batch), got shape {tuple(input.shape)}")
    k = input.shape[-1]
    n = k + abs(diagonal)
    idx = torch.arange(k, device=input.device)
    row = idx + max(-diagonal, 0)
    col = idx + max(diagonal, 0)
    return SparseTensor(input, row, col, (n, n))


def _diagonal_arg(x, name):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"dsla.tridiagonal: argument '{name}': expected a 1-D torch.Tensor (or "
                        f"[B, k] for a batch), got {type(x).__name__}")
    if x.dim() < 1:
        raise ValueError(f"dsla.tridiagonal: argument '{name}': expected a 1-D tensor (or "
                         f"[..., k] for a batch), got shape {tuple(x.shape)}")
    if not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"dsla.tridiagonal: argument '{name}': dtype {x.dtype} is not a "
                        f"floating-point or complex dtype; convert it, e.g. "
                        f"{name}.to(torch.float64)")
    return x


def tridiagonal(lower: torch.Tensor, diag: torch.Tensor, upper: torch.Tensor) -> SparseTensor:
    """The ``n x n`` tridiagonal matrix with ``diag`` (``n`` values) on the main diagonal,
    ``lower`` (``n - 1``) below it and ``upper`` (``n - 1``) above it: entry ``(i + 1, i)`` is
    ``lower[i]``, ``(i, i)`` is ``diag[i]``, ``(i, i + 1)`` is ``upper[i]`` (SciPy's
    ``diags([lower, diag, upper], [-1, 0, 1])``). All ``3n - 2`` positions are stored, also
    where a value is 0, so the pattern depends on ``n`` only and a loop that changes the
    values keeps it (and its cached analysis). Differentiable in the three tensors; ``[..., k]``
    tensors give a batch (their batch shapes broadcast; an unbatched one is shared). The three
    must share dtype and device.

    ``dsla.tridiagonal(-torch.ones(n - 1), 2 * torch.ones(n), -torch.ones(n - 1))`` is the 1-D
    Laplacian.
    """
    lower, diag, upper = (_diagonal_arg(x, nm) for x, nm in
                          ((lower, "lower"), (diag, "diag"), (upper, "upper")))
    n = diag.shape[-1]
    for x, nm in ((lower, "lower"), (upper, "upper")):
        if x.shape[-1] != max(n - 1, 0):
            raise ValueError(f"dsla.tridiagonal: argument '{nm}': expected n - 1 = "
                             f"{max(n - 1, 0)} values (diag has n = {n}), got {x.shape[-1]}")
        if x.dtype != diag.dtype:
            raise TypeError(f"dsla.tridiagonal: argument '{nm}': dtype {x.dtype} differs from "
                            f"diag's {diag.dtype}; convert it, e.g. {nm}.to({diag.dtype})")
        if x.device != diag.device:
            raise ValueError(f"dsla.tridiagonal: argument '{nm}' is on {x.device} but diag is "
                             f"on {diag.device}; move it, e.g. {nm}.to('{diag.device}')")
    lower, diag, upper = _algebra._batch_values([lower, diag, upper],
                                                ["lower", "diag", "upper"], "dsla.tridiagonal")
    dev = diag.device
    if n == 0:
        return _algebra._from_csr(torch.zeros(1, dtype=torch.int64, device=dev),
                                  torch.zeros(0, dtype=torch.int64, device=dev), diag, (0, 0))
    # row i holds (lower[i-1], diag[i], upper[i]) in column order: a [.., n, 3] table without
    # its first and last corners, in CSR order
    pad = torch.zeros_like(diag[..., :1])
    table = torch.stack([torch.cat([pad, lower], -1), diag, torch.cat([upper, pad], -1)], -1)
    keep = torch.arange(1, 3 * n - 1, device=dev)
    values = table.reshape(table.shape[:-2] + (3 * n,)).index_select(table.dim() - 2, keep)
    i = torch.arange(n, device=dev)
    col = (i.unsqueeze(1) + torch.arange(-1, 2, device=dev)).reshape(-1)[keep]
    crow = torch.cat([torch.zeros(1, dtype=torch.int64, device=dev), 3 * i + 2])
    crow[-1] = 3 * n - 2
    return _algebra._from_csr(crow, col, values, (n, n))


def kron(A, B) -> SparseTensor:
    """The Kronecker product ``A ⊗ B`` (``(n_A n_B) x (m_A m_B)``; SciPy's
    ``scipy.sparse.kron``, ``torch.kron`` of the dense matrices): entry ``(i_A n_B + i_B,
    j_A m_B + j_B)`` is ``A[i_A, j_A] · B[i_B, j_B]``, one stored entry per pair of stored
    entries (``nnz_A · nnz_B``), built in CSR order without a sort. Differentiable in both
    values; a batch broadcasts against an unbatched matrix. A and B: SparseTensors (or what
    :func:`dsla.solve` takes as a matrix) of one dtype and device. ``torch.kron(A, B)`` calls
    this.
    """
    return _algebra.kron(A, B)


def block_diag(matrices) -> SparseTensor:
    """The block-diagonal matrix of a list ``[A1, A2, ...]`` (rectangular blocks allowed: its
    shape is the sum of their shapes), as SciPy's ``scipy.sparse.block_diag`` and
    ``torch.block_diag``; its entries are those of the blocks, in order, so
    ``B.values`` is ``torch.cat([A1.values, A2.values, ...], -1)``. Differentiable in every
    block's values; batched blocks (``[B, nnz_i]``) give a batch, unbatched ones are
    broadcast. The blocks (SparseTensors, or anything :func:`dsla.solve` takes as a matrix)
    must share dtype and device. ``torch.block_diag(A1, A2, ...)`` calls this; the inverse is
    :func:`split_block_diag`. For a system of independent blocks, one solve of the assembled
    matrix is one factorization or Krylov run instead of many small ones.
    """
    return _algebra.block_diag(matrices)


def split_block_diag(A, sizes, *, check: bool = True) -> list:
    """The diagonal blocks of a block-diagonal A, the inverse of :func:`block_diag`:
    ``sizes`` lists the blocks as ints (square ``k x k`` blocks) or ``(rows, cols)`` pairs,
    adding up to A's shape; returns a list of SparseTensors whose values are differentiable
    gathers of ``A.values`` (batches stay batched). An entry of A outside the blocks raises
    ``ValueError`` (``check=True``) or is dropped (``check=False``). For blocks that are not
    contiguous — the components of a permuted matrix — use :func:`dsla.split_components`.
    """
    return _algebra.split_block_diag(A, sizes, check)
