#!/usr/bin/env python3
"""The figures that guard a refactoring (issue "One algorithm per method", item 6), through the
public API only, so that the same script measures the tree before and after a change:

  CUDA: CG + Jacobi per iteration on poisson2d:1024 and :4096 (fixed iteration count), AMG-PCG
        poisson2d:4096 setup + solve (rtol 1e-6), SpMV poisson2d:4096 (A @ x).
  CPU:  CG + Jacobi per iteration and AMG-PCG setup + solve on poisson2d:1024.

Protocol of BENCHMARKS.md: warm-up first, median of >= 5 repeats (CUDA events on the GPU),
b = 1, x0 = 0, fp64, true relative residual reported. One JSON per run:

    python3 bench/refactor_bench.py --label before --out bench/results [--device cuda|cpu|all]
    python3 bench/refactor_bench.py --compare before.json after.json   # the > 3 % check
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


class Timer:
    """Wall seconds of a call; on CUDA, between CUDA events (the device's own clock)."""

    def __init__(self, device):
        self.cuda = device == "cuda"

    def __call__(self, fn):
        if self.cuda:
            torch.cuda.synchronize()
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            out = fn()
            e.record()
            e.synchronize()
            return s.elapsed_time(e) / 1e3, out
        t = time.perf_counter()
        out = fn()
        return time.perf_counter() - t, out


def true_relres(A, x, b):
    r = b - A @ x
    return float(torch.linalg.vector_norm(r) / torch.linalg.vector_norm(b))


def matrix(n, device):
    A = dsla.poisson2d(n)
    return A.to(device) if device != "cpu" else A


def cg_per_iteration(n, device, iters, reps):
    A = matrix(n, device)
    b = torch.ones(A.shape[0], dtype=torch.float64, device=device)
    S = dsla.Solver(A, method="cg", precond="jacobi", rtol=1e-30, maxiter=iters)
    timer = Timer(device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S.solve(b)  # warm-up: plans, graphs, allocator
        ts, its = [], []
        for _ in range(reps):
            t, (x, info) = timer(lambda: S.solve(b, return_info=True))
            ts.append(t / info.iterations)
            its.append(int(info.iterations))
    return {"case": "cg_jacobi_per_iteration", "problem": "poisson2d:%d" % n, "device": device,
            "N": A.shape[0], "nnz": A.nnz, "iterations": its[0], "time_per_iteration_s":
            statistics.median(ts), "all_s": ts, "true_relres": true_relres(A, x, b)}


def amg_pcg(n, device, reps, rtol=1e-6):
    A = matrix(n, device)
    b = torch.ones(A.shape[0], dtype=torch.float64, device=device)
    timer = Timer(device)
    run = lambda: dsla.solve(A, b, method="cg", precond="amg", rtol=rtol, return_info=True)  # noqa
    run()  # warm-up
    ts, its = [], []
    for _ in range(reps):
        t, (x, info) = timer(run)
        ts.append(t)
        its.append(int(info.iterations))
    out = {"case": "amg_pcg_setup_plus_solve", "problem": "poisson2d:%d" % n, "device": device,
           "N": A.shape[0], "nnz": A.nnz, "rtol": rtol, "iterations": its[0],
           "time_s": statistics.median(ts), "all_s": ts, "true_relres": true_relres(A, x, b)}
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        run()
        out["peak_bytes_per_dof_beyond_inputs"] = (torch.cuda.max_memory_allocated() - base) / A.shape[0]
    return out


def spmv(n, device, reps):
    A = matrix(n, device)
    x = torch.rand(A.shape[0], dtype=torch.float64, device=device)
    timer = Timer(device)
    for _ in range(3):
        A @ x
    ts = []
    inner = 20 if device == "cuda" else 3
    for _ in range(reps):
        t, _ = timer(lambda: [A @ x for _ in range(inner)])
        ts.append(t / inner)
    return {"case": "spmv", "problem": "poisson2d:%d" % n, "device": device, "N": A.shape[0],
            "nnz": A.nnz, "time_s": statistics.median(ts), "all_s": ts}


def run(args):
    cases = []
    devices = ["cuda", "cpu"] if args.device == "all" else [args.device]
    for dev in devices:
        if dev == "cuda":
            if not torch.cuda.is_available():
                print("refactor_bench: no CUDA device; CUDA cases skipped", file=sys.stderr)
                continue
            steps = [lambda: cg_per_iteration(1024, "cuda", 2000, args.reps),
                     lambda: cg_per_iteration(4096, "cuda", 500, args.reps),
                     lambda: amg_pcg(4096, "cuda", args.reps),
                     lambda: spmv(4096, "cuda", args.reps)]
        else:
            steps = [lambda: cg_per_iteration(1024, "cpu", 200, args.reps),
                     lambda: amg_pcg(1024, "cpu", args.reps)]
        for step in steps:
            c = step()
            print(json.dumps({k: v for k, v in c.items() if k != "all_s"}), flush=True)
            cases.append(c)
    doc = {"bench": "refactor_guard", "label": args.label, "commit": _meta.commit(),
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": {"host": platform.node(), "cpu_threads": torch.get_num_threads(),
                       "torch": torch.__version__,
                       "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
           "cases": cases}
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(args.out, "refactor-%s-%s-%s.json" % (args.device, args.label, stamp))
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", path)


def key(c):
    return (c["case"], c["problem"], c["device"])


def figure(c):
    return c.get("time_per_iteration_s", c.get("time_s"))


def compare(before, after, limit):
    b = {key(c): c for c in json.load(open(before))["cases"]}
    a = {key(c): c for c in json.load(open(after))["cases"]}
    worse = 0
    print("| case | problem | device | before | after | change |")
    print("|---|---|---|---|---|---|")
    for k in b:
        if k not in a:
            continue
        fb, fa = figure(b[k]), figure(a[k])
        ch = fa / fb - 1
        flag = " **regression**" if ch > limit else ""
        worse += ch > limit
        print("| %s | %s | %s | %.4g s | %.4g s | %+.1f %%%s |" % (k + (fb, fa, 100 * ch, flag)))
    return worse


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--label", default="run")
    ap.add_argument("--device", default="all", choices=["all", "cuda", "cpu"])
    ap.add_argument("--out", default=os.environ.get("OUT", "bench/results"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    ap.add_argument("--limit", type=float, default=0.03)
    args = ap.parse_args()
    if args.compare:
        sys.exit(1 if compare(*args.compare, args.limit) else 0)
    run(args)


if __name__ == "__main__":
    main()
