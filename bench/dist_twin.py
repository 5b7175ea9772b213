#!/usr/bin/env python3
"""The weak-scaling twin of a multi-GPU run on one GPU: one rank's share of a distributed
structured problem (default: rank 1 of poisson3d:1000 over 4 ranks — 250M rows, a 2 x 2 x 1
process grid, two neighbours with a 500 x 1000 face each), built on the device by
``dsla.distributed.twin``, its halo exchanged with itself (the bytes of the real exchange, moved
device to device). Measures the distributed fused CG + Jacobi per iteration (CUDA events; the
difference of a 2m- and an m-iteration solve over m, so setup drops out; median of 5), the
matrix generation time, memory (the matrix, and the peak over a solve, per owned row), the halo
per exchange, the copy bandwidth, and the bytes-per-iteration efficiency; then projects the
per-iteration time of the real P-GPU run from a stated model:

    t_P = t_twin - t_loopback + t_halo + 2 t_allreduce
    t_halo = latency + (bytes to the busiest neighbour) / link bandwidth  (no overlap assumed)

with the link bandwidth, latency and the 8-byte all-reduce time as arguments (defaults: H200
NVLink 4 at 350 GB/s achieved per direction, 10 us per message, 15 us per all-reduce; NCCL's
own figures for intra-node NVLink, to be checked by the multi-GPU run, issue #18).

    python3 bench/dist_twin.py [--problem poisson3d:1000] [--ranks 4] [--rank 1] [--iters 50]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402


def nbytes(t):
    return t.numel() * t.element_size()


def matrix_bytes(m):
    return nbytes(m.crow_indices()) + nbytes(m.col_indices()) + nbytes(m.values)


def cuda_time(fn, reps=5):
    out = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        out.append(s.elapsed_time(e) / 1e3)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="poisson3d:1000")
    ap.add_argument("--ranks", type=int, default=4)
    ap.add_argument("--rank", type=int, default=1)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--backend", default="nccl", choices=["nccl", "gloo"])
    ap.add_argument("--link-gbs", type=float, default=350.0)
    ap.add_argument("--latency-us", type=float, default=10.0)
    ap.add_argument("--allreduce-us", type=float, default=15.0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    import warnings

    warnings.simplefilter("ignore")  # rtol 0: the timed solves "fail" to converge, by design
    kind, n = a.problem.split(":")
    n = int(n)
    dev = torch.device("cuda", 0)
    torch.cuda.set_device(dev)
    d = tempfile.mkdtemp()
    dist.init_process_group(a.backend, init_method="file://" + os.path.join(d, "init"), rank=0,
                            world_size=1)
    print(f"twin: rank {a.rank} of {a.problem} over {a.ranks} ranks on {torch.cuda.get_device_name(0)}",
          flush=True)
    # Copy bandwidth in this run (read + write bytes of a 2 GiB copy).
    src = torch.empty(2**28, dtype=torch.float64, device=dev)
    dst = torch.empty_like(src)
    t = cuda_time(lambda: dst.copy_(src))
    copy_bw = 2 * nbytes(src) / t
    del src, dst
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    import time
    t0 = time.perf_counter()
    A = dsla.distributed.twin(kind, n, a.rank, a.ranks, device=dev)
    torch.cuda.synchronize()
    gen_s = time.perf_counter() - t0
    gen_peak = torch.cuda.max_memory_allocated() - base
    m = A._m
    nrow = A.n_owned
    mat = matrix_bytes(m.diag) + matrix_bytes(m.offd)
    plan = m.plan_summary()
    print(f"generated {nrow} rows, nnz {m.diag.nnz + m.offd.nnz} in {gen_s:.1f} s "
          f"(peak {gen_peak / 2**30:.1f} GiB); {plan}", flush=True)
    b = torch.ones(nrow, dtype=torch.float64, device=dev)
    dsla.solve(A, b, method="cg", precond="jacobi", rtol=0.0, maxiter=5)  # warm-up
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()

    def run(it):
        return lambda: dsla.solve(A, b, method="cg", precond="jacobi", rtol=0.0, maxiter=it)

    t1 = cuda_time(run(a.iters))
    t2 = cuda_time(run(2 * a.iters))
    t_it = (t2 - t1) / a.iters
    peak = torch.cuda.max_memory_allocated() - base
    # The loopback's own cost: the ghost layer copied device to device, as the exchange does.
    g = torch.empty(A.n_ghost, dtype=torch.float64, device=dev)
    sb = torch.empty_like(g)
    t_loop = cuda_time(lambda: [g.copy_(sb) for _ in range(100)]) / 100
    n_ghost = A.n_ghost
    # Minimal bytes per iteration of the fused iteration (cg_cuda.h: 10 vectors of n, the
    # matrix once; a uniform Jacobi diagonal is a scalar) plus the halo pack and ghost reads.
    ncols = m.diag.col_indices().element_size()
    nnz = m.diag.nnz + m.offd.nnz
    min_bytes = nnz * (8 + ncols) + 4 * (nrow + 1) + 10 * 8 * nrow + 3 * 8 * n_ghost
    busiest = n_ghost * 8  # upper bound: every ghost from one neighbour
    try:
        per_nb = [int(x) for x in plan.split("recv counts [")[1].split("]")[0].split(",")]
        busiest = max(per_nb) * 8
    except Exception:
        pass
    t_halo = a.latency_us * 1e-6 + busiest / (a.link_gbs * 1e9)
    t_proj = t_it - t_loop + t_halo + 2 * a.allreduce_us * 1e-6
    total_rows = A.shape[0]
    res = dict(problem=a.problem, ranks=a.ranks, rank=a.rank, rows=nrow, total_rows=total_rows,
               nnz=nnz, ghosts=n_ghost, halo_bytes_per_exchange=8 * n_ghost, plan=plan,
               generate_s=gen_s, generate_peak_bytes=gen_peak, matrix_bytes=mat,
               matrix_bytes_per_row=mat / nrow, solve_peak_bytes=peak,
               solve_peak_bytes_per_row=peak / nrow, ms_per_iteration=t_it * 1e3,
               loopback_ms=t_loop * 1e3, copy_bandwidth_gbs=copy_bw / 1e9,
               min_bytes_per_iteration=min_bytes,
               efficiency_vs_copy=min_bytes / t_it / copy_bw,
               model=dict(link_gbs=a.link_gbs, latency_us=a.latency_us,
                          allreduce_us=a.allreduce_us, halo_ms=t_halo * 1e3,
                          projected_ms_per_iteration=t_proj * 1e3,
                          projected_weak_efficiency=t_it / t_proj,
                          formula="t_P = t_twin - t_loopback + t_halo + 2 t_allreduce"))
    print(json.dumps(res, indent=1), flush=True)
    doc = dict(bench="dist_twin", commit=_meta.commit(), torch=torch.__version__,
               host=platform.node(), gpu=torch.cuda.get_device_name(0),
               date=datetime.datetime.utcnow().isoformat(timespec="seconds"),
               command=" ".join(["python3", "bench/dist_twin.py"] + sys.argv[1:]), results=[res])
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "dist-twin-" + a.problem.replace(":", "") + f"-{a.ranks}-"
                        + datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(path)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
