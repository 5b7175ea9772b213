#!/usr/bin/env python3
"""Distributed AMG-PCG (dsla.amg of a DistTensor): setup and solve on P ranks (spawned
processes, one thread each; Gloo on CPU, Gloo sharing one GPU or NCCL with --device cuda) on
the box-partitioned generators, against the one-process AMG-PCG of the same matrix in the same
run. Per problem and rank count: setup (the distributed levels, the gather and the replicated
hierarchy) and solve time (median of 5 after a warm-up, slowest rank, wall clock around
synchronized calls), iterations, true relative residual, the hierarchy (global rows per level,
how many distributed), and peak memory per rank (CUDA: max_memory_allocated; CPU: max RSS)
per owned row. --gather sweeps the gathering threshold (the global size below which the coarse
level is gathered and replicated): the measurement behind AmgOptions.gather_size. b = 1, x0 = 0,
fp64, rtol 1e-8 (--rtol).

    python3 bench/dist_amg_bench.py [--sizes poisson2d:512,poisson3d:48] [--ranks 1,2]
                                    [--gather 50000] [--device cuda] [--backend nccl]
"""
import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402
from _amg_timing import timed_amg_pcg  # noqa: E402


def worker(rank, P, init, specs, gathers, rtol, out, device, backend):
    torch.set_num_threads(1)
    cuda = device == "cuda"
    if cuda:
        torch.cuda.set_device(rank % torch.cuda.device_count())
    dist.init_process_group(backend, init_method=init, rank=rank, world_size=P)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    on = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else "cpu"
    rows = []
    for spec in specs:
        kind, n = spec.split(":")
        A = getattr(dsla.distributed, kind)(int(n))
        if cuda:
            A = A.cuda()
        b = torch.ones(A.n_owned, dtype=torch.float64, device=A.device)
        for gs in gathers:
            H = dsla.amg(A, gather_size=gs)  # warm-up (and the SpGEMM plans' first use)
            dsla.solve(A, b, method="cg", M=H, rtol=rtol, maxiter=500)
            del H
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            setups, solves = [], []
            for rep in range(5):
                sync()
                dist.barrier()
                t0 = time.perf_counter()
                H = dsla.amg(A, gather_size=gs)
                sync()
                t1 = time.perf_counter()
                x, info = dsla.solve(A, b, method="cg", M=H, rtol=rtol, maxiter=500,
                                     return_info=True)
                sync()
                t2 = time.perf_counter()
                setups.append(t1 - t0)
                solves.append(t2 - t1)
                if rep < 4:
                    del H, x  # one hierarchy alive at a time: the peak is one setup's
            peak = (torch.cuda.max_memory_allocated() if cuda
                    else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
            t = torch.tensor([statistics.median(setups), statistics.median(solves), peak,
                              A.n_owned], dtype=torch.float64, device=on)
            allt = [torch.zeros_like(t) for _ in range(P)]
            dist.all_gather(allt, t)
            s = H.stats()
            if rank == 0:
                allt = torch.stack(allt).cpu()
                setup, solve = float(allt[:, 0].max()), float(allt[:, 1].max())
                rows.append(dict(
                    problem=spec, ranks=P, device=device, backend=backend, gather_size=gs,
                    n=A.shape[0], nnz=A.nnz, setup_s=setup, solve_s=solve,
                    total_s=setup + solve, iterations=info.iterations,
                    residual=info.residual, converged=info.converged,
                    ms_per_iteration=solve / max(1, info.iterations) * 1e3,
                    levels=[l["rows"] for l in s["levels"]],
                    distributed_levels=H.num_distributed_levels,
                    operator_complexity=s["operator_complexity"],
                    setup_phases_rank0=s["setup_time"],
                    peak_bytes_per_owned_row=float((allt[:, 2] / allt[:, 3].clamp_min(1)).max()),
                    peak_kind="cuda max_memory_allocated" if cuda else "max RSS (process)"))
            del H, x
    if rank == 0:
        with open(out, "w") as f:
            json.dump(rows, f)
    dist.destroy_process_group()


def one_process(specs, rtol, device):
    """The one-process AMG-PCG of the same matrices (the reference of the distributed rows)."""
    torch.set_num_threads(1)
    out = []
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for spec in specs:
        kind, n = spec.split(":")
        G = getattr(dsla, kind)(int(n)).to(dev)
        b = torch.ones(G.shape[0], dtype=torch.float64, device=dev)
        setups, solves, H, info = timed_amg_pcg(G, b, lambda: dsla.amg(G), rtol, 5, sync)
        setup, solve = statistics.median(setups), statistics.median(solves)
        out.append(dict(problem=spec, ranks="one process", device=device, n=G.shape[0],
                        setup_s=setup, solve_s=solve, total_s=setup + solve,
                        iterations=info.iterations, residual=info.residual,
                        levels=[l["rows"] for l in H.stats()["levels"]]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    ap.add_argument("--sizes", default="poisson2d:512,poisson3d:48")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--gather", default="50000", help="gather_size values (comma-separated)")
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--backend", default="gloo", choices=["gloo", "nccl"])
    a = ap.parse_args()
    specs = a.sizes.split(",")
    gathers = [int(g) for g in a.gather.split(",")]
    results = one_process(specs, a.rtol, a.device)
    for P in [int(p) for p in a.ranks.split(",")]:
        d = tempfile.mkdtemp()
        tmp = os.path.join(d, "rows.json")
        mp.spawn(worker, args=(P, "file://" + os.path.join(d, "init"), specs, gathers, a.rtol,
                               tmp, a.device, a.backend), nprocs=P)
        with open(tmp) as f:
            results += json.load(f)
    doc = dict(bench="dist_amg_bench", commit=_meta.commit(), torch=torch.__version__,
               host=platform.node(), cpus=os.cpu_count(), threads_per_rank=1,
               gpu=torch.cuda.get_device_name(0) if a.device == "cuda" else None,
               date=datetime.datetime.utcnow().isoformat(timespec="seconds"),
               command=" ".join(["python3", "bench/dist_amg_bench.py"] + sys.argv[1:]),
               rtol=a.rtol, results=results)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"dist-amg-{a.device}-{a.backend}-"
                        + datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    for r in results:
        extra = (f" gather {r['gather_size']}, {r['distributed_levels']} distributed levels"
                 if "gather_size" in r else "")
        print(f"{r['problem']:>14} P={r['ranks']}: setup {r['setup_s']:.3f} s + solve "
              f"{r['solve_s']:.3f} s = {r['total_s']:.3f} s, {r['iterations']} it, "
              f"res {r['residual']:.1e}, levels {r['levels']}{extra}")
    print(path)


if __name__ == "__main__":
    main()
