#!/usr/bin/env python3
"""Costs of issue #19's structure, partition and configuration features on the CPU (median of
5 after a warm-up; one thread unless --threads): connected components (first call, then the
cached call) against scipy.sparse.csgraph, split_components, is_positive_definite against the
Cholesky solve it builds on, detect_matrix_type, RCB / Hilbert partitions, and what a
dsla.config scope adds to a solve call.

    python3 bench/structure_bench.py [--out bench/results] [--threads 1]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")


def median_time(f, reps=5, warm=1):
    for _ in range(warm):
        f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []

    def rec(what, problem, seconds, **kw):
        rows.append(dict(what=what, problem=problem, seconds=seconds, **kw))
        extra = " ".join(f"{k}={v}" for k, v in kw.items())
        print(f"{what:<34} {problem:<26} {seconds * 1e3:10.3f} ms  {extra}", flush=True)

    # Components: fresh patterns (first call computes), then the cached call.
    import scipy.sparse.csgraph as csgraph

    for spec in ("poisson2d:1024", "poisson3d:64"):
        A = dsla.generate(spec)
        S = A.to_scipy()
        for conn in ("weak", "strong"):
            firsts = []
            for _ in range(3):
                B = dsla.SparseTensor.from_csr(A.crow.clone(), A.col.clone(), A.values, A.shape)
                t = time.perf_counter()
                dsla.connected_components(B, connection=conn)
                firsts.append(time.perf_counter() - t)
            rec(f"connected_components {conn} (first)", spec, statistics.median(firsts),
                rows=A.shape[0], nnz=A.nnz)
            rec(f"connected_components {conn} (cached)", spec,
                median_time(lambda: dsla.connected_components(A, connection=conn)))
            rec(f"scipy connected_components {conn}", spec,
                median_time(lambda: csgraph.connected_components(S, connection=conn)))
    # Split: 1000 blocks of 100 rows (a batch of independent poisson2d:10 problems).
    blocks = [dsla.poisson2d(10)] * 1000
    row = torch.cat([b.row.long() + 100 * i for i, b in enumerate(blocks)])
    col = torch.cat([b.col.long() + 100 * i for i, b in enumerate(blocks)])
    val = torch.cat([b.values for b in blocks])
    perm = torch.randperm(100000, generator=torch.Generator().manual_seed(0))
    M = dsla.SparseTensor(val, perm[row], perm[col], (100000, 100000))
    rec("split_components", "1000 x poisson2d:10 shuffled", median_time(
        lambda: dsla.split_components(M)), blocks=len(dsla.split_components(M)))
    # Definiteness against the Cholesky factorization + solve it builds on.
    for spec in ("poisson2d:256", "poisson2d:512", "poisson3d:32"):
        A = dsla.generate(spec)
        b = torch.ones(A.shape[0], dtype=torch.float64)
        rec("is_positive_definite", spec, median_time(lambda: dsla.is_positive_definite(A)))
        rec("is_positive_definite (not SPD)", spec,
            median_time(lambda: dsla.is_positive_definite(-A)))
        rec("detect_matrix_type", spec, median_time(lambda: dsla.detect_matrix_type(A)))
        rec("detect_matrix_type definite=False", spec,
            median_time(lambda: dsla.detect_matrix_type(A, definite=False)))
        rec("solve cholesky (reference)", spec,
            median_time(lambda: dsla.solve(A, b, method="cholesky")))
    A = dsla.generate("poisson2d:48")
    rec("is_positive_definite dense", "poisson2d:48", median_time(
        lambda: dsla.is_positive_definite(A, factorization="dense")))
    # Partitions.
    g = torch.Generator().manual_seed(1)
    for n, d in ((1 << 20, 2), (1 << 18, 3)):
        pts = torch.rand(n, d, generator=g, dtype=torch.float64)
        for P in (8, 64):
            rec("partition rcb", f"{n} random points, d={d}", median_time(
                lambda: dsla.distributed.partition("rcb", P, coords=pts)), parts=P)
            rec("partition hilbert", f"{n} random points, d={d}", median_time(
                lambda: dsla.distributed.partition("hilbert", P, coords=pts)), parts=P)
    # What a config scope adds to a call (a 4-row solve: the call overhead dominates).
    A = dsla.poisson2d(2)
    b = torch.ones(4, dtype=torch.float64)
    plain = median_time(lambda: dsla.solve(A, b, method="cg"), reps=2001, warm=50)
    with dsla.config(rtol=1e-10, precond="jacobi"):
        scoped = median_time(lambda: dsla.solve(A, b, method="cg"), reps=2001, warm=50)
    rec("solve 4 rows, no config scope", "poisson2d:2", plain)
    rec("solve 4 rows, in a config scope", "poisson2d:2", scoped, added_us=(scoped - plain) * 1e6)

    commit = _meta.commit()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"structure-cpu-{stamp}.json")
    with open(path, "w") as f:
        json.dump({"benchmark": "structure", "command": " ".join(sys.argv), "commit": commit,
                   "machine": platform.node(), "cpus": os.cpu_count(), "threads": args.threads,
                   "rows": rows}, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
