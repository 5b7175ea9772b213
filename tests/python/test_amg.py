"""AMG from Python: dsla.amg / AMG / amg_solve; AMG as M in dsla.solve (gradients against a
dense solve); stats; numeric update; options and bad input; CPU vs CUDA setup agreement."""
import pathlib
import os

import pytest
import torch

import dsla

DATA = pathlib.Path(os.environ.get("DSLA_DATA_DIR",
                                   pathlib.Path(__file__).resolve().parents[2].parent / "shared"
                                   / "data"))


@pytest.mark.parametrize("spec", ["poisson2d:64", "poisson2d:128", "poisson2d:256",
                                  "poisson3d:16", "poisson3d:24"])
def test_amg_pcg_converges_in_few_iterations(spec):
    A = dsla.generate(spec)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    x, info = dsla.amg_solve(A, b, rtol=1e-6, accel="cg")
    assert info["converged"]
    assert info["iterations"] <= 20
    assert (b - A @ x).norm() / b.norm() <= 1e-6


def test_stationary_v_cycle_factor():
    A = dsla.poisson2d(128)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    x, info = dsla.amg_solve(A, b, rtol=1e-8, maxiter=60)
    assert info["converged"] and info["convergence_factor"] < 0.3


def test_stats_and_hierarchy():
    A = dsla.poisson2d(64)
    H = dsla.amg(A)
    s = H.stats()
    assert s["num_levels"] == H.num_levels >= 2
    rows = [l["rows"] for l in s["levels"]]
    assert rows == sorted(rows, reverse=True) and rows[0] == A.shape[0]
    assert 1.0 < s["operator_complexity"] < 2.0
    assert set(s["setup_time"]) >= {"strength", "aggregation", "prolongation", "rap",
                                    "smoother", "coarse", "total"}
    assert H.is_symmetric
    P = H.prolongator(0).to_dense()
    A0, A1 = H.level_matrix(0).to_dense(), H.level_matrix(1).to_dense()
    torch.testing.assert_close(P.T @ A0 @ P, A1, atol=1e-10, rtol=1e-10)
    T = H.prolongator(0, tentative=True).to_dense()
    assert ((T != 0).sum(1) == (H.aggregates(0) >= 0).long()).all()
    assert "AMG(levels=" in repr(H)


def test_as_preconditioner_in_solve():
    A = dsla.poisson2d(96)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    H = dsla.amg(A)
    x, info = dsla.solve(A, b, method="cg", M=H, rtol=1e-8, return_info=True)
    assert info.converged and info.iterations <= 20
    _, jac = dsla.solve(A, b, method="cg", precond="jacobi", rtol=1e-8, return_info=True)
    assert info.iterations * 5 < jac.iterations


def test_gradient_matches_dense_solve():
    A = dsla.poisson2d(12)
    n = A.shape[0]
    vals = A.values.clone().requires_grad_(True)
    b = torch.linspace(0.5, 1.5, n, dtype=torch.float64, requires_grad=True)
    A1 = A.with_values(vals)
    H = dsla.amg(A)
    x = dsla.solve(A1, b, method="cg", M=H, rtol=1e-12)
    loss = (x * torch.arange(n, dtype=torch.float64)).sum()
    gv, gb = torch.autograd.grad(loss, (vals, b))
    # Dense reference.
    vals2 = A.values.clone().requires_grad_(True)
    b2 = b.detach().clone().requires_grad_(True)
    Ad = A.with_values(vals2).to_dense()
    x2 = torch.linalg.solve(Ad, b2)
    loss2 = (x2 * torch.arange(n, dtype=torch.float64)).sum()
    gv2, gb2 = torch.autograd.grad(loss2, (vals2, b2))
    torch.testing.assert_close(x.detach(), x2.detach(), atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(gb, gb2, atol=1e-8, rtol=1e-8)
    torch.testing.assert_close(gv, gv2, atol=1e-8, rtol=1e-8)


def test_update_equals_fresh_setup():
    A = dsla.poisson2d(80)
    r, c = A._m.row_indices().long(), A._m.col_indices().long()
    s = torch.rand(A.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    s = s + 0.5
    A2 = A.with_values(A.values * s[r] * s[c])
    H = dsla.amg(A, strength_threshold=0.0)
    H.update(A2)
    F = dsla.amg(A2, strength_threshold=0.0)
    z = torch.rand(A.shape[0], dtype=torch.float64)
    torch.testing.assert_close(H(z), F(z), atol=1e-10, rtol=1e-10)
    assert H.stats()["numeric_only"]


def test_apply_shapes():
    A = dsla.poisson2d(32)
    H = dsla.amg(A)
    n = A.shape[0]
    z1 = H(torch.ones(n, dtype=torch.float64))
    z2 = H(torch.ones(n, 3, dtype=torch.float64))
    assert z1.shape == (n,) and z2.shape == (n, 3)
    torch.testing.assert_close(z2[:, 1], z1)


def test_nonsymmetric_with_gmres():
    A = dsla.convdiff2d(48, 10.0)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    H = dsla.amg(A)
    assert not H.is_symmetric
    x, info = dsla.solve(A, b, method="gmres", M=H, rtol=1e-6, return_info=True)
    assert info.converged


def test_options_and_bad_input():
    A = dsla.poisson2d(16)
    for kw in [dict(aggregation="mis2"), dict(aggregation="greedy"), dict(cycle="W"),
               dict(smoother="l1_jacobi"), dict(prolongation_omega=0.0)]:
        x, info = dsla.amg_solve(A, torch.ones(256, dtype=torch.float64), accel="cg", **kw)
        assert info["converged"], kw
    with pytest.raises(ValueError, match="aggregation"):
        dsla.amg(A, aggregation="nope")
    with pytest.raises(ValueError, match="unknown AMG option"):
        dsla.amg(A, bogus=1)
    with pytest.raises(ValueError, match="near_nullspace"):
        dsla.amg(A, near_nullspace=torch.ones(5, 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="update"):
        dsla.amg(A).update(dsla.poisson2d(17))


@pytest.mark.parametrize("name", ["gr_30_30", "bcsstk08"])
def test_real_matrices(name):
    path = DATA / f"{name}.mtx"
    if not path.exists():
        pytest.skip(f"no {path}")
    A = dsla.read_mtx(str(path))
    b = A @ torch.ones(A.shape[1], dtype=torch.float64)
    x, info = dsla.amg_solve(A, b, rtol=1e-6, maxiter=300, accel="cg")
    assert info["converged"]
    if name == "gr_30_30":
        assert info["iterations"] <= 20


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_setup_matches_cpu():
    A = dsla.poisson2d(64)
    Ac = A.to(device="cuda")
    Hc, Hg = dsla.amg(A, aggregation="mis2"), dsla.amg(Ac, aggregation="mis2")
    assert Hc.num_levels == Hg.num_levels
    for l in range(Hc.num_levels - 1):
        assert torch.equal(Hc.aggregates(l), Hg.aggregates(l).cpu())
    z = torch.rand(A.shape[0], dtype=torch.float64)
    torch.testing.assert_close(Hg(z.cuda()).cpu(), Hc(z), atol=1e-8, rtol=1e-8)
    b = torch.ones(A.shape[0], dtype=torch.float64, device="cuda")
    x, info = dsla.amg_solve(Ac, b, accel="cg")
    assert info["converged"] and info["iterations"] <= 20


def test_spectral_radius_estimate():
    """The estimate is Lanczos' largest Ritz value of D^-1 A (8 steps): below rho, and the
    Chebyshev upper bound 1.1 x estimate covers the spectrum (exact rho from a dense solve)."""
    A = dsla.poisson2d(24)
    H = dsla.amg(A)
    r = H.spectral_radius(0)
    assert r.shape == (1,)
    D = A.to_dense()
    ev = torch.linalg.eigvalsh(D / D.diagonal().sqrt()[:, None] / D.diagonal().sqrt()[None, :])
    assert ev[-1] * 0.9 <= r[0] <= ev[-1] * (1 + 1e-12)
    assert 1.1 * r[0] >= ev[-1]
    with pytest.raises(IndexError, match="level"):
        H.spectral_radius(H.num_levels)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("spec", ["poisson2d:300", "poisson3d:20"])
def test_cuda_spectral_radius_matches_cpu(spec):
    """The fused CUDA Lanczos follows the CPU kernel's recurrence: same estimates to rounding,
    on levels above and below the old host-copy threshold (65536 rows)."""
    A = dsla.generate(spec, dtype=torch.float64)
    Hc = dsla.amg(A, aggregation="mis2")
    Hg = dsla.amg(A.to(device="cuda"), aggregation="mis2")
    for l in range(Hc.num_levels):
        rc, rg = Hc.spectral_radius(l), Hg.spectral_radius(l)
        assert (rc is None) == (rg is None)
        if rc is not None:
            torch.testing.assert_close(rg.cpu(), rc, atol=0, rtol=1e-10)


def test_precond_amg_by_name_gradient():
    """precond="amg" (the C++ Preconditioner; its adjoint is itself) through dsla.solve."""
    A = dsla.poisson2d(10)
    n = A.shape[0]
    vals = A.values.clone().requires_grad_(True)
    b = torch.ones(n, dtype=torch.float64, requires_grad=True)
    x, info = dsla.solve(A.with_values(vals), b, method="cg", precond="amg", rtol=1e-12,
                         return_info=True)
    assert info.preconditioner.startswith("amg") and info.iterations <= 15
    gv, gb = torch.autograd.grad((x ** 2).sum(), (vals, b))
    vals2 = A.values.clone().requires_grad_(True)
    b2 = b.detach().clone().requires_grad_(True)
    x2 = torch.linalg.solve(A.with_values(vals2).to_dense(), b2)
    gv2, gb2 = torch.autograd.grad((x2 ** 2).sum(), (vals2, b2))
    torch.testing.assert_close(gb, gb2, atol=1e-8, rtol=1e-8)
    torch.testing.assert_close(gv, gv2, atol=1e-8, rtol=1e-8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("spec", ["poisson2d:128", "poisson3d:24", "aniso2d:96:1e-3"])
def test_cuda_hierarchy_galerkin_and_agreement(spec):
    """The device setup (strength, MIS-2, P = S T, RAP by SpGEMM) matches the CPU's mis2 setup:
    same aggregates and patterns, values to rounding; Galerkin and symmetry hold."""
    A = dsla.generate(spec, dtype=torch.float64)
    Hc = dsla.amg(A, aggregation="mis2")
    Hg = dsla.amg(A.to(device="cuda"), aggregation="mis2")
    assert Hc.num_levels == Hg.num_levels
    for l in range(Hc.num_levels - 1):
        assert torch.equal(Hc.aggregates(l), Hg.aggregates(l).cpu())
        Pc, Pg = Hc.prolongator(l), Hg.prolongator(l)
        torch.testing.assert_close(Pg.to_dense().cpu(), Pc.to_dense(), atol=1e-12, rtol=1e-10)
    for l in range(Hc.num_levels):
        Ac, Ag = Hc.level_matrix(l).to_dense(), Hg.level_matrix(l).to_dense().cpu()
        torch.testing.assert_close(Ag, Ac, atol=1e-10, rtol=1e-9)
        torch.testing.assert_close(Ag, Ag.T, atol=1e-12, rtol=0)
    b = torch.ones(A.shape[0], dtype=torch.float64, device="cuda")
    x, info = dsla.amg_solve(A.to(device="cuda"), b, accel="cg", rtol=1e-8)
    assert info["converged"] and info["iterations"] <= 20
    # Numeric re-setup on the device reuses the structure and matches a fresh setup.
    A2 = A.with_values(A.values * 2.0).to(device="cuda")
    Hg.update(A2)
    torch.testing.assert_close(Hg.level_matrix(1).to_dense(),
                               2.0 * dsla.amg(A.to(device="cuda"), aggregation="mis2")
                               .level_matrix(1).to_dense(), atol=1e-9, rtol=1e-9)


def test_mixed_precision_levels():
    """precond_dtype=torch.float32: float32 levels inside a float64 CG reach the same true
    residual (1e-10) within two iterations of the float64 hierarchy; the cycle takes and returns
    float64; a bad dtype is refused by name."""
    A = dsla.poisson2d(48)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    H64 = dsla.amg(A)
    H32 = dsla.amg(A, precond_dtype=torch.float32)
    assert H32.level_matrix(1).dtype == torch.float32
    z = H32(b)
    assert z.dtype == torch.float64 and z.shape == b.shape
    x64, i64 = dsla.solve(A, b, method="cg", M=H64, rtol=1e-10, return_info=True)
    x32, i32 = dsla.solve(A, b, method="cg", M=H32, rtol=1e-10, return_info=True)
    assert i32.converged and i32.residual <= 1e-10
    assert i32.iterations <= i64.iterations + 2, (i32.iterations, i64.iterations)
    assert float((x32 - x64).norm() / x64.norm()) < 1e-8
    with pytest.raises(TypeError, match="precond_dtype"):
        dsla.amg(A, precond_dtype=torch.int64)


def test_amg_as_M_is_the_cpp_hierarchy_and_checks_every_iteration():
    """dsla.solve(A, b, M=dsla.amg(A)) hands the C++ hierarchy to the solver (no Python call per
    cycle): same answer and iterations as AMG's own loop and as precond='amg'; a hierarchy of
    another size is refused by name; on a device the default check_every is 1 with such a
    preconditioner (the count is the same whatever check_every, so this checks the answer)."""
    A = dsla.poisson2d(48)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    H = dsla.amg(A)
    x, info = dsla.solve(A, b, method="cg", M=H, rtol=1e-10, return_info=True)
    x2, info2 = dsla.solve(A, b, method="cg", precond="amg", rtol=1e-10, return_info=True)
    assert info.converged and abs(info.iterations - info2.iterations) <= 1
    torch.testing.assert_close(x, x2, rtol=1e-8, atol=1e-10)
    # Gradients flow through the solve with the user's hierarchy (the adjoint reuses it).
    v = A.values.clone().requires_grad_()
    xs = dsla.solve(A.with_values(v), b, method="cg", M=H, rtol=1e-12)
    (xs * xs).sum().backward()
    vd = A.values.clone().requires_grad_()
    xd = torch.linalg.solve(A.with_values(vd).to_dense(), b)
    (xd * xd).sum().backward()
    torch.testing.assert_close(v.grad, vd.grad, rtol=1e-7, atol=1e-10)
    with pytest.raises(ValueError, match="argument 'M'"):
        dsla.solve(dsla.poisson2d(5), torch.ones(25, dtype=torch.float64), M=H)
