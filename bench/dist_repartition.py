#!/usr/bin/env python3
"""Repartitioning without gathering the matrix (issue #15 item 4): from a random and a
contiguous start, dsla.distributed.repartition (local heavy-edge matching, the coarse graph
gathered, METIS, projected back, rows moved) against METIS on the fine graph — entries cut,
imbalance, coarse size, time. Spawned Gloo ranks, one thread each.

    python3 bench/dist_repartition.py [--problem poisson2d:256] [--ranks 2,4] [--rounds 3]
"""
import argparse
import datetime
import json
import os
import platform
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


def worker(rank, P, init, spec, rounds, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=P)
    kind, n = spec.split(":")
    G = getattr(dsla, kind)(int(n))
    N = G.shape[0]
    rows = []
    for start, parts in (("random", torch.randint(P, (N,), generator=torch.Generator().manual_seed(1))),
                         ("contiguous", "contiguous")):
        A = dsla.distributed.from_global(G, partition=parts)
        dist.barrier()
        t0 = time.perf_counter()
        B, rep = dsla.distributed.repartition(A, rounds=rounds)
        dist.barrier()
        t = time.perf_counter() - t0
        M = dsla.distributed.from_global(G, partition="metis")
        q = M.partition_quality()
        rows.append(dict(problem=spec, ranks=P, start=start, rounds=rep["rounds"],
                         coarse_rows=rep["coarse_rows"], seconds=t, before=rep["before"],
                         after=rep["after"], fine_metis=q))
    if rank == 0:
        with open(out, "w") as f:
            json.dump(rows, f)
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="poisson2d:256")
    ap.add_argument("--ranks", default="2,4")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    results = []
    for P in [int(p) for p in a.ranks.split(",")]:
        d = tempfile.mkdtemp()
        tmp = os.path.join(d, "rows.json")
        mp.spawn(worker, args=(P, "file://" + os.path.join(d, "init"), a.problem, a.rounds, tmp),
                 nprocs=P)
        with open(tmp) as f:
            results += json.load(f)
    for r in results:
        print(f"{r['problem']} P={r['ranks']} from {r['start']:>10}: cut {r['before']['cut_entries']}"
              f" -> {r['after']['cut_entries']} (fine METIS {r['fine_metis']['cut_entries']}), "
              f"imbalance {r['after']['imbalance']:.3f}, coarse {r['coarse_rows']} rows, "
              f"{r['seconds']:.2f} s")
    doc = dict(bench="dist_repartition", commit=_meta.commit(), torch=torch.__version__,
               host=platform.node(), cpus=os.cpu_count(),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               command=" ".join(["python3", "bench/dist_repartition.py"] + sys.argv[1:]),
               results=results)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "dist-repartition-cpu-" +
                        datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
                        + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(path)


if __name__ == "__main__":
    main()
