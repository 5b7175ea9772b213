"""Reprs and error messages speak torch's dtype names (issue #16, item 10): `torch.float64`,
never c10's `Double`."""
import re

import pytest
import torch

import dsla

C10 = re.compile(r"\b(Double|Float|ComplexDouble|ComplexFloat|Long|Int|Half|Bool)\b")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex64,
                                   torch.complex128])
def test_repr_uses_torch_dtype_names(dtype):
    A = dsla.poisson2d(3).to(dtype=dtype)
    r = repr(A)
    assert f"dtype={dtype}" in r and "index=torch.int32" in r, r
    assert not C10.search(r), r


def test_messages_use_torch_dtype_names():
    A = dsla.poisson2d(3)
    with pytest.raises(TypeError) as e:
        dsla.solve(A, torch.ones(9, dtype=torch.float32))
    msg = str(e.value)
    assert "torch.float32" in msg and "torch.float64" in msg, msg
    assert not C10.search(msg), msg
    with pytest.raises((TypeError, ValueError)) as e:
        dsla.SparseTensor(torch.ones(2), torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), (2, 2))
    assert not C10.search(str(e.value)), str(e.value)
