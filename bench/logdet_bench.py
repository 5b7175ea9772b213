#!/usr/bin/env python3
"""dsla.logdet(A, method="stochastic") against the exact (CHOLMOD) logdet on the CPU: time and
error of the estimate, its standard error and quadrature check, and the gradient (time of
forward + backward, error of the probe gradient against the exact A^-T on the pattern).

Protocol (../shared/BENCHMARKS.md): medians of 5 runs after a warm-up (--reps), one thread
unless --threads; the estimate is deterministic for a fixed seed, so its error is one number
per configuration. JSON under bench/results/ with the command, commit and machine.

    python3 bench/logdet_bench.py [--out bench/results] [--threads 1] [--problems ...]
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
DATA = os.environ.get("DSLA_EXTRA_DATA_DIR", os.path.join(ROOT, "..", "shared", "data"))


def median_time(f, reps=5, warm=1):
    out = None
    for _ in range(warm):
        out = f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def load(spec):
    if spec.endswith(".mtx"):
        return dsla.read_mtx(os.path.join(DATA, spec))
    return dsla.generate(spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--problems", nargs="*",
                    default=["poisson2d:256", "poisson3d:32", "bcsstk16.mtx"])
    ap.add_argument("--grad-problems", nargs="*", default=["poisson2d:256", "bcsstk16.mtx"])
    ap.add_argument("--configs", nargs="*", default=["32:50", "32:100", "128:100"],
                    help="probes:lanczos_steps")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []

    def rec(**kw):
        rows.append(kw)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in kw.items()), flush=True)

    for spec in args.problems:
        A = load(spec)
        n = A.shape[0]
        t_exact, exact = median_time(lambda: dsla.logdet(A), args.reps)
        exact = float(exact)
        rec(problem=spec, rows=n, nnz=A.nnz, method="exact (auto: CHOLMOD Cholesky)",
            seconds=t_exact, logdet=exact)
        for cfg in args.configs:
            p, m = (int(x) for x in cfg.split(":"))
            t, (est, info) = median_time(lambda: dsla.logdet(
                A, method="stochastic", probes=p, lanczos_steps=m, seed=0, return_info=True),
                args.reps)
            se = float(info.std_error)
            rec(problem=spec, rows=n, nnz=A.nnz, method="stochastic", probes=p, steps=m,
                seconds=t, logdet=float(est), error=float(est) - exact,
                rel_error=(float(est) - exact) / abs(exact), std_error=se,
                z=(float(est) - exact) / se, lanczos_change=float(info.lanczos_change),
                ritz_cond=float(info.ritz_max / info.ritz_min))
        if spec in args.grad_problems:
            w = A.values.clone().requires_grad_()

            def exact_grad():
                w.grad = None
                dsla.logdet(A.with_values(w)).backward()
                return w.grad.clone()

            t_eg, g_exact = median_time(exact_grad, args.reps)
            rec(problem=spec, rows=n, method="exact forward + backward (selected inversion)",
                seconds=t_eg)
            v = A.values.clone().requires_grad_()
            p, m = 32, 50
            for precond in ("jacobi", "amg"):
                def stoch_grad():
                    v.grad = None
                    dsla.logdet(A.with_values(v), method="stochastic", probes=p,
                                lanczos_steps=m, seed=0, grad_precond=precond).backward()
                    return v.grad.clone()

                t_sg, g = median_time(stoch_grad, args.reps)
                cos = float(torch.dot(g, g_exact) / (g.norm() * g_exact.norm()))
                off = A.row != A.col  # (a few decoupled diagonal entries can dominate the norm)
                rec(problem=spec, rows=n, method=f"stochastic forward + backward (CG + {precond},"
                    " rtol 1e-6)", probes=p, steps=m, seconds=t_sg,
                    grad_rel_error=float((g - g_exact).norm() / g_exact.norm()),
                    grad_rel_error_offdiag=float((g - g_exact)[off].norm()
                                                 / g_exact[off].norm()),
                    grad_cosine=cos)

    commit = _meta.commit()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"logdet-stochastic-cpu-{stamp}.json")
    with open(path, "w") as f:
        json.dump({"benchmark": "logdet-stochastic", "command": " ".join(sys.argv),
                   "commit": commit, "machine": platform.node(), "cpus": os.cpu_count(),
                   "threads": args.threads, "torch": torch.__version__,
                   "date": datetime.date.today().isoformat(), "rows": rows}, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
