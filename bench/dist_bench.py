#!/usr/bin/env python3
"""Distributed CG + Jacobi on CPU ranks (Gloo, spawned processes, one thread each): time per
iteration on poisson2d / poisson3d for P = 1 and 2, the halo per exchange, and the memory per
owned row of the distributed matrix against the same rows held as one one-device CSR matrix
(DESIGN-distributed: within 1.15x). Fixed iteration count (rtol 0), median of 5 after a
warm-up, b = 1, x0 = 0, fp64. On this 2-core machine P = 2 measures the overhead of the
exchange and the all-reduces more than any speed-up.

    python3 bench/dist_bench.py [--out bench/results] [--iters 200] [--sizes poisson2d:512,poisson3d:48]

On a GPU machine, --device cuda moves each rank's matrix to the GPU (rank r on cuda:r mod the
device count; ranks sharing one GPU exchange through the host with Gloo) and --backend nccl uses
NCCL (one rank per GPU). CUDA times are wall-clock around a synchronized solve. CG on CUDA runs
the fused steps across ranks (two kernels per iteration plus the halo pack and the ghost
columns' share, the exchange overlapping the interior product); --cg generic runs the generic
steps through the operator (DSLA_DIST_CG=generic), for comparison.
"""
import argparse
import datetime
import json
import os
import platform
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


def nbytes(t):
    return t.numel() * t.element_size()


def matrix_bytes(m):
    return nbytes(m.crow_indices()) + nbytes(m.col_indices()) + nbytes(m.values)


def worker(rank, P, init, specs, iters, out, device="cpu", backend="gloo"):
    import warnings

    warnings.simplefilter("ignore")  # rtol 0: every solve "fails" to converge, by design
    torch.set_num_threads(1)
    cuda = device == "cuda"
    if cuda:
        torch.cuda.set_device(rank % torch.cuda.device_count())
    dist.init_process_group(backend, init_method=init, rank=rank, world_size=P)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    rows = []
    for spec in specs:
        kind, n = spec.split(":")
        A = getattr(dsla.distributed, kind)(int(n))
        if cuda:
            A = A.cuda()
        b = torch.ones(A.n_owned, dtype=torch.float64, device=A.device)
        dsla.solve(A, b, method="cg", precond="jacobi", rtol=0.0, maxiter=10)  # warm-up
        times = []
        for _ in range(5):
            sync()
            dist.barrier()
            t0 = time.perf_counter()
            _, info = dsla.solve(A, b, method="cg", precond="jacobi", rtol=0.0, maxiter=iters,
                                 return_info=True)
            sync()
            times.append((time.perf_counter() - t0) / info.iterations)
        m = A._m
        dist_bytes = (matrix_bytes(m.diag) + matrix_bytes(m.offd) + nbytes(m.owned)
                      + nbytes(m.ghost))
        # The same rows as one CSR matrix (int32 indices where they fit, as dsla would store).
        local = A.local
        one = matrix_bytes(local._m)
        t = torch.tensor([statistics.median(times), A.n_ghost, A.n_owned, dist_bytes, one],
                         dtype=torch.float64, device=A.device if backend == "nccl" else "cpu")
        allt = [torch.zeros_like(t) for _ in range(P)]
        dist.all_gather(allt, t)
        if rank == 0:
            allt = torch.stack(allt).cpu()
            rows.append(dict(problem=spec, ranks=P, device=device, backend=backend,
                             cg=os.environ.get("DSLA_DIST_CG", "fused") if device == "cuda" else "cpu",
                             n=A.shape[0], nnz=A.nnz,
                             iterations=iters,
                             ms_per_iteration=float(allt[:, 0].max()) * 1e3,
                             ghosts_per_rank=[int(g) for g in allt[:, 1]],
                             owned_per_rank=[int(g) for g in allt[:, 2]],
                             bytes_per_owned_row=float(allt[:, 3].sum() / allt[:, 2].sum()),
                             one_device_bytes_per_row=float(allt[:, 4].sum() / allt[:, 2].sum()),
                             memory_ratio=float(allt[:, 3].sum() / allt[:, 4].sum())))
    if rank == 0:
        with open(out, "w") as f:
            json.dump(rows, f)
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--sizes", default="poisson2d:512,poisson3d:48")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--backend", default="gloo", choices=["gloo", "nccl"])
    ap.add_argument("--cg", default="fused", choices=["fused", "generic"],
                    help="CUDA: the fused steps across ranks (default) or the generic ones")
    a = ap.parse_args()
    if a.cg == "generic":
        os.environ["DSLA_DIST_CG"] = "generic"  # read by every spawned rank
    specs = a.sizes.split(",")
    results = []
    for P in [int(p) for p in a.ranks.split(",")]:
        d = tempfile.mkdtemp()
        tmp = os.path.join(d, "rows.json")
        mp.spawn(worker, args=(P, "file://" + os.path.join(d, "init"), specs, a.iters, tmp,
                               a.device, a.backend), nprocs=P)
        with open(tmp) as f:
            results += json.load(f)
    doc = dict(bench="dist_bench", commit=_meta.commit(), torch=torch.__version__,
               host=platform.node(), cpus=os.cpu_count(),
               date=datetime.datetime.utcnow().isoformat(timespec="seconds"),
               command=" ".join(["python3", "bench/dist_bench.py"] + sys.argv[1:]),
               results=results)
    os.makedirs(a.out, exist_ok=True)
    gpu = torch.cuda.get_device_name(0) if a.device == "cuda" else None
    doc["gpu"] = gpu
    tag = "-generic" if a.device == "cuda" and a.cg == "generic" else ""
    path = os.path.join(a.out, f"dist-{a.device}-{a.backend}{tag}-" + datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
                        + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    for r in results:
        print(f"{r['problem']:>16} P={r['ranks']} {r['device']}/{r['backend']}/{r['cg']}: {r['ms_per_iteration']:.3f} ms/iteration, "
              f"ghosts {r['ghosts_per_rank']}, {r['bytes_per_owned_row']:.1f} B/row "
              f"(one device {r['one_device_bytes_per_row']:.1f}, x{r['memory_ratio']:.3f})")
    print(path)


if __name__ == "__main__":
    main()
