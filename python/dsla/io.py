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

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

__all__ = ["read_mtx", "read_mtx_info", "write_mtx"]


def _fsencoded(path: PathLike) -> bytes:
    """The file name as the operating system's bytes (what the C++ side opens): a name that is not
    valid UTF-8 reaches Python as a str with surrogate escapes, which only os.fsencode undoes."""
    try:
        p = os.fsencode(path)
    except TypeError:
        raise TypeError(f"dsla: argument 'path': expected a str, bytes or os.PathLike file name, "
                        f"got {type(path).__name__}") from None
    if b"\0" in p:
        raise ValueError(f"dsla: argument 'path': the file name '{_shown(p)}' contains a NUL "
                         f"byte, which no file name can hold")
    return p


def _shown(p: bytes) -> str:
    """A file name as messages show it (the C++ side's way): bytes that are not UTF-8, and control
    characters, as \\xNN."""
    s = p.decode("utf-8", "backslashreplace")
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7f else c for c in s)


def _existing(path: PathLike) -> bytes:
    p = _fsencoded(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"dsla: Matrix Market file '{_shown(p)}' does not exist")
    if os.path.isdir(p):
        raise IsADirectoryError(f"dsla: Matrix Market file '{_shown(p)}' is a directory, "
                                f"not a file")
    return p


def read_mtx(path: PathLike, dtype: Optional[torch.dtype] = None,
             device: Optional[Union[str, torch.device]] = None) -> SparseTensor:
    """Reads a Matrix Market file into a :class:`SparseTensor`.

    Args:
        path: a ``.mtx`` file, plain or gzip-compressed (recognised by its content, read as it is
            inflated): a ``str``, ``bytes`` or ``os.PathLike`` name, in any encoding.
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
        IsADirectoryError: ``path`` is a directory.
        ValueError: the file is malformed (the message names the file and the line; bytes that
            are not UTF-8 are shown as ``\\xNN``), its size line declares a shape whose row
            pointer cannot fit in memory, or ``dtype`` is not one of the four above.

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
        path: the file to create (overwritten if it exists): ``str``, ``bytes`` or
            ``os.PathLike``.
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
    _C.write_mtx(A._m, _fsencoded(path), symmetry)
