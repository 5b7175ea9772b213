"""Small conversions shared by the Python wrappers (dtypes and devices cross to C++ as strings)."""
import torch

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
