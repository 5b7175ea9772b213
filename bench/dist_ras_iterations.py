#!/usr/bin/env python3
"""GMRES(50) iterations with the distributed preconditioners on a nonsymmetric problem
(convdiff2d:64, Péclet 20, rtol 1e-10, b = 1): none, jacobi, block_jacobi (ILU(0) of each rank's
diagonal block) and ras (restricted additive Schwarz, overlap 1, ILU(0) on [owned | ghost]),
for P = 2 and 4 spawned Gloo ranks, contiguous and random partitions. Iteration counts, not
times: the figure RAS exists to improve. One JSON under bench/results.

    python3 bench/dist_ras_iterations.py [--out bench/results]
"""
import argparse
import datetime
import json
import os
import sys
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import dsla  # noqa: E402

PRECONDS = ("none", "jacobi", "block_jacobi", "ras")


def worker(rank, P, init, out):
    import warnings

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=P)
    G = dsla.convdiff2d(64, 20.0)
    n = G.shape[0]
    b = torch.ones(n, dtype=torch.float64)
    rows = []
    for part in ("contiguous", "random"):
        parts = part if part == "contiguous" else torch.randint(
            P, (n,), generator=torch.Generator().manual_seed(1))
        A = dsla.distributed.from_global(G, partition=parts)
        its = {}
        for pc in PRECONDS:
            _, info = dsla.solve(A, b[A.owned], method="gmres", precond=pc, rtol=1e-10,
                                 restart=50, maxiter=5000, return_info=True)
            its[pc] = int(info.iterations)
        rows.append(dict(problem="convdiff2d:64 pe=20", ranks=P, partition=part,
                         method="gmres(50)", rtol=1e-10, iterations=its))
    if rank == 0:
        with open(out, "w") as f:
            json.dump(rows, f)
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    results = []
    for P in (2, 4):
        d = tempfile.mkdtemp()
        tmp = os.path.join(d, "rows.json")
        mp.spawn(worker, args=(P, "file://" + os.path.join(d, "init"), tmp), nprocs=P)
        with open(tmp) as f:
            results += json.load(f)
    stamp = datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
    doc = dict(bench="dist_ras_iterations", torch=torch.__version__,
               date=datetime.datetime.utcnow().isoformat(timespec="seconds"),
               command="python3 bench/dist_ras_iterations.py", results=results)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"dist-ras-iterations-cpu-{stamp}.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    for r in results:
        print(f"P={r['ranks']} {r['partition']:>10}: " +
              " ".join(f"{k}={v}" for k, v in r["iterations"].items()))
    print(path)


if __name__ == "__main__":
    main()
