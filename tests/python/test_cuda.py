"""CUDA paths against the CPU (the oracle). Skipped without a GPU or a CUDA build of dsla."""
import os

import pytest
import torch

import dsla
from dsla import _C

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available() or not _C.features.get("cuda", False),
    reason="needs a CUDA device and dsla built with CUDA",
)

DATA = os.environ.get("DSLA_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))


def _matrices(dtype):
    out = [dsla.poisson2d(23, dtype=dtype)]
    for name in ("bcsstk03", "orsirr_1", "gr_30_30"):
        path = os.path.join(DATA, name + ".mtx")
        if os.path.exists(path):
            out.append(dsla.SparseTensor._wrap(_C.read_mtx(path)).to(dtype=dtype))
    # irregular: a few long rows (merge-path kernel)
    n = 2000
    rows, cols = [], []
    for i in range(n):
        ln = n // 3 if i % 101 == 5 else 1 + i % 4
        for t in range(ln):
            rows.append(i)
            cols.append((i * 13 + t * 7 + t * t) % n)
    g = torch.Generator().manual_seed(0)
    vals = torch.randn(len(rows), generator=g, dtype=torch.float64).to(dtype)
    out.append(dsla.SparseTensor(vals, torch.tensor(rows), torch.tensor(cols), (n, n)))
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex64, torch.complex128])
def test_matmul_matches_cpu(dtype):
    tol = 1e-4 if dtype in (torch.float32, torch.complex64) else 1e-10
    for A in _matrices(dtype):
        Ag = A.cuda()
        for shape in [(A.shape[1],), (A.shape[1], 4)]:
            x = torch.randn(*shape, dtype=dtype)
            y = A @ x
            yg = Ag @ x.cuda()
            assert yg.is_cuda
            torch.testing.assert_close(yg.cpu(), y, rtol=tol, atol=tol * max(1.0, y.abs().max().item()))


def test_matmul_gradients_match_cpu():
    A = dsla.poisson2d(15).with_values(torch.randn(dsla.poisson2d(15).nnz, dtype=torch.float64))
    x = torch.randn(A.shape[1], 3, dtype=torch.float64)
    w = torch.randn(A.shape[0], 3, dtype=torch.float64)
    grads = []
    for dev in ("cpu", "cuda"):
        v = A.values.detach().to(dev).requires_grad_(True)
        xx = x.to(dev).requires_grad_(True)
        Ad = A.to(device=dev).with_values(v)
        out = ((Ad @ xx) * w.to(dev)).sum()
        gv, gx = torch.autograd.grad(out, [v, xx], allow_unused=True)
        grads.append((gv, gx))
    for a, c in zip(grads[0], grads[1]):
        assert (a is None) == (c is None)
        if a is not None:
            torch.testing.assert_close(a, c.cpu())


def test_fused_cg_driver():
    A = dsla.poisson2d(48).cuda()
    n = A.shape[0]
    b = torch.ones(n, dtype=torch.float64, device="cuda")
    dinv = 1.0 / A.diagonal()
    out = _C._cuda_cg(A._m, b, dinv, rtol=1e-10)
    assert int(out["status"][0]) == 1
    x = out["x"][0]
    r = b - A @ x
    assert (r.norm() / b.norm()).item() <= 1.1e-10
    # agrees with a dense solve
    xd = torch.linalg.solve(A.to_dense(), b)
    torch.testing.assert_close(x, xd, rtol=1e-7, atol=1e-8)


@pytest.mark.skipif(not hasattr(dsla, "solve"), reason="dsla.solve not in this build")
def test_solve_cg_jacobi_on_cuda_and_gradients():
    A = dsla.poisson2d(24)
    n = A.shape[0]
    b = torch.rand(n, dtype=torch.float64)
    res = {}
    for dev in ("cpu", "cuda"):
        v = A.values.detach().to(dev).requires_grad_(True)
        # A fresh leaf per device: b.to("cpu") is b itself, so requires_grad_ on it would make
        # the CUDA copy a non-leaf whose .grad stays None.
        bb = b.detach().clone().to(dev).requires_grad_(True)
        Ad = A.to(device=dev).with_values(v)
        x = dsla.solve(Ad, bb, method="cg", precond="jacobi", rtol=1e-12)
        assert x.device.type == dev
        (x * torch.arange(n, dtype=torch.float64, device=dev)).sum().backward()
        res[dev] = (x.detach().cpu(), v.grad.cpu(), bb.grad.cpu())
    for a, c in zip(res["cpu"], res["cuda"]):
        torch.testing.assert_close(a, c, rtol=1e-7, atol=1e-9)
