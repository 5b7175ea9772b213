"""CPU solve benchmarks (BENCHMARKS.md protocol): CG + Jacobi time per iteration on
poisson2d:N with 1 and 2 threads (bytes per iteration vs a copy measured in the same run), and
forward + backward of a differentiable solve against the forward alone (direct and CG).
Writes JSON under bench/results/. Usage: python bench/cpu_solve.py [--n 1024] [--repeat 5]."""
import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402


def copy_gbps(threads):
    torch.set_num_threads(threads)
    a = torch.empty(32 * 2**20, dtype=torch.float64)
    b = torch.empty_like(a)
    b.copy_(a)
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        b.copy_(a)
        ts.append(time.perf_counter() - t)
    return 2 * a.numel() * 8 / statistics.median(ts) / 1e9


def cg_per_iteration(n, threads, iters, repeat):
    torch.set_num_threads(threads)
    A = dsla.poisson2d(n)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    S = dsla.Solver(A, method="cg", precond="jacobi", rtol=1e-30, maxiter=iters)
    S.solve(b)  # warm-up
    ts = []
    for _ in range(repeat):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, info = S.solve(b, return_info=True)
        ts.append(info.solve_time / info.iterations)
    N, nnz = A.shape[0], A.nnz
    # spmv_dot: values + col + crow + p + q; update: x, r (rw), p, q, dinv; direction: p (rw), r, dinv
    bytes_it = nnz * (8 + 4) + (N + 1) * 4 + 2 * N * 8 + 7 * N * 8 + 4 * N * 8
    t = statistics.median(ts)
    return {"threads": threads, "time_per_iteration_s": t, "all_s": ts, "bytes_per_iteration": bytes_it,
            "gbps": bytes_it / t / 1e9, "copy_gbps": copy_gbps(threads)}


def fwd_bwd(n, method, rtol, repeat):
    A = dsla.poisson2d(n)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    fw, fb = [], []
    for _ in range(repeat):
        v = A.values.detach().clone().requires_grad_()
        t = time.perf_counter()
        with torch.no_grad():
            dsla.solve(A.with_values(v), b, method=method, rtol=rtol)
        fw.append(time.perf_counter() - t)
        t = time.perf_counter()
        S = dsla.Solver(A.with_values(v), method=method, rtol=rtol)
        x = S.solve(b)
        x.sum().backward()
        fb.append(time.perf_counter() - t)
    f, g = statistics.median(fw), statistics.median(fb)
    return {"method": method, "n": n, "rtol": rtol, "forward_s": f, "forward_backward_s": g,
            "ratio": g / f}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--grad-n", type=int, default=512)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    a = ap.parse_args()
    res = {"machine": platform.node(), "cpu_count": torch.get_num_threads(),
           "commit": _meta.commit(),
           "problem": f"poisson2d:{a.n}", "cg_jacobi": [], "differentiable": []}
    for th in (1, 2):
        r = cg_per_iteration(a.n, th, a.iters, a.repeat)
        print(f"CG+Jacobi poisson2d:{a.n} threads={th}: {r['time_per_iteration_s']*1e3:.2f} ms/it, "
              f"{r['gbps']:.1f} GB/s (copy {r['copy_gbps']:.1f} GB/s)", flush=True)
        res["cg_jacobi"].append(r)
    torch.set_num_threads(1)
    for method, rtol in (("cholesky", 1e-8), ("cg", 1e-8)):
        r = fwd_bwd(a.grad_n, method, rtol, a.repeat)
        print(f"fwd+bwd / fwd ({method}, poisson2d:{a.grad_n}): {r['ratio']:.2f} "
              f"({r['forward_backward_s']:.3f} s / {r['forward_s']:.3f} s)", flush=True)
        res["differentiable"].append(r)
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"solve-cpu-{time.strftime('%Y%m%d')}.json"
    path.write_text(json.dumps(res, indent=2))
    print("wrote", path)


if __name__ == "__main__":
    main()
