"""Small conversions shared by the Python wrappers (dtypes and devices cross to C++ as strings)."""
import operator

import torch

_INT64_MAX = 2**63 - 1

_DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.complex64: "complex64",
    torch.complex128: "complex128",
    torch.int32: "int32",
    torch.int64: "int64",
}


def dtype_name(dtype, arg="dtype"):
    """``torch.float64`` -> ``"float64"``; None -> ``""`` (keep)."""
    if dtype is None:
        return ""
    if isinstance(dtype, str):
        return dtype
    try:
        return _DTYPE_NAMES[dtype]
    except KeyError:
        raise TypeError(
            f"dsla: argument '{arg}': unsupported dtype {dtype}; "
            "use torch.float32, torch.float64, torch.complex64 or torch.complex128"
        ) from None


def device_name(device):
    """``torch.device('cuda', 0)`` / ``"cuda"`` / None -> ``"cuda:0"`` / ``"cuda"`` / ``""``."""
    if device is None:
        return ""
    return str(torch.device(device))


def as_int(value, arg, minimum=None):
    """An integer argument: Python ints, NumPy integers and 0-d integer tensors pass; floats
    (``2.5``, also ``2.0``), bools and anything outside int64 are refused by name, never
    truncated or wrapped."""
    if isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool):
        raise TypeError(f"dsla: argument '{arg}': expected an integer, got a bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"dsla: argument '{arg}': expected an integer, got "
                        f"{type(value).__name__} {value!r}") from None
    if not -_INT64_MAX - 1 <= v <= _INT64_MAX:
        raise ValueError(f"dsla: argument '{arg}': {v} does not fit int64")
    if minimum is not None and v < minimum:
        raise ValueError(f"dsla: argument '{arg}': must be >= {minimum}, got {v}")
    return v


def as_shape(shape, arg="shape"):
    """``(rows, cols)`` as two integers (see :func:`as_int`), each >= 0."""
    try:
        n = len(shape)
    except TypeError:
        raise TypeError(f"dsla: argument '{arg}': expected (rows, cols), got "
                        f"{type(shape).__name__}") from None
    if n != 2:
        raise ValueError(f"dsla: argument '{arg}': expected (rows, cols), got {tuple(shape)}")
    return as_int(shape[0], arg, 0), as_int(shape[1], arg, 0)


def as_float(value, arg, minimum=None):
    """A real number argument: Python and NumPy numbers and 0-d real tensors pass; bools,
    strings, complex numbers, NaN and values below ``minimum`` are refused by name."""
    if isinstance(value, bool) or isinstance(value, (str, bytes, complex)) or (
            isinstance(value, torch.Tensor) and (value.dtype == torch.bool or value.is_complex()
                                                 or value.numel() != 1)):
        raise TypeError(f"dsla: argument '{arg}': expected a real number, got "
                        f"{type(value).__name__} {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"dsla: argument '{arg}': expected a real number, got "
                        f"{type(value).__name__} {value!r}") from None
    if v != v:
        raise ValueError(f"dsla: argument '{arg}': must be a number, got NaN")
    if minimum is not None and v < minimum:
        raise ValueError(f"dsla: argument '{arg}': must be >= {minimum}, got {v}")
    return v


def as_batch_shape(shape, arg="shape"):
    """``(*batch, rows, cols)`` as ``(batch tuple, rows, cols)``: any number of leading batch
    dimensions (each >= 1), then the matrix size (see :func:`as_shape`)."""
    try:
        n = len(shape)
    except TypeError:
        raise TypeError(f"dsla: argument '{arg}': expected (rows, cols) or (*batch, rows, "
                        f"cols), got {type(shape).__name__}") from None
    if n < 2:
        raise ValueError(f"dsla: argument '{arg}': expected (rows, cols) or (*batch, rows, "
                         f"cols), got {tuple(shape)}")
    shape = tuple(shape)
    batch = tuple(as_int(b, arg, 1) for b in shape[:-2])
    rows, cols = as_shape(shape[-2:], arg)
    return batch, rows, cols
