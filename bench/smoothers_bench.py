#!/usr/bin/env python3
"""The GPU-parallel smoothers and preconditioners (issue #19 item 7) against Jacobi and the
Chebyshev AMG smoother: PCG on poisson2d / poisson3d with precond jacobi, mc_sgs, dilu, asm, and
AMG-PCG with smoother chebyshev, mc_sgs, dilu — setup + solve time (CUDA events on a GPU,
wall clock on the CPU; median of 3 after a warm-up), iterations, true residual. rtol 1e-8, b = 1,
fp64.

    python3 bench/smoothers_bench.py [--device cuda] [--sizes poisson2d:1024,poisson3d:64]
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


def timed(fn, dev, reps=3):
    fn()  # warm-up (and the coloring / analysis caches of the pattern)
    out = []
    for _ in range(reps):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        r = fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        out.append(time.perf_counter() - t0)
    return statistics.median(out), r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", default="poisson2d:256,poisson3d:32")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    dev = torch.device(a.device)
    rows = []
    for spec in a.sizes.split(","):
        kind, n = spec.split(":")
        A = getattr(dsla, kind)(int(n)).to(dev)
        b = torch.ones(A.shape[0], dtype=torch.float64, device=dev)
        cases = [("cg", p, None) for p in ("jacobi", "mc_sgs", "dilu", "asm")]
        cases += [("cg", "amg", s) for s in ("chebyshev", "mc_sgs", "dilu")]
        for method, pc, sm in cases:
            if pc == "amg":
                def run():
                    H = dsla.amg(A, smoother=sm)
                    return dsla.solve(A, b, method=method, M=H, rtol=1e-8, maxiter=20000,
                                      return_info=True)
            else:
                def run():
                    return dsla.solve(A, b, method=method, precond=pc, rtol=1e-8, maxiter=20000,
                                      return_info=True)
            try:
                t, (x, info) = timed(run, dev)
            except Exception as e:  # noqa: BLE001 — reported, not hidden
                rows.append(dict(problem=spec, device=a.device, method=method, precond=pc,
                                 smoother=sm, error=str(e).splitlines()[0]))
                print(spec, pc, sm, "error:", str(e).splitlines()[0], flush=True)
                continue
            res = float((b - A @ x).norm() / b.norm())
            rows.append(dict(problem=spec, device=a.device, N=A.shape[0], method=method,
                             precond=pc, smoother=sm, iterations=info.iterations,
                             setup_plus_solve_s=t, true_relres=res))
            print(f"{spec:>16} {pc:>7} {sm or '':>9}: {info.iterations:5d} it, {t:.4f} s, "
                  f"relres {res:.1e}", flush=True)
    doc = dict(bench="smoothers_bench", commit=_meta.commit(),
               torch=torch.__version__, host=platform.node(), threads=torch.get_num_threads(),
               gpu=torch.cuda.get_device_name(0) if dev.type == "cuda" else None,
               date=datetime.datetime.utcnow().isoformat(timespec="seconds"),
               command=" ".join(["python3", "bench/smoothers_bench.py"] + sys.argv[1:]),
               results=rows)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"smoothers-{a.device.split(':')[0]}-"
                        + datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(path)


if __name__ == "__main__":
    main()
