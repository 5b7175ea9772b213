"""``dsla.eye`` and ``dsla.diag``: the sparse counterparts of ``torch.eye`` / ``torch.diag``."""
from typing import Optional, Union

import torch

from ._sparse_base import is_sparse_tensor
from ._util import as_int
from .sparse_tensor import SparseTensor

__all__ = ["eye", "diag"]


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
    ``k + |diagonal|`` with ``v`` on that diagonal (differentiable in ``v``; a ``[B, k]`` tensor
    gives a batch); a SparseTensor gives its main diagonal (``diagonal`` must be 0)."""
    diagonal = as_int(diagonal, "diagonal")
    if is_sparse_tensor(input):
        if diagonal != 0:
            raise ValueError("dsla.diag: argument 'diagonal': only 0 (the main diagonal) is "
                             f"supported for a SparseTensor, got {diagonal}")
        return input.diagonal()
    if not isinstance(input, torch.Tensor):
        raise TypeError("dsla.diag: argument 'input': expected a 1-D torch.Tensor or a "
                        f"dsla.SparseTensor, got {type(input).__name__}")
    if input.dim() not in (1, 2):
        raise ValueError("dsla.diag: argument 'input': expected a 1-D tensor (or [B, k] for a "
                         f"batch), got shape {tuple(input.shape)}")
    k = input.shape[-1]
    n = k + abs(diagonal)
    idx = torch.arange(k, device=input.device)
    row = idx + max(-diagonal, 0)
    col = idx + max(diagonal, 0)
    return SparseTensor(input, row, col, (n, n))
