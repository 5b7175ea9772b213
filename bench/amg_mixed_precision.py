#!/usr/bin/env python3
"""Mixed-precision AMG (issue #17 item 3): AMG-PCG with float32 levels and smoothers
(``precond_dtype=torch.float32``) inside a float64 CG, against the float64 hierarchy, at the same
true relative residual (rtol 1e-6 and 1e-10): setup and solve time (median of 5 after a
warm-up; CUDA: synchronized wall clock), iterations, true residual, and on CUDA the peak memory
from before the matrix exists to the end of the solve, per DOF. b = 1, x0 = 0.

    python3 bench/amg_mixed_precision.py [--device cuda] [--sizes poisson2d:1024,poisson3d:64]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402
from _amg_timing import timed_amg_pcg  # noqa: E402


def measure(spec, dev, level_dtype, rtol):
    kind, n = spec.split(":")
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    opts = {} if level_dtype == torch.float64 else dict(precond_dtype=level_dtype)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    A = getattr(dsla, kind)(int(n)).to(dev)
    b = torch.ones(A.shape[0], dtype=torch.float64, device=dev)
    setups, solves, H, info = timed_amg_pcg(A, b, lambda: dsla.amg(A, **opts), rtol, 5, sync)
    row = dict(problem=spec, device=str(dev), levels=str(level_dtype).replace("torch.", ""),
               rtol=rtol, n=A.shape[0], setup_s=statistics.median(setups),
               solve_s=statistics.median(solves), iterations=info.iterations,
               residual=info.residual, threads=torch.get_num_threads())
    row["total_s"] = row["setup_s"] + row["solve_s"]
    if cuda:
        row["peak_bytes_per_dof"] = (torch.cuda.max_memory_allocated() - base) / A.shape[0]
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", default="poisson2d:1024,poisson3d:64")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    dev = torch.device(a.device)
    rows = []
    for spec in a.sizes.split(","):
        for rtol in (1e-6, 1e-10):
            for dt in (torch.float64, torch.float32):
                rows.append(measure(spec, dev, dt, rtol))
                r = rows[-1]
                print(f"{spec:>15} rtol {rtol:.0e} {r['levels']:>7} levels: setup "
                      f"{r['setup_s']:.3f} s + solve {r['solve_s']:.3f} s = {r['total_s']:.3f} s, "
                      f"{r['iterations']} it, res {r['residual']:.1e}"
                      + (f", {r['peak_bytes_per_dof']:.0f} B/DOF" if "peak_bytes_per_dof" in r
                         else ""), flush=True)
    doc = dict(bench="amg_mixed_precision", commit=_meta.commit(), torch=torch.__version__,
               host=platform.node(), cpus=os.cpu_count(),
               gpu=torch.cuda.get_device_name(0) if dev.type == "cuda" else None,
               date=datetime.datetime.utcnow().isoformat(timespec="seconds"),
               command=" ".join(["python3", "bench/amg_mixed_precision.py"] + sys.argv[1:]),
               results=rows)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"amg-mixed-{dev.type}-"
                        + datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(path)


if __name__ == "__main__":
    main()
