"""Distributed AMG (dsla.amg of a DistTensor, precond="amg" on distributed solves and eigsh) on
P = 2, 3, 4 spawned Gloo processes, against one process: AMG-PCG iterations within the
one-process count + 3 on poisson2d, poisson3d, aniso2d and the SPD matrices of ../shared/data,
answers to the solver tolerance, gradients through a solve preconditioned by the distributed
hierarchy against the one-process gradients, eigsh pairs against dense eigvalsh, the DistAMG
object (levels, update, apply shapes, the replicated coarse hierarchy) and errors raised on
every rank.
"""
import datetime
import os

import pytest
import torch

import dsla

dist = pytest.importorskip("torch.distributed")
mp = pytest.importorskip("torch.multiprocessing")

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="needs torch.distributed with Gloo")

SPD_DATA = ["gr_30_30.mtx", "494_bus.mtx", "662_bus.mtx", "bcsstk08.mtx", "bcsstk09.mtx"]


def _worker(rank, P, init, case, out, timeout, backend="gloo"):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    if torch.cuda.is_available():
        torch.cuda.set_device(rank % torch.cuda.device_count())
    dist.init_process_group(backend, init_method=init, rank=rank, world_size=P,
                            timeout=datetime.timedelta(seconds=timeout))
    try:
        result = globals()[case](rank, P)
        torch.save(result, os.path.join(out, f"rank{rank}.pt"))
        try:  # every rank done before any tears its group down (test_distributed.py)
            dist.barrier()
        except RuntimeError:
            pass
    finally:
        dist.destroy_process_group()


def _spawn(tmp_path, P, case, timeout=120, backend="gloo"):
    init = "file://" + str(tmp_path / "rendezvous")
    mp.spawn(_worker, args=(P, init, case, str(tmp_path), timeout, backend), nprocs=P,
             join=True)
    return [torch.load(tmp_path / f"rank{r}.pt", map_location="cpu") for r in range(P)]


def _rel(a, b):
    return float((a - b).norm() / b.norm())


def _problems():
    """(name, matrix, partition): grids in row blocks (subdomains of the grid); the real
    matrices (whose row order says nothing of their graph: a power network's row blocks cut most
    of its edges, and aggregates cannot cross ranks) through METIS, as a user would lay them
    out."""
    out = [("poisson2d:40", dsla.poisson2d(40), "contiguous"),
           ("poisson3d:12", dsla.poisson3d(12), "contiguous"),
           ("aniso2d:40", dsla.aniso2d(40), "contiguous")]
    data = os.environ.get("DSLA_DATA_DIR", "")
    if not dsla.features.get("metis"):
        return out
    for name in SPD_DATA:
        path = os.path.join(data, name)
        if os.path.exists(path):
            out.append((name, dsla.read_mtx(path, dtype=torch.float64), "metis"))
    return out


def case_pcg(rank, P):
    its = {}
    for name, G, partition in _problems():
        n = G.shape[0]
        b = torch.ones(n, dtype=torch.float64)
        # The one-process hierarchy coarsened as far (coarse_size = the gathering size), so the
        # comparison is of the distributed levels, not of a bigger direct coarse solve.
        gs = max(50, n // 20)
        ref, ref_info = dsla.solve(G, b, method="cg", M=dsla.amg(G, coarse_size=gs), rtol=1e-8,
                                   maxiter=2000, return_info=True)
        A = dsla.distributed.from_global(G, partition=partition)
        H = dsla.amg(A, gather_size=gs, coarse_size=gs)
        assert isinstance(H, dsla.DistAMG) and H.num_distributed_levels >= 1, (name, H)
        x, info = dsla.solve(A, b[A.owned], method="cg", M=H, rtol=1e-8, maxiter=2000,
                             return_info=True)
        assert info.converged and info.preconditioner == "amg", (name, info)
        assert info.iterations <= ref_info.iterations + 3, (name, info.iterations,
                                                            ref_info.iterations)
        assert _rel(A.gather(x), ref) < 1e-6, (name, _rel(A.gather(x), ref))
        its[name] = (info.iterations, ref_info.iterations)
    return its


def case_api(rank, P):
    G = dsla.poisson2d(24)
    n = G.shape[0]
    A = dsla.distributed.from_global(G)
    H = dsla.amg(A, gather_size=40)
    s = H.stats()
    assert s["num_levels"] == H.num_levels >= H.num_distributed_levels + 1
    assert s["levels"][0]["rows"] == n and s["operator_complexity"] > 1
    assert [l["rows"] for l in s["levels"]] == sorted([l["rows"] for l in s["levels"]],
                                                      reverse=True)
    assert isinstance(H.level_matrix(0), dsla.distributed.DistTensor)
    assert H.level_matrix(H.num_distributed_levels).shape[0] <= 40
    # Below the gathered level, the replicated hierarchy's levels (SparseTensors).
    H2 = dsla.amg(A, gather_size=100, coarse_size=10)
    assert H2.num_distributed_levels >= 1 and H2.coarse.num_levels >= 2
    assert isinstance(H2.level_matrix(H2.num_levels - 1), dsla.SparseTensor)
    assert H2.level_matrix(H2.num_levels - 1).shape[0] <= 10
    assert "distributed" in repr(H)
    r = torch.cos(torch.arange(n, dtype=torch.float64))[A.owned]
    z = H(r)
    assert z.shape == r.shape
    z2 = H(torch.stack([r, 2 * r], 1))
    assert z2.shape == (A.n_owned, 2) and torch.allclose(z2[:, 1], 2 * z, atol=1e-12)
    # Symmetric: ⟨M r, s⟩ = ⟨r, M s⟩ over all ranks.
    s_ = torch.sin(torch.arange(n, dtype=torch.float64))[A.owned]
    lhs = dsla.distributed.global_sum(H(r) @ s_)
    rhs = dsla.distributed.global_sum(r @ H(s_))
    assert H.is_symmetric and abs(float(lhs - rhs)) < 1e-10 * abs(float(rhs))
    # Transfers: ⟨Pᵀ v, w⟩ = ⟨v, P w⟩.
    nc = H.level_matrix(1).n_owned
    w = torch.randn(1, nc, 1, dtype=torch.float64)
    v = torch.randn(1, A.n_owned, 1, dtype=torch.float64)
    a = dsla.distributed.global_sum((H.restrict(0, v) * w).sum())
    b = dsla.distributed.global_sum((v * H.prolong(0, w)).sum())
    assert abs(float(a - b)) < 1e-10 * max(1.0, abs(float(b)))
    # update: values doubled -> M⁻¹ halved (aggregates kept).
    H.update(A.with_values(A.values * 2))
    assert H.stats()["numeric_only"]
    assert torch.allclose(H(r), z / 2, rtol=1e-10, atol=1e-13)
    _check_update_matches_fresh(G, A, r)
    # The replicated coarse hierarchy is an AMG of the gathered level, the same on every rank.
    C = H.coarse
    assert C.num_levels == H.num_levels - H.num_distributed_levels
    # precond="amg" inside a prepared solver, refactor updates the hierarchy.
    S = dsla.Solver(A, method="cg", precond="amg", rtol=1e-10)
    assert S.preconditioner == "amg"
    b = torch.ones(n, dtype=torch.float64)
    x1 = S.solve(b[A.owned])
    S.refactor(A.values.detach() * 4)
    x2 = S.solve(b[A.owned])
    assert _rel(x2, x1 / 4) < 1e-8
    # A distributed AMG solve on its own.
    x3 = H.solve(b[A.owned], rtol=1e-10)
    assert _rel(A.gather(x3), dsla.solve(G * 2, b, rtol=1e-12)) < 1e-8
    return True


def case_gradients(rank, P):
    G = dsla.poisson2d(16)
    n = G.shape[0]
    b = torch.cos(torch.arange(n, dtype=torch.float64)) + 2
    w = torch.sin(torch.arange(n, dtype=torch.float64))
    G1 = G.detach().requires_grad_()
    b1 = b.clone().requires_grad_()
    x1 = dsla.solve(G1, b1, method="cg", precond="amg", rtol=1e-12)
    (w * x1).sum().backward()
    Gd = G.detach().requires_grad_()
    bd = b.clone().requires_grad_()
    A = dsla.distributed.from_global(Gd)
    H = dsla.amg(A, gather_size=30)
    x = dsla.solve(A, bd[A.owned], method="cg", M=H, rtol=1e-12)
    dsla.distributed.global_sum(w[A.owned] * x).backward()
    gv, gb = Gd.values.grad.clone(), bd.grad.clone()
    dist.all_reduce(gv)
    dist.all_reduce(gb)
    assert torch.allclose(gv, G1.values.grad, rtol=1e-7, atol=1e-9), (gv - G1.values.grad).abs().max()
    assert torch.allclose(gb, b1.grad, rtol=1e-7, atol=1e-9)
    return True


def case_eigsh(rank, P):
    G = dsla.poisson2d(20)
    wd = torch.linalg.eigvalsh(G.to_dense())
    A = dsla.distributed.from_global(G)
    lam, U, info = dsla.eigsh(A, 4, which="SA", precond="amg", tol=1e-9, return_info=True)
    assert torch.allclose(lam, wd[:4], rtol=1e-8, atol=1e-8), (lam, wd[:4])
    lam_j, _, info_j = dsla.eigsh(A, 4, which="SA", precond="jacobi", tol=1e-9,
                                  return_info=True)
    assert info.iterations <= info_j.iterations, (info.iterations, info_j.iterations)
    # With a shift: the inner solves of A − σI (definite below λmin) take the AMG.
    lam_s = dsla.eigsh(A, 2, sigma=-0.5, precond="amg", tol=1e-9)[0]
    assert torch.allclose(lam_s, wd[:2], rtol=1e-8, atol=1e-8)
    return info.iterations, info_j.iterations


def case_cuda(rank, P):
    """CUDA tensors: the hierarchy on the GPU (Gloo ranks sharing it, or NCCL), against the
    one-process GPU hierarchy coarsened as far and the same distributed run on the CPU."""
    dev = torch.device("cuda", torch.cuda.current_device())
    out = {}
    for name, G in [("poisson2d:48", dsla.poisson2d(48)), ("poisson3d:14", dsla.poisson3d(14)),
                    ("aniso2d:48", dsla.aniso2d(48))]:
        n = G.shape[0]
        gs = n // 20
        b = torch.ones(n, dtype=torch.float64, device=dev)
        Gd = G.to(dev)
        ref, ref_info = dsla.solve(Gd, b, method="cg", M=dsla.amg(Gd, coarse_size=gs),
                                   rtol=1e-8, return_info=True)
        A = dsla.distributed.from_global(Gd)
        H = dsla.amg(A, gather_size=gs, coarse_size=gs)
        assert H.num_distributed_levels >= 1
        x, info = dsla.solve(A, b[A.owned.to(dev)], method="cg", M=H, rtol=1e-8,
                             return_info=True)
        assert x.device.type == "cuda" and info.converged, info
        assert info.iterations <= ref_info.iterations + 3, (name, info, ref_info)
        assert _rel(A.gather(x), ref) < 1e-6
        # The distributed CPU run of the same layout: the same iterations (± 1: MIS-2 on the
        # GPU, greedy on the CPU aggregate differently).
        Ac = dsla.distributed.from_global(G)
        Hc = dsla.amg(Ac, gather_size=gs, coarse_size=gs, aggregation="mis2")
        _, info_c = dsla.solve(Ac, torch.ones(Ac.n_owned, dtype=torch.float64), method="cg",
                               M=Hc, rtol=1e-8, return_info=True)
        assert abs(info.iterations - info_c.iterations) <= 1, (name, info, info_c)
        out[name] = (info.iterations, ref_info.iterations, info_c.iterations)
        # update on the GPU: doubled values halve the cycle.
        r = torch.cos(torch.arange(A.n_owned, dtype=torch.float64, device=dev))
        z = H(r)
        H.update(A.with_values(A.values * 2))
        assert torch.allclose(H(r), z / 2, rtol=1e-9, atol=1e-12)
        # On the GPU update() rebuilds the structures the setup released (aloc, A P's and
        # Pᵀ A P's patterns): other values give what a fresh hierarchy of them gives.
        if name == "poisson2d:48":  # (aniso2d's strength graph would follow a shifted diagonal)
            _check_update_matches_fresh(Gd, A, r)
    S = dsla.Solver(A, method="cg", precond="amg")
    assert S.preconditioner == "amg"
    return out


def _check_update_matches_fresh(G, A, r):
    """update() to other values (the diagonal shifted: the same pattern and fine strength graph,
    so the same fine aggregates) applies what a fresh hierarchy of them applies. One distributed
    level and a direct solve of the gathered one: coarser aggregates would follow the values."""
    opts = dict(gather_size=G.shape[0] // 3, coarse_size=G.shape[0] // 3)
    H = dsla.amg(A, **opts)
    assert H.num_distributed_levels == 1 and H.coarse.num_levels == 1, H
    G2 = G.with_values(G.values + 0.5 * (G.row == G.col).to(G.values.dtype))
    A2 = A.with_values(dsla.distributed.from_global(G2).values)
    H.update(A2)
    fresh = dsla.amg(A2, **opts)
    assert torch.allclose(H(r), fresh(r), rtol=1e-9, atol=1e-12)
    assert not torch.allclose(H(r), dsla.amg(A, **opts)(r), rtol=1e-3)


def case_blocked_galerkin(rank, P, device="cpu"):
    """The Galerkin product by blocks of fine rows (forced by DSLA_GALERKIN_BLOCK_FLOPS; a
    250M-row share takes it because its A P passes 2³¹ entries) builds the hierarchy of one
    product: the same levels and, to rounding, the same cycle; update() through the blocks too."""
    dev = torch.device(device)
    G = dsla.poisson3d(12).to(dev)
    A = dsla.distributed.from_global(G)
    opts = dict(gather_size=60, coarse_size=60)
    r = torch.cos(torch.arange(A.n_owned, dtype=torch.float64, device=dev))
    H1 = dsla.amg(A, **opts)
    # Not a positive integer: ignored (a warning on stderr), the default budget (one product).
    os.environ["DSLA_GALERKIN_BLOCK_FLOPS"] = "7e2"
    try:
        H0 = dsla.amg(A, **opts)
    finally:
        del os.environ["DSLA_GALERKIN_BLOCK_FLOPS"]
    # The same hierarchy (bit for bit on the CPU; CUDA's atomic sums may round differently).
    if device == "cpu":
        assert torch.equal(H0(r), H1(r))
    else:
        assert torch.allclose(H0(r), H1(r), rtol=1e-10, atol=1e-13)
    assert [lv["galerkin_blocks"] for lv in H0.stats()["levels"]] == \
        [lv["galerkin_blocks"] for lv in H1.stats()["levels"]]
    os.environ["DSLA_GALERKIN_BLOCK_FLOPS"] = "700"
    try:
        H2 = dsla.amg(A, **opts)
        A2 = A.with_values(A.values * 3)
        H1.update(A2)
        z1 = H1(r)
        H2.update(A2)
        z2 = H2(r)
    finally:
        del os.environ["DSLA_GALERKIN_BLOCK_FLOPS"]
    s1, s2 = H1.stats(), H2.stats()
    assert [lv["nnz"] for lv in s1["levels"]] == [lv["nnz"] for lv in s2["levels"]], (s1, s2)
    assert H2.num_distributed_levels >= 2
    # Several column blocks on the finest level under the forced budget, one without it.
    b1 = [lv["galerkin_blocks"] for lv in s1["levels"]]
    b2 = [lv["galerkin_blocks"] for lv in s2["levels"]]
    assert b1[: H1.num_distributed_levels] == [1] * H1.num_distributed_levels, b1
    assert b2[0] > 2 and b2[H2.num_distributed_levels:] == [0] * (len(b2) - H2.num_distributed_levels), b2
    assert torch.allclose(z2, z1, rtol=1e-10, atol=1e-13)
    assert torch.allclose(z1, dsla.amg(A2, **opts)(r), rtol=1e-10, atol=1e-13)
    return True


def case_blocked_galerkin_cuda(rank, P):
    return case_blocked_galerkin(rank, P, "cuda")


def case_errors(rank, P):
    G = dsla.poisson2d(12)
    A = dsla.distributed.from_global(G)
    with pytest.raises(ValueError, match="distributed levels smooth with"):
        dsla.amg(A, gather_size=10, smoother="mc_sgs")
    with pytest.raises(ValueError, match="unknown AMG option"):
        dsla.amg(A, gather=10)
    with pytest.raises(ValueError, match="precond_dtype"):
        dsla.amg(A, gather_size=10, precond_dtype=torch.float32)
    # Gathered at once, the replicated hierarchy takes it.
    Hm = dsla.amg(A, precond_dtype=torch.float32)
    assert Hm.num_distributed_levels == 0 and Hm.coarse.level_matrix(0).dtype == torch.float32
    r = torch.ones(A.n_owned, dtype=torch.float64)
    assert Hm(r).dtype == torch.float64
    with pytest.raises(ValueError, match="near_nullspace"):
        dsla.amg(A, near_nullspace=torch.ones(A.n_owned + rank, 1, dtype=torch.float64))
    with pytest.raises(TypeError, match="DistTensor"):
        dsla.DistAMG(G)
    return True


@pytest.mark.parametrize("P", [2, 3, 4])
def test_amg_pcg_within_three_iterations_of_one_process(tmp_path, P):
    out = _spawn(tmp_path, P, "case_pcg")
    assert all(o == out[0] for o in out)  # the same iterations on every rank


@pytest.mark.parametrize("P", [2, 3])
def test_dist_amg_object(tmp_path, P):
    assert all(_spawn(tmp_path, P, "case_api"))


def test_gradients_through_dist_amg_pcg(tmp_path):
    assert all(_spawn(tmp_path, 2, "case_gradients"))


def test_eigsh_with_amg(tmp_path):
    out = _spawn(tmp_path, 2, "case_eigsh")
    assert out[0] == out[1]


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
@pytest.mark.parametrize("P", [2, 3])
def test_cuda_dist_amg_gloo_ranks_share_the_gpu(tmp_path, P):
    out = _spawn(tmp_path, P, "case_cuda", timeout=300)
    assert all(o == out[0] for o in out)


@needs_cuda
@pytest.mark.skipif(not dist.is_available() or not dist.is_nccl_available(), reason="needs NCCL")
def test_cuda_dist_amg_nccl_one_rank(tmp_path):
    assert _spawn(tmp_path, 1, "case_cuda", timeout=300, backend="nccl")


@pytest.mark.parametrize("P", [1, 3])
def test_blocked_galerkin_product_matches_one_product(tmp_path, P):
    assert all(_spawn(tmp_path, P, "case_blocked_galerkin"))


@needs_cuda
def test_cuda_blocked_galerkin_product_matches_one_product(tmp_path):
    assert all(_spawn(tmp_path, 2, "case_blocked_galerkin_cuda", timeout=300))


def test_errors_on_every_rank(tmp_path):
    assert all(_spawn(tmp_path, 2, "case_errors"))
