"""Matrix Market files (``.mtx``, ``.mtx.gz``): :func:`read_mtx`, :func:`read_mtx_info`,
:func:`write_mtx`.

Parsing and writing happen in C++ (``dsla._C``) without holding the GIL. Malformed files raise
``ValueError`` naming the file and the line, e.g.
``Matrix Market file 'A.mtx', line 17: the row index 0 is out of range ...``.
"""
from __future__ import annotations

import os
from typing import Optional, Union

import torch

from . import _C
from ._util import dtype_name
from .sparse_tensor import SparseTensor

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["read_mtx", "read_mtx_info", "write_mtx"]


def _existing(path: PathLike) -> str:
    p = os.fspath(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"dsla: Matrix Market file '{p}' does not exist")
    return p


def read_mtx(path: PathLike, dtype: Optional[torch.dtype] = None,
             device: Optional[Union[str, torch.device]] = None) -> SparseTensor:
    """Reads a Matrix Market file into a :class:`SparseTensor`.

    Args:
        path: a ``.mtx`` file, plain or gzip-compressed (recognised by its content).
        dtype: ``torch.float64`` (default), ``torch.float32``, ``torch.complex128`` or
            ``torch.complex64``. Files with the ``complex`` field always give a complex matrix
            (``complex64`` when ``dtype`` is ``float32``/``complex64``); ``real``, ``integer``
            and ``pattern`` files give ``dtype`` (pattern entries are 1).
        device: where the result lives (read on the CPU, then moved).

    Symmetric, skew-symmetric and Hermitian storage is expanded to the full matrix, duplicate
    entries are summed, and explicitly stored zeros stay in the sparsity pattern. NaN and
    infinite values are rejected.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is malformed (the message names the line) or ``dtype`` is not one
            of the four above.

    Example:
        >>> A = dsla.read_mtx("bcsstk03.mtx")
        >>> A.shape, A.nnz
        ((112, 112), 640)
    """
    A = SparseTensor._wrap(_C.read_mtx(_existing(path), dtype_name(dtype)))
    if device is not None:
        A = A.to(device)
    return A


def read_mtx_info(path: PathLike) -> dict:
    """The banner and size line of a Matrix Market file, without reading the entries.

    Returns a dict with ``object``, ``format`` (coordinate | array), ``field`` (real | integer |
    complex | pattern), ``symmetry`` (general | symmetric | skew-symmetric | hermitian),
    ``rows``, ``cols`` and ``entries`` (as stored in the file, before symmetric expansion).
    """
    return _C.read_mtx_info(_existing(path))


def write_mtx(A: SparseTensor, path: PathLike, symmetry: str = "general") -> None:
    """Writes ``A`` in coordinate Matrix Market format; gzip-compressed when ``path`` ends in
    ``.gz``.

    Args:
        A: a (non-batched) :class:`SparseTensor`, real or complex, on any device.
        path: the file to create (overwritten if it exists).
        symmetry: ``"general"`` (every stored entry), or ``"symmetric"``, ``"skew-symmetric"``,
            ``"hermitian"`` to store the lower triangle only. The matrix must then have that
            symmetry exactly (pattern and values); otherwise ``ValueError``.

    Values are written with the shortest decimal form that reads back to the same number, so
    ``read_mtx(write_mtx(A))`` reproduces ``A`` exactly (float32 values are widened to float64).
    Stored zeros are written too.
    """
    if not isinstance(A, SparseTensor):
        raise TypeError(f"dsla.write_mtx: argument 'A': expected a dsla.SparseTensor, "
                        f"got {type(A).__name__}")
    _C.write_mtx(A._m, os.fspath(path), symmetry)
