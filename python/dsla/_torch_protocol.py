"""How a dsla.SparseTensor takes part in torch's protocols: pickling (so ``copy.deepcopy``,
``torch.save``/``torch.load`` and multiprocessing work), ``__torch_function__`` (so
``torch.matmul(A, x)``, ``x @ A``, ``torch.det(A)``, ``torch.linalg.slogdet(A)``, the entrywise
functions ``torch.exp(A)``, ``torch.abs(A)``, ..., ``torch.add`` / ``mul`` / ``sub``, the
reductions ``torch.sum(A, dim)``, ``torch.amax``, ``torch.norm``, ``torch.kron`` and
``torch.block_diag`` reach dsla), and ``x @ A``. sparse_tensor.py calls these from one-line
methods; this module never imports it (the class arrives as an argument), which keeps the
package's imports a tree."""
import copy

import torch

from . import _C, _algebra
from ._sparse_base import is_sparse_tensor
from .det import det, logdet, slogdet


def rebuild(cls, crow, col, values, rows, cols):
    """The inverse of :func:`reduce`: a ``cls`` from its CSR arrays, validated as any CSR input;
    the values' leading dimensions are the batch shape."""
    batch = tuple(values.shape[:-1])
    flat = values.reshape(-1, values.shape[-1]) if values.dim() > 2 else values
    return cls._wrap(_C.SparseMatrix.from_csr(crow, col, flat, int(rows), int(cols), True),
                     batch)


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
    """``x @ A`` for a dense ``x``: ``[n]`` -> ``[m]``; ``[k, n]`` -> ``[k, m]``; batched A
    (batch shape S): vectors ``[*S, n]`` -> ``[*S, m]`` (each dimension A's or 1, as for
    ``A @ x``), blocks ``[*Sx, k, n]`` -> ``[*batch, k, m]`` with Sx broadcast against S.
    Differentiable in both."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"dsla: x @ A: expected x to be a torch.Tensor, got {type(x).__name__}")
    S = A.batch_shape
    vector = x.dim() == 1 or (S and x.dim() == len(S) + 1 and x.shape[-1] == A.shape[-2]
                              and all(a in (1, b) for a, b in zip(x.shape[:-1], S)))
    if vector or x.dim() == 0:
        return _algebra.apply_dense(A, x, _C.matmul_transpose, "x @ A", "x", transpose=True)
    return _algebra.apply_dense(A, x.mT, _C.matmul_transpose, "x @ A", "x",
                                transpose=True).mT


def _matmul(a, b):
    if is_sparse_tensor(a):
        return a @ b
    return rmatmul(b, a)


def _sparse_first(a, b):
    """The operands of a binary torch function with the SparseTensor first (one of them is)."""
    return (a, b) if is_sparse_tensor(a) else (b, a)


def _add(input, other, *, alpha=1, out=None):
    _no_out(out, "torch.add")
    if is_sparse_tensor(input):
        return _algebra.add(input, other, alpha, "torch.add(A, B)")
    if alpha != 1:
        return _algebra.add(other * alpha, input, 1.0, "torch.add(B, A)")
    return _algebra.add(other, input, 1.0, "torch.add(B, A)")


def _sub(input, other, *, alpha=1, out=None):
    _no_out(out, "torch.sub")
    if is_sparse_tensor(input):
        return _algebra.add(input, other, -alpha, "torch.sub(A, B)")
    return other.__rsub__(input) if alpha == 1 else (other * alpha).__rsub__(input)


def _mul(input, other, *, out=None):
    _no_out(out, "torch.mul")
    a, b = _sparse_first(input, other)
    return _algebra.multiply(a, b, "torch.mul")


def _no_out(out, what):
    if out is not None:
        raise TypeError(f"dsla: {what}: argument 'out' is not supported for a SparseTensor "
                        "(the result is a new SparseTensor)")


def _reduction(name):
    def f(input, dim=None, keepdim=False, *, dtype=None, out=None):
        _no_out(out, f"torch.{name}")
        if keepdim or dtype is not None:
            raise TypeError(f"dsla: torch.{name}(A): arguments 'keepdim' and 'dtype' are not "
                            f"supported for a SparseTensor; call A.{name}(dim) and reshape or "
                            "convert the result")
        return getattr(input, name)(dim)
    return f


def _max_min(name):
    def f(input, dim=None, keepdim=False, *, out=None):
        _no_out(out, f"torch.{name}")
        if dim is not None:
            raise TypeError(f"dsla: torch.{name}(A, dim): torch returns (values, indices) and "
                            f"the position of an implicit zero is not an entry of A; use "
                            f"torch.a{name}(A, dim) or A.{name}(dim) for the values")
        return getattr(input, name)()
    return f


def _norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    _no_out(out, "torch.norm")
    if keepdim or dtype is not None:
        raise TypeError("dsla: torch.norm(A): arguments 'keepdim' and 'dtype' are not supported "
                        "for a SparseTensor; call A.norm(ord, dim)")
    return input.norm(p, dim)


def _pow(input, exponent):
    if not is_sparse_tensor(input):
        raise TypeError("dsla: torch.pow(x, A): a power with a sparse exponent would raise x to "
                        "the implicit zeros too; use A.with_values(x ** A.values) for the "
                        "stored entries")
    return input.pow(exponent)


def _clamp(input, min=None, max=None, *, out=None):
    _no_out(out, "torch.clamp")
    return input.clamp(min, max)


def _method(name):
    def f(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    return f


def _block_diag(*tensors):
    return _algebra.block_diag(tensors)


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
    # entrywise arithmetic (a dense tensor on the left reaches these through torch.Tensor)
    torch.add: _add,
    torch.Tensor.add: _add,
    torch.Tensor.__add__: _add,
    torch.Tensor.__radd__: lambda a, b: _add(b, a),
    torch.sub: _sub,
    torch.subtract: _sub,
    torch.Tensor.sub: _sub,
    torch.Tensor.__sub__: _sub,
    torch.Tensor.__rsub__: lambda a, b: _sub(b, a),
    torch.mul: _mul,
    torch.multiply: _mul,
    torch.Tensor.mul: _mul,
    torch.Tensor.__mul__: _mul,
    torch.Tensor.__rmul__: _mul,
    torch.pow: _pow,
    torch.clamp: _clamp,
    torch.clip: _clamp,
    torch.conj: _method("conj"),
    torch.real: lambda input: input.real,
    torch.imag: lambda input: input.imag,
    torch.negative: _method("neg"),
    torch.absolute: _method("abs"),
    # reductions
    torch.sum: _reduction("sum"),
    torch.mean: _reduction("mean"),
    torch.prod: _reduction("prod"),
    torch.amax: _reduction("max"),
    torch.amin: _reduction("min"),
    torch.max: _max_min("max"),
    torch.min: _max_min("min"),
    torch.norm: _norm,
    # assembly
    torch.kron: lambda a, b: _algebra.kron(a, b),
    torch.block_diag: _block_diag,
}
for _name in _algebra.ELEMENTWISE:
    if _name not in ("real", "imag"):
        _HANDLED[getattr(torch, _name)] = _method(_name)


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
