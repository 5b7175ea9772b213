#!/usr/bin/env python3
"""Candidates for the solver presets (src/solve/presets.cpp), per problem class, on the CPU:
iterations, setup and solve time, converged or not, at rtol 1e-8 with b = 1 (b = A·1 for files),
maxiter 5000, fp64, median time of 3 runs. The *-cpu presets are the fastest candidate that
converges on every problem of its class; iteration counts inform the *-gpu ones (no GPU in the
session that chose them: see the bench note in presets.cpp).

    python3 bench/presets_bench.py [--out bench/results] [--threads 2] [--quick]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
DATA = [os.path.join(ROOT, "data"), os.path.join(ROOT, "..", "shared", "data")]


def mtx(name):
    for d in DATA:
        p = os.path.join(d, name + ".mtx")
        if os.path.exists(p):
            return dsla.read_mtx(p)
    return None


def shifted(n, sigma):
    """A symmetric indefinite Helmholtz-like matrix: the 2-D Laplacian minus sigma·I."""
    P = dsla.poisson2d(n)
    return P - dsla.eye(P.shape[0], dtype=torch.float64) * sigma


def saddle(n):
    """A Stokes-like saddle point [[L, B], [Bᵀ, 0]]: L the 2-D Laplacian on n², B a
    divergence-like operator to (n/2)² pressure cells; a zero diagonal block."""
    L = dsla.poisson2d(n).to_dense()
    m = n // 2
    B = torch.zeros(n * n, m * m, dtype=torch.float64)
    for i in range(m):
        for j in range(m):
            c = i * m + j
            for di in (0, 1):
                for dj in (0, 1):
                    r = (2 * i + di) * n + (2 * j + dj)
                    B[r, c] = 1.0 if di == dj else -1.0
    K = torch.zeros(n * n + m * m, n * n + m * m, dtype=torch.float64)
    K[:n * n, :n * n] = L
    K[:n * n, n * n:] = B
    K[n * n:, :n * n] = B.T
    return dsla.SparseTensor.from_dense(K)


CLASSES = {
    "spd": {
        "problems": ["poisson2d:256", "poisson3d:32", "aniso2d:256:1e-3", "mtx:bcsstk08",
                     "mtx:bcsstk13", "mtx:gr_30_30", "mtx:494_bus"],
        "candidates": [("cg", "amg", 30), ("cg", "ic0", 30), ("cg", "jacobi", 30)],
    },
    "general": {
        "problems": ["convdiff2d:256:1", "mtx:sherman5", "mtx:orsirr_1", "mtx:hor_131",
                     "mtx:watt_2", "mtx:cage8", "mtx:young1c"],
        "candidates": [("gmres", "ilu0", 30), ("gmres", "ilu0", 50), ("bicgstab", "ilu0", 30),
                       ("gmres", "jacobi", 50), ("bicgstab", "jacobi", 30)],
    },
    "indefinite": {
        "problems": ["shifted:64:0.05", "shifted:128:0.02", "mtx:sherman1", "saddle:32",
                     "mtx:bcsstk13-shift"],
        "candidates": [("minres", "jacobi", 30), ("minres", "none", 30), ("gmres", "ilu0", 50),
                       ("bicgstab", "ilu0", 30), ("gmres", "jacobi", 50)],
    },
    "convection": {
        "problems": ["convdiff2d:256:100", "convdiff2d:256:1000", "convdiff2d:256:10000",
                     "convdiff2d:128:1000"],
        "candidates": [("gmres", "ilu0", 30), ("gmres", "ilu0", 50), ("gmres", "ilu0", 100),
                       ("bicgstab", "ilu0", 30), ("gmres", "jacobi", 100),
                       ("bicgstab", "jacobi", 30)],
    },
}


def problem(spec):
    if spec.startswith("mtx:"):
        name = spec[4:]
        if name.endswith("-shift"):
            A = mtx(name[:-6])
            if A is None:
                return None, None
            # Shifted into the spectrum: indefinite, same pattern (diagonal minus 1e-2 max|a|).
            d = A.diagonal()
            I = dsla.diag(torch.full_like(d, float(A.values.abs().max()) * 1e-2))
            A = A - I
        else:
            A = mtx(name)
        if A is None:
            return None, None
        return A, A @ torch.ones(A.shape[1], dtype=A.dtype)
    if spec.startswith("shifted:"):
        _, n, s = spec.split(":")
        A = shifted(int(n), float(s) * 8)  # sigma relative to the Laplacian's max (8)
        return A, torch.ones(A.shape[0], dtype=torch.float64)
    if spec.startswith("saddle:"):
        A = saddle(int(spec.split(":")[1]))
        return A, torch.ones(A.shape[0], dtype=torch.float64)
    A = dsla.generate(spec)
    return A, torch.ones(A.shape[0], dtype=A.dtype)


def run(A, b, method, precond, restart, reps):
    times, info, setup = [], None, []
    for _ in range(reps):
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                S = dsla.Solver(A, method=method, precond=precond, restart=restart, rtol=1e-8,
                                maxiter=5000)
                t1 = time.perf_counter()
                _, info = S.solve(b, return_info=True)
        except Exception as e:  # a preconditioner that cannot be built for this matrix
            return {"error": f"{type(e).__name__}: {str(e)[:160]}"}
        t2 = time.perf_counter()
        setup.append(t1 - t0)
        times.append(t2 - t0)
    return {"iterations": info.iterations, "converged": bool(info.converged),
            "residual": info.residual, "status": info.status,
            "setup_s": statistics.median(setup), "total_s": statistics.median(times)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--classes", default=",".join(CLASSES))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    commit = _meta.commit()
    rows = []
    for cls in args.classes.split(","):
        c = CLASSES[cls]
        for spec in c["problems"]:
            A, b = problem(spec)
            if A is None:
                print(f"{cls:<11} {spec:<22} (matrix not found)", flush=True)
                continue
            for method, precond, restart in c["candidates"]:
                r = run(A, b, method, precond, restart, args.reps)
                r.update(cls=cls, problem=spec, rows=A.shape[0], nnz=A.nnz, method=method,
                         precond=precond, restart=restart)
                rows.append(r)
                what = f"{method}({restart})" if method == "gmres" else method
                if "error" in r:
                    print(f"{cls:<11} {spec:<22} {what:<10} {precond:<7} {r['error']}",
                          flush=True)
                else:
                    print(f"{cls:<11} {spec:<22} {what:<10} {precond:<7} it {r['iterations']:>5} "
                          f"{'ok ' if r['converged'] else 'NO '} {r['status']:<14} setup "
                          f"{r['setup_s']:.3f} s total {r['total_s']:.3f} s", flush=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"presets-cpu-{stamp}.json")
    with open(path, "w") as f:
        json.dump({"command": " ".join(sys.argv), "commit": commit, "machine": platform.node(),
                   "cpus": os.cpu_count(), "threads": args.threads, "rtol": 1e-8,
                   "maxiter": 5000, "rows": rows}, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
