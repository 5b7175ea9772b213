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
            out.append(dsla.read_mtx(path).to(dtype=dtype))
    # irregular: a few long rows (small: a warp per row; 12000 rows: the merge-path kernel)
    for n in (2000, 12000):
        rows, cols = [], []
        for i in range(n):
            ln = n // 3 if i % 1001 == 5 else 1 + i % 4
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
    assert out["converged"] and out["status"] == "converged"
    x = out["x"][0]
    r = b - A @ x
    assert (r.norm() / b.norm()).item() <= 1.1e-10
    # agrees with a dense solve
    xd = torch.linalg.solve(A.to_dense(), b)
    torch.testing.assert_close(x, xd, rtol=1e-7, atol=1e-8)
    # odd n and a batch of two right-hand sides (the second row of [2, n] is not 16-byte
    # aligned: the vector kernel falls back to its one-element loop there)
    A = dsla.poisson2d(25).cuda()
    n = A.shape[0]
    B2 = torch.rand(2, n, dtype=torch.float64, device="cuda")
    out = _C._cuda_cg(A._m, B2, 1.0 / A.diagonal(), rtol=1e-11)
    Ad = A.to_dense()
    for i in range(2):
        torch.testing.assert_close(out["x"][i], torch.linalg.solve(Ad, B2[i]), rtol=1e-8,
                                   atol=1e-9)
    outf = _C._cuda_cg(A.float()._m, B2.float(), 1.0 / A.float().diagonal(), rtol=1e-5)
    torch.testing.assert_close(outf["x"][1].double(), torch.linalg.solve(Ad, B2[1]), rtol=1e-3,
                               atol=1e-3)


def _pcg_iterates(Ad, b, dinv, k):
    """Jacobi-PCG from x0 = 0 in float64 on the CPU: the iterate after k steps (the reference
    for the fused driver, whose x is updated every other iteration and flushed at the end)."""
    x = torch.zeros_like(b)
    r = b.clone()
    z = dinv * r
    p = z.clone()
    rz = r @ z
    for _ in range(k):
        q = Ad @ p
        alpha = rz / (p @ q)
        x = x + alpha * p
        r = r - alpha * q
        z = dinv * r
        rz_new = r @ z
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8, 33])
def test_fused_cg_iterate_after_k_steps(k):
    """maxiter = k stops after k iterations (odd and even: the deferred x update is flushed
    from one or two pending directions), in a graph block or not, batched or not."""
    A = dsla.poisson2d(12)
    n = A.shape[0]
    Ad = A.to_dense()
    torch.manual_seed(k)
    B2 = torch.rand(2, n, dtype=torch.float64)
    d = 1.0 / A.diagonal() * (1 + 0.1 * torch.rand(n, dtype=torch.float64))  # non-uniform
    for graph in (True, False):
        out = _C._cuda_cg(A.cuda()._m, B2.cuda(), d.cuda(), rtol=1e-30, maxiter=k, graph=graph,
                          check_every=4)
        assert out["iterations"] == k
        for i in range(2):
            torch.testing.assert_close(out["x"][i].cpu(), _pcg_iterates(Ad, B2[i], d, k),
                                       rtol=1e-10, atol=1e-12)


def test_fused_cg_breakdown_keeps_pending_direction():
    """Indefinite A: p'Ap < 0 at the second iteration (a parity-1 step, which defers x): the
    returned x is the first iterate, not one that lost alpha_0 p_0."""
    A = dsla.SparseTensor.from_dense(torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64))
    b = torch.tensor([1.0, 0.0], dtype=torch.float64)
    out = _C._cuda_cg(A.cuda()._m, b.cuda(), torch.ones(2, dtype=torch.float64, device="cuda"),
                      rtol=1e-12)
    assert out["status"] == "indefinite"
    torch.testing.assert_close(out["x"][0].cpu(), torch.tensor([1.0, 0.0], dtype=torch.float64))


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


def _spd_matrices():
    out = [("poisson2d", dsla.poisson2d(20)), ("random_spd", dsla.random_spd(300, 0.02, seed=3))]
    path = os.path.join(DATA, "bcsstk03.mtx")
    if os.path.exists(path):
        out.append(("bcsstk03", dsla.read_mtx(path)))
    return out


@pytest.mark.parametrize("precond", ["jacobi", "block_jacobi", "chebyshev", "ic0"])
def test_cg_preconditioners_on_cuda_match_cpu(precond):
    for name, A in _spd_matrices():
        n = A.shape[0]
        b = torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        xc, ic = dsla.solve(A, b, method="cg", precond=precond, rtol=1e-10, return_info=True,
                            maxiter=20 * n)
        # check_every=1: the GPU default checks every 16 iterations (counts round up to that)
        xg, ig = dsla.solve(A.cuda(), b.cuda(), method="cg", precond=precond, rtol=1e-10,
                            return_info=True, maxiter=20 * n, check_every=1)
        assert ig.converged, (name, precond, ig.message)
        assert xg.device.type == "cuda"
        # same preconditioner (up to rounding): same iteration count within a few
        assert abs(ig.iterations - ic.iterations) <= max(3, ic.iterations // 10), (name, precond)
        xd = torch.linalg.solve(A.to_dense(), b)
        scale = xd.abs().max()
        torch.testing.assert_close(xg.cpu() / scale, xd / scale, rtol=0, atol=1e-7)
        assert ig.preconditioner.startswith(precond)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gmres_ilu0_on_cuda_nonsymmetric_and_adjoint(dtype):
    A = dsla.convdiff2d(24, 3.0, dtype=dtype)
    n = A.shape[0]
    b = torch.rand(n, dtype=dtype, generator=torch.Generator().manual_seed(2))
    rtol = 1e-5 if dtype == torch.float32 else 1e-10
    S = dsla.Solver(A.cuda(), method="gmres", precond="ilu0", rtol=rtol, restart=50)
    x = S.solve(b.cuda())
    ad = A.to_dense().double()
    xd = torch.linalg.solve(ad, b.double())
    tol = 1e-3 if dtype == torch.float32 else 1e-7
    torch.testing.assert_close(x.cpu().double(), xd, rtol=tol, atol=tol * xd.abs().max().item())
    # the adjoint solve uses the transposed triangular solves (Uᵀ then Lᵀ)
    y = S.solve_adjoint(b.cuda())
    yd = torch.linalg.solve(ad.T, b.double())
    torch.testing.assert_close(y.cpu().double(), yd, rtol=tol, atol=tol * yd.abs().max().item())
    # ILU(0) applied once on the GPU equals the CPU ILU(0) (same factor, same sweeps)
    assert S.info.preconditioner.startswith("ilu0")


def test_ic0_on_cuda_refactor_batch_and_gradients():
    A = dsla.poisson2d(16)
    n = A.shape[0]
    b = torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    S = dsla.Solver(A.cuda(), method="cg", precond="ic0", rtol=1e-11)
    x1 = S.solve(b.cuda())
    v2 = A.values * 2.0
    S.refactor(v2.cuda())  # numeric update: the preconditioner refactors in its storage
    x2 = S.solve(b.cuda())
    torch.testing.assert_close(x2, x1 / 2, rtol=1e-8, atol=1e-10)
    # batched values [B, nnz]: one factor per member
    V = torch.stack([A.values, A.values * 3.0]).cuda()
    xb = dsla.solve(A.cuda().with_values(V), b.cuda(), method="cg", precond="ic0", rtol=1e-11)
    torch.testing.assert_close(xb[1], xb[0] / 3, rtol=1e-8, atol=1e-10)
    # gradients through an IC(0)-preconditioned CUDA solve equal the CPU ones
    res = []
    for dev in ("cpu", "cuda"):
        v = A.values.detach().clone().to(dev).requires_grad_(True)
        bb = b.detach().clone().to(dev).requires_grad_(True)
        x = dsla.solve(A.to(device=dev).with_values(v), bb, method="cg", precond="ic0",
                       rtol=1e-12)
        (x * x).sum().backward()
        res.append((v.grad.cpu(), bb.grad.cpu()))
    for a, c in zip(*res):
        torch.testing.assert_close(a, c, rtol=1e-7, atol=1e-10)


def test_ic0_on_cuda_refuses_complex_and_reports_breakdown():
    A = dsla.poisson2d(6).to(torch.complex128).cuda()
    with pytest.raises((ValueError, TypeError, RuntimeError), match="float32 and float64"):
        dsla.solve(A, torch.ones(36, dtype=torch.complex128, device="cuda"), method="cg",
                   precond="ic0")
    # an indefinite matrix: IC(0) breaks down on the GPU as on the CPU (no shift up to 1 helps)
    D = torch.diag(torch.tensor([4.0, -1.0, 3.0, 2.0], dtype=torch.float64))
    D[0, 1] = D[1, 0] = 0.5
    Ai = dsla.SparseTensor.from_dense(D)
    for dev in ("cpu", "cuda"):
        with pytest.raises(ValueError, match="broke down"):
            dsla.solve(Ai.to(dev), torch.ones(4, dtype=torch.float64, device=dev),
                       method="gmres", precond="ic0")


def test_largest_fused_path_memory_is_bounded():
    """dsla.solve(cg, jacobi) on CUDA holds the matrix and a few vectors: <= 130 B/DOF (from an
    empty device, so nothing else — e.g. a cuBLAS workspace — may be allocated by the solve)."""
    import gc
    gc.collect()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    A = dsla.poisson2d(512).cuda()
    n = A.shape[0]
    b = torch.ones(n, dtype=torch.float64, device="cuda")
    x = dsla.solve(A, b, method="cg", precond="jacobi", rtol=1e-6)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - before
    assert peak / n <= 130, peak / n
    del A, b, x


def test_fused_driver_compact_columns_and_uniform_diagonal_agree():
    """The int16 column offsets and the scalar (uniform) Jacobi diagonal give the same iterates
    as the plain int32 columns and a diagonal vector."""
    A = dsla.poisson2d(40).cuda()
    n = A.shape[0]
    b = torch.rand(n, dtype=torch.float64, device="cuda")
    d = 1.0 / A.diagonal()
    outs = [_C._cuda_cg(A._m, b, d, rtol=1e-10, compact=c) for c in (True, False)]
    # a non-uniform diagonal (scaled rows and columns keep A SPD) takes the vector path
    s = torch.linspace(1.0, 2.0, n, dtype=torch.float64, device="cuda")
    As = A.with_values(A.values * s[A.row.long()] * s[A.col.long()])
    out_v = _C._cuda_cg(As._m, b, 1.0 / As.diagonal(), rtol=1e-10)
    torch.testing.assert_close(outs[0]["x"], outs[1]["x"], rtol=1e-12, atol=1e-12)
    assert outs[0]["iterations"] == outs[1]["iterations"]
    xd = torch.linalg.solve(As.to_dense(), b)
    torch.testing.assert_close(out_v["x"][0], xd, rtol=1e-7, atol=1e-8)
    # a wide band (|col - row| > 32767) falls back to the int32 columns
    m = 40000
    rows = torch.cat([torch.arange(m), torch.tensor([0, m - 1])])
    cols = torch.cat([torch.arange(m), torch.tensor([m - 1, 0])])
    vals = torch.cat([torch.full((m,), 4.0, dtype=torch.float64),
                      torch.tensor([-1.0, -1.0], dtype=torch.float64)])
    W = dsla.SparseTensor(vals, rows, cols, (m, m)).cuda()
    bw = torch.ones(m, dtype=torch.float64, device="cuda")
    ow = _C._cuda_cg(W._m, bw, 1.0 / W.diagonal(), rtol=1e-12)
    torch.testing.assert_close(W @ ow["x"][0], bw, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- device memory over a loop
def _cuda_steps():
    dev = "cuda"

    def b(A):
        return torch.ones(A.shape[0], dtype=torch.float64, device=dev)

    steps = {
        "transpose": lambda: dsla.poisson2d(100, device=dev).T,
        "is_symmetric": lambda: dsla.poisson2d(100, device=dev).is_symmetric(),
        "spmv": lambda: dsla.poisson2d(100, device=dev) @ b(dsla.poisson2d(100)),
        "cg": lambda: dsla.solve(dsla.poisson2d(60, device=dev), b(dsla.poisson2d(60)),
                                 method="cg"),
        "amg": lambda: dsla.solve(dsla.poisson2d(60, device=dev), b(dsla.poisson2d(60)),
                                  method="cg", precond="amg"),
        "ilu0": lambda: dsla.solve(dsla.convdiff2d(40, device=dev), b(dsla.poisson2d(40)),
                                   method="gmres", precond="ilu0"),
        "spgemm": lambda: dsla.poisson2d(40, device=dev) @ dsla.poisson2d(40, device=dev),
    }
    if _C.features.get("cudss", False):
        steps["cholesky"] = lambda: dsla.solve(dsla.poisson2d(60, device=dev),
                                               b(dsla.poisson2d(60)), method="cholesky")
    return steps


@pytest.mark.parametrize("name", ["transpose", "is_symmetric", "spmv", "cg", "amg", "ilu0",
                                  "spgemm", "cholesky"])
def test_device_memory_flat_over_loop(name):
    """A loop that builds, uses and drops CUDA matrices returns every byte to the caching
    allocator (a pattern kept alive by a cache cycle holds its device arrays forever)."""
    import gc

    steps = _cuda_steps()
    if name not in steps:
        pytest.skip("needs cuDSS")
    for _ in range(5):
        steps[name]()
    gc.collect()
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    for _ in range(50):
        steps[name]()
    gc.collect()
    torch.cuda.synchronize()
    grew = torch.cuda.memory_allocated() - before
    assert grew <= 0, f"{name}: {grew} bytes of device memory held after 50 steps"


@pytest.mark.parametrize("spec", ["poisson2d:1", "poisson2d:37", "poisson3d:1", "poisson3d:13",
                                  "aniso2d:29:1e-3", "convdiff2d:31:10"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.complex128])
def test_generators_on_the_device_match_the_host(spec, dtype):
    """Stencil matrices are generated on the GPU (closed-form row starts, no host arrays):
    the same pattern, index dtype and values as the host generator."""
    A = dsla.generate(spec, dtype=dtype)
    Ag = dsla.generate(spec, dtype=dtype, device="cuda")
    assert Ag.device.type == "cuda" and Ag.dtype == dtype and Ag.index_dtype == A.index_dtype
    assert torch.equal(Ag.crow.cpu(), A.crow) and torch.equal(Ag.col.cpu(), A.col)
    assert torch.equal(Ag.values.cpu(), A.values)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_from_coo_on_cuda_sorts_and_merges_there():
    """COO entries on the GPU are sorted and merged there (ATen path): the same CSR, values and
    gradient as the host kernel, with duplicates, unsorted entries, empty rows and an index out
    of range refused by name."""
    g = torch.Generator().manual_seed(3)
    r = torch.randint(0, 40, (3000,), generator=g)
    c = torch.randint(0, 30, (3000,), generator=g)
    v = torch.randn(3000, dtype=torch.float64, generator=g)
    ref = dsla.SparseTensor.from_coo(r, c, v, (50, 30))
    vd = v.cuda().requires_grad_()
    A = dsla.SparseTensor.from_coo(r.cuda(), c.cuda(), vd, (50, 30))
    assert A.device.type == "cuda"
    assert torch.equal(A.crow.cpu().long(), ref.crow.long())
    assert torch.equal(A.col.cpu().long(), ref.col.long())
    assert torch.allclose(A.values.cpu(), ref.values)
    A.values.sum().backward()
    assert torch.equal(vd.grad.cpu(), torch.ones(3000, dtype=torch.float64))
    with pytest.raises(IndexError, match="'col'"):
        dsla.SparseTensor.from_coo(r.cuda(), (c + 29).cuda(), v.cuda(), (50, 30))
    E = dsla.SparseTensor.from_coo(r[:0].cuda(), c[:0].cuda(), v[:0].cuda(), (4, 4))
    assert E.nnz == 0 and E.crow.shape == (5,)
