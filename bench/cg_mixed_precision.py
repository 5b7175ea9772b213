#!/usr/bin/env python3
"""Mixed-precision Jacobi-CG (issue #17 item 3): float32 matrix values with float64 vectors (every
product and sum in float64; ``dsla.solve(A32, b64)``), against pure float64 and pure float32
(float32 vectors, float64 dot products), at rtol 1e-6 and 1e-10. Per run: solve time (median of
``--repeats`` after a warm-up; CUDA: synchronized wall clock), time per iteration, iterations,
the true relative residual ‖b − A x‖ / ‖b‖ in float64 against the matrix solved (the float32
values widened) and against the float64 matrix as given (the float32 matrix is that one rounded:
exact for the stencils, not for a matrix read from a file: there mixed precision solves a
nearby matrix to rtol, and the distance shows in the second residual),
and on CUDA the peak memory from before the matrix exists to the end of the solve, per DOF
(the matrix is generated or read in its own dtype).

    python3 bench/cg_mixed_precision.py [--device cuda] [--sizes poisson2d:1024,bcsstk09]
"""
import argparse
import gc
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import dsla  # noqa: E402
import _meta  # noqa: E402

# (matrix dtype, vector dtype) of each variant.
VARIANTS = {"float64": (torch.float64, torch.float64),
            "mixed": (torch.float32, torch.float64),
            "float32": (torch.float32, torch.float32)}


def data_dir():
    env = os.environ.get("DSLA_DATA_DIR")
    return env if env else os.path.join(_meta.ROOT, "..", "shared", "data")


def make(spec, dtype, dev):
    if ":" in spec:
        kind, n = spec.split(":")
        return getattr(dsla, kind)(int(n), dtype=dtype, device=dev)
    return dsla.read_mtx(os.path.join(data_dir(), spec + ".mtx")).to(device=dev, dtype=dtype)


def true_residual(A64, b64, x):
    return ((b64 - A64 @ x.to(torch.float64)).norm() / b64.norm()).item()


def measure(spec, dev, variant, rtol, repeats, maxiter):
    mdt, vdt = VARIANTS[variant]
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    A = make(spec, mdt, dev)
    b = torch.ones(A.shape[0], dtype=vdt, device=dev)
    kw = dict(method="cg", precond="jacobi", rtol=rtol, maxiter=maxiter, return_info=True)
    dsla.solve(A, b, **kw)  # warm-up
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        x, info = dsla.solve(A, b, **kw)
        sync()
        times.append(time.perf_counter() - t0)
    row = dict(problem=spec, device=str(dev), variant=variant, matrix_dtype=str(mdt)[6:],
               vector_dtype=str(vdt)[6:], rtol=rtol, n=A.shape[0], nnz=A.nnz,
               index_dtype=str(A.index_dtype)[6:], solve_s=statistics.median(times),
               iterations=info.iterations, converged=bool(info.converged),
               recurrence_residual=info.residual, threads=torch.get_num_threads())
    row["ms_per_iteration"] = 1e3 * row["solve_s"] / max(info.iterations, 1)
    if cuda:
        row["peak_bytes_per_dof"] = (torch.cuda.max_memory_allocated() - base) / A.shape[0]
    b64 = b.to(torch.float64)
    # Against the matrix solved (the float32 values widened: exact) and the float64 one given.
    row["true_residual_stored"] = true_residual(A.to(dtype=torch.float64), b64, x)
    del A
    row["true_residual"] = true_residual(make(spec, torch.float64, dev), b64, x)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", default="poisson2d:256,bcsstk09")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--maxiter", type=int, default=100000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    dev = torch.device(a.device)
    doc = _meta.header("cg_mixed_precision", cuda=dev.type == "cuda")
    doc["results"] = rows = []
    path = None
    for spec in a.sizes.split(","):
        for rtol in (1e-6, 1e-10):
            its = {}
            for variant in VARIANTS:
                # float32 vectors stagnate far above these tolerances (the warning says so):
                # capped at twice float64's iterations, which is enough to show where.
                cap = a.maxiter if variant != "float32" else min(a.maxiter, 2 * its["float64"])
                r = measure(spec, dev, variant, rtol, a.repeats, cap)
                its[variant] = r["iterations"]
                rows.append(r)
                print(f"{spec:>15} rtol {rtol:.0e} {variant:>7}: {r['solve_s']:.4f} s, "
                      f"{r['iterations']} it, {r['ms_per_iteration']:.4f} ms/it, true res "
                      f"{r['true_residual_stored']:.1e} (vs float64 A {r['true_residual']:.1e})"
                      + (f", {r['peak_bytes_per_dof']:.0f} B/DOF" if "peak_bytes_per_dof" in r
                         else ""), flush=True)
                # Written after every run: a run cut short by a time limit keeps what it had.
                if path and os.path.exists(path):
                    os.remove(path)
                path = _meta.write(doc, a.out, f"cg-mixed-{dev.type}")

if __name__ == "__main__":
    main()
