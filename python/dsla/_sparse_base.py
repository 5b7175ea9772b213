"""What the functional modules (solve, eigen, det, amg, nonlinear) know of a dsla.SparseTensor.

SparseTensor's methods (``A.solve``, ``A.eigsh``, ``A.norm(2)``, ...) call solve and eigen, so
sparse_tensor imports them; they must not import sparse_tensor back (that circle used to be
hidden in function-local imports, and scripts/check_layers.py refuses it). SparseTensor derives
from SparseTensorBase, defined here below both, so a function recognises a SparseTensor argument
and reaches its C++ matrix ``_m`` without importing the class.
"""
import torch

from . import _C
from ._util import as_shape


class SparseTensorBase:
    """The base of :class:`dsla.SparseTensor`, which sets ``_m`` (a ``_C.SparseMatrix``)."""

    __slots__ = ()


def is_sparse_tensor(obj):
    return isinstance(obj, SparseTensorBase)


def as_matrix(A, name="A"):
    """The C++ matrix of a SparseTensor argument; a TypeError naming the argument otherwise."""
    if not isinstance(A, SparseTensorBase):
        raise TypeError(f"dsla: argument '{name}': expected a dsla.SparseTensor, got "
                        f"{type(A).__name__}")
    return A._m


def matrix_from_scipy(S, dtype=None):
    """The C++ matrix of any ``scipy.sparse`` matrix (``SparseTensor.from_scipy`` wraps it):
    integer and boolean values become float64 unless ``dtype`` is given; duplicates are summed."""
    C = S.tocoo()
    vals = torch.from_numpy(C.data.copy())
    if dtype is not None:
        vals = vals.to(dtype)
    elif not (vals.is_floating_point() or vals.is_complex()):
        vals = vals.to(torch.float64)
    rows, cols = as_shape(C.shape)
    return _C.SparseMatrix.from_coo(torch.from_numpy(C.row.astype("int64")),
                                    torch.from_numpy(C.col.astype("int64")), vals, rows, cols,
                                    True, True)
