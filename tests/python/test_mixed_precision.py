"""Mixed precision: float32 matrix values with float64 vectors (``dsla.solve(A32, b64)``),
Jacobi-preconditioned or plain CG with every product and sum in float64. References: SciPy and
the float64 solve of the same matrix widened (float32 -> float64 is exact, so the two solve the
same system); gradients against the float64 solve's; every refused combination by name."""
import pathlib
import sys

import numpy as np
import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
dsla = pytest.importorskip("dsla")
sp = pytest.importorskip("scipy.sparse")
spla = pytest.importorskip("scipy.sparse.linalg")

CUDA = torch.cuda.is_available() and dict(dsla._C.features).get("cuda", False)


def spd32(n, seed=0):
    """A random SPD matrix with float32 values that are not exact in fewer bits."""
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(n, n, generator=g, dtype=torch.float64) * (torch.rand(n, n, generator=g) < 0.2)
    s = r + r.T
    return dsla.SparseTensor.from_dense((s + torch.diag(s.abs().sum(1) + 1)).to(torch.float32))


def scipy_of(A):
    return A.to_scipy().astype(np.float64)


@pytest.mark.parametrize("precond", ["jacobi", "none"])
@pytest.mark.parametrize("k", [None, 3])
def test_matches_scipy_and_float64(precond, k):
    A = spd32(80)
    g = torch.Generator().manual_seed(1)
    b = torch.randn((80,) if k is None else (80, k), generator=g, dtype=torch.float64)
    x, info = dsla.solve(A, b, method="cg", precond=precond, rtol=1e-12, return_info=True)
    assert x.dtype == torch.float64 and info.converged
    ref = spla.spsolve(scipy_of(A).tocsc(), b.numpy())
    np.testing.assert_allclose(x.numpy(), ref.reshape(x.shape), rtol=1e-9, atol=1e-11)
    x64, i64 = dsla.solve(A.to(dtype=torch.float64), b, method="cg", precond=precond, rtol=1e-12,
                          return_info=True)
    assert info.iterations == i64.iterations
    torch.testing.assert_close(x, x64, rtol=1e-12, atol=1e-14)
    # Beyond float32: the true residual of the matrix solved reaches rtol 1e-12.
    r = torch.as_tensor(b.numpy() - (scipy_of(A) @ x.numpy()))
    assert (r.norm() / b.norm()).item() < 1e-11


def test_poisson_equals_float64_bit_for_bit_and_auto_picks_cg():
    A64 = dsla.poisson2d(24)
    A32 = dsla.poisson2d(24, dtype=torch.float32)
    b = torch.rand(A64.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    x32, i32 = dsla.solve(A32, b, method="cg", precond="jacobi", rtol=1e-10, return_info=True)
    x64, i64 = dsla.solve(A64, b, method="cg", precond="jacobi", rtol=1e-10, return_info=True)
    assert i32.iterations == i64.iterations
    torch.testing.assert_close(x32, x64, rtol=0, atol=0)  # the stencil's values are exact
    x, info = dsla.solve(A32, b, return_info=True)
    assert (info.method, info.preconditioner, x.dtype) == ("cg", "jacobi", torch.float64)


def test_x0_in_either_dtype_and_edge_sizes():
    A = spd32(30)
    b = torch.randn(30, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    ref = dsla.solve(A.to(dtype=torch.float64), b, method="cg", rtol=1e-12)
    for x0 in (ref.float(), ref):  # a float32 start widens exactly; float64 as it is
        x, info = dsla.solve(A, b, method="cg", rtol=1e-12, x0=x0, return_info=True)
        assert x.dtype == torch.float64 and info.converged
        torch.testing.assert_close(x, ref, rtol=1e-10, atol=1e-12)
        assert info.iterations <= (1 if x0.dtype == torch.float64 else 30)
    E = dsla.SparseTensor.from_dense(torch.zeros(0, 0, dtype=torch.float32))
    assert dsla.solve(E, torch.zeros(0, dtype=torch.float64), method="cg").dtype == torch.float64
    one = dsla.SparseTensor.from_dense(torch.tensor([[3.0]], dtype=torch.float32))
    torch.testing.assert_close(dsla.solve(one, torch.tensor([6.0], dtype=torch.float64),
                                          method="cg"), torch.tensor([2.0], dtype=torch.float64))


def test_batched_matrix_and_solver_object():
    A = spd32(30)
    S = dsla.Solver(A, method="cg", precond="jacobi", rtol=1e-12)
    b = torch.ones(30, dtype=torch.float64)
    x = S.solve(b)
    assert x.dtype == torch.float64
    torch.testing.assert_close(x, dsla.solve(A.to(dtype=torch.float64), b, method="cg",
                                             precond="jacobi", rtol=1e-12))
    Ab = A.with_values(torch.stack([A.values, A.values * 2]))  # a batch of two float32 matrices
    bb = torch.randn(2, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    xb = dsla.solve(Ab, bb, method="cg", precond="jacobi", rtol=1e-12)
    assert xb.shape == (2, 30) and xb.dtype == torch.float64
    for i, scale in enumerate((1, 2)):
        ref = dsla.solve(A.to(dtype=torch.float64).with_values(A.values.double() * scale), bb[i],
                         method="cg", precond="jacobi", rtol=1e-12)
        torch.testing.assert_close(xb[i], ref)


def test_gradients_match_float64():
    A = spd32(40)
    b0 = torch.randn(40, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    grads = {}
    for name, vals in (("mixed", A.values), ("float64", A.values.double())):
        v = vals.clone().requires_grad_()
        b = b0.clone().requires_grad_()
        x = dsla.solve(A.with_values(v), b, method="cg", precond="jacobi", rtol=1e-12)
        (x * torch.arange(40, dtype=torch.float64)).sum().backward()
        grads[name] = (v.grad, b.grad)
    gv, gb = grads["mixed"]
    assert gv.dtype == torch.float32 and gb.dtype == torch.float64
    torch.testing.assert_close(gb, grads["float64"][1], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gv, grads["float64"][0].float(), rtol=1e-5, atol=1e-7)


def test_refusals_name_the_fix():
    A = spd32(20)
    b = torch.ones(20, dtype=torch.float64)
    with pytest.raises(TypeError, match="method='cg'"):
        dsla.solve(A, b, method="gmres")
    with pytest.raises(TypeError, match="precond='jacobi' or 'none'"):
        dsla.solve(A, b, method="cg", precond="ic0")
    with pytest.raises(TypeError, match="method='cg'"):
        dsla.solve(A, b, method="cholesky")
    # Only float32 values with float64 vectors: not the reverse, not complex.
    with pytest.raises(TypeError, match="does not match the matrix dtype"):
        dsla.solve(A.to(dtype=torch.float64), b.float(), method="cg")
    Ac = A.to(dtype=torch.complex64)
    with pytest.raises(TypeError, match="does not match the matrix dtype"):
        dsla.solve(Ac, b.to(torch.complex128), method="cg")
    N = dsla.SparseTensor.from_dense(torch.triu(torch.ones(20, 20)) + 20 * torch.eye(20))
    with pytest.raises(TypeError, match="not symmetric"):
        dsla.solve(N, b)


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
@pytest.mark.parametrize("which", ["poisson", "random"])
def test_cuda_fused_kernels(which):
    # poisson: uniform diagonal (a scalar Jacobi), int16 column offsets; random: a Jacobi vector.
    A = dsla.poisson2d(48, dtype=torch.float32) if which == "poisson" else spd32(200)
    Ad = A.to(device="cuda")
    b = torch.rand(A.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    x, info = dsla.solve(Ad, b.cuda(), method="cg", precond="jacobi", rtol=1e-11,
                         return_info=True)
    ref, iref = dsla.solve(A.to(dtype=torch.float64), b, method="cg", precond="jacobi",
                           rtol=1e-11, return_info=True)
    assert x.dtype == torch.float64 and info.converged
    assert abs(info.iterations - iref.iterations) <= 1
    torch.testing.assert_close(x.cpu(), ref, rtol=1e-9, atol=1e-11)
    # Several right-hand sides (the step kernels and the mixed SpMM) and a start x0 (the
    # mixed SpMV of the first residual).
    B2 = torch.stack([b, 2 * b], 1)
    x2 = dsla.solve(Ad, B2.cuda(), method="cg", precond="jacobi", rtol=1e-11)
    torch.testing.assert_close(x2.cpu(), torch.stack([ref, 2 * ref], 1), rtol=1e-9, atol=1e-10)
    x3, i3 = dsla.solve(Ad, b.cuda(), method="cg", precond="jacobi", rtol=1e-11, x0=x,
                        return_info=True)
    assert i3.iterations <= 1
    torch.testing.assert_close(x3.cpu(), ref, rtol=1e-9, atol=1e-11)
