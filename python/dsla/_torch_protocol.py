"""How a dsla.SparseTensor takes part in torch's protocols: pickling (so ``copy.deepcopy``,
``torch.save``/``torch.load`` and multiprocessing work), ``__torch_function__`` (so
``torch.matmul(A, x)``, ``x @ A``, ``torch.det(A)``, ``torch.linalg.slogdet(A)`` reach dsla), and
``x @ A``. sparse_tensor.py calls these from one-line methods; this module never imports it (the
class arrives as an argument), which keeps the package's imports a tree."""
import copy

import torch

from . import _C
from ._sparse_base import is_sparse_tensor
from .det import det, logdet, slogdet


def rebuild(cls, crow, col, values, rows, cols):
    """The inverse of :func:`reduce`: a ``cls`` from its CSR arrays, validated as any CSR input."""
    obj = cls.__new__(cls)
    obj._m = _C.SparseMatrix.from_csr(crow, col, values, int(rows), int(cols), True)
    return obj


def reduce(A):
    """Pickle state: the CSR arrays (index dtype kept) and the values, with their
    requires_grad, device and dtype as torch pickles tensors. The pattern's cached analyses
    (transpose, factorizations) are not saved; they are rebuilt on first use."""
    return rebuild, (type(A), A.crow, A.col, A.values, A._m.rows, A._m.cols)


def deepcopy(A, memo):
    """A copy with its own pattern and values; values that require grad must be a graph leaf,
    as for ``copy.deepcopy`` of a tensor."""
    values = copy.deepcopy(A.values, memo)
    return rebuild(type(A), A.crow.clone(), A.col.clone(), values, A._m.rows, A._m.cols)


def rmatmul(A, x):
    """``x @ A`` for a dense ``x``: ``[n]`` -> ``[m]``; ``[k, n]`` -> ``[k, m]`` (batched A:
    ``[B, n]`` -> ``[B, m]``, ``[B, k, n]`` -> ``[B, k, m]``). Differentiable in both."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"dsla: x @ A: expected x to be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 1 or (A.is_batched and x.dim() == 2):
        return _C.matmul_transpose(A._m, x)
    return _C.matmul_transpose(A._m, x.mT).mT


def _matmul(a, b):
    if is_sparse_tensor(a):
        return a @ b
    return rmatmul(b, a)


_HANDLED = {
    torch.matmul: _matmul,
    torch.mm: _matmul,
    torch.mv: _matmul,
    torch.Tensor.matmul: _matmul,
    torch.Tensor.__matmul__: _matmul,
    torch.Tensor.__rmatmul__: lambda a, b: _matmul(b, a),
    torch.det: det,
    torch.logdet: logdet,
    torch.slogdet: slogdet,
    torch.linalg.det: det,
    torch.linalg.slogdet: slogdet,
}


def torch_function(func, args, kwargs):
    """``__torch_function__``: the functions above take SparseTensors; anything else is refused
    by torch with its usual "no implementation found" TypeError."""
    impl = _HANDLED.get(func)
    if impl is None:
        return NotImplemented
    return impl(*args, **kwargs)


def allow_in_torch_load(cls):
    """torch >= 2.6 loads with ``weights_only=True`` by default, which unpickles only
    allow-listed globals: list the class and :func:`rebuild` (which only builds a validated
    matrix from tensors). Older torch has no allow-list and needs nothing."""
    add = getattr(getattr(torch, "serialization", None), "add_safe_globals", None)
    if add is not None:
        add([cls, rebuild])
