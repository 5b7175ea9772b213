"""Eigen and nonlinear benchmarks (BENCHMARKS.md protocol), CPU or CUDA:

  bratu2d:m      -Δu = λ e^u on an m x m grid (poisson2d-sized), λ = 5, Newton with the assembled
                 Jacobian, rtol 1e-8, inner solver as dsla picks it (--linear auto: direct where
                 the build has a backend for the device, else CG + AMG; recorded), the Solver
                 refactored across steps; also forward + backward (implicit adjoint) w.r.t. λ.
  eigsh:m        k = 10 smallest eigenpairs of poisson2d:m by LOBPCG (tol --tol, maxiter cap
                 --maxiter so nothing hangs), preconditioners from --precond: none, jacobi, amg,
                 shift-invert (which="SM": LOBPCG on A⁻¹ through the default inner solver).

Timing: a short warm-up run on CUDA (Newton: one step; LOBPCG: 3 iterations), then medians of up to --repeat runs; repeats stop once one
configuration has used --budget seconds (the record says how many ran). CUDA: events around
each run, peak device memory per DOF. Results: JSON (meta + one record per configuration),
rewritten after every record.

Usage: python bench/eigen_nonlinear_bench.py --device cpu|cuda --out DIR_OR_FILE.json
       [--bratu 256,1024] [--eig 256,1024] [--precond none,jacobi,amg] [--k 10]
       [--repeat 5] [--budget 60] [--maxiter 3000]
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time
import warnings

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402


def timed(fn, device, repeat, budget, warmup=None):
    """(median seconds, all runs, last result); CUDA: events, warmup() (a short run) first."""
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        if warmup is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                warmup()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    ts, out, spent = [], None, 0.0
    for _ in range(repeat):
        if cuda:
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
            out = fn()
            e1.record()
            torch.cuda.synchronize()
            ts.append(e0.elapsed_time(e1) / 1e3)
        else:
            t = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t)
        spent += ts[-1]
        if spent > budget:
            break
    return statistics.median(ts), ts, out


def peak_bytes_per_dof(device, N):
    if not device.startswith("cuda"):
        return None
    return torch.cuda.max_memory_allocated() / N


def bratu(m, device, a, lam=5.0):
    A = dsla.poisson2d(m, device=device) * float((m + 1) ** 2)
    r = A.row.long()
    dmask = r == A.col.long()
    rd = r[dmask]

    def F(u, lam):
        return A @ u - lam * torch.exp(u)

    def J(u, lam):
        v = A.values.clone()
        v[dmask] = v[dmask] - lam * torch.exp(u[rd])
        return A.with_values(v)

    N = m * m
    u0 = torch.zeros(N, dtype=torch.float64, device=device)
    lin = {"method": a.linear}
    t, ts, (u, info) = timed(lambda: dsla.nonlinear_solve(
        F, u0, torch.tensor(lam, device=device), jacobian=J, rtol=1e-8, linear_solver=lin,
        return_info=True), device, a.repeat, a.budget,
        warmup=lambda: dsla.nonlinear_solve(F, u0, torch.tensor(lam, device=device), jacobian=J,
                                            maxiter=1, linear_solver=lin))
    mem = peak_bytes_per_dof(device, N)
    lt = torch.tensor(lam, device=device, requires_grad=True)

    def fb():
        lt.grad = None
        u = dsla.nonlinear_solve(F, u0, lt, jacobian=J, rtol=1e-8, linear_solver=lin)
        u.sum().backward()
        return lt.grad
    tfb, tsfb, _ = timed(fb, device, a.repeat, a.budget)
    res = float(torch.linalg.vector_norm(F(u, lam)) / torch.linalg.vector_norm(F(u0, lam)))
    return {"problem": f"bratu2d:{m}", "N": N, "lambda": lam, "method": "newton",
            "linear_solver": info.linear_solver, "time_s": t, "all_s": ts,
            "iterations": info.iterations, "linear_iterations": info.linear_iterations,
            "relative_residual": res, "residual_history": info.residual_history,
            "converged": info.converged, "forward_backward_s": tfb,
            "forward_backward_all_s": tsfb, "peak_bytes_per_dof": mem}


def eig(m, pc, device, a):
    A = dsla.poisson2d(m, device=device)
    # "none": plain LOBPCG, named explicitly (precond=None is eigsh's automatic plan now)
    which, precond = ("SM", None) if pc == "shift-invert" else ("SA", pc)

    def run(maxiter=a.maxiter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return A.eigsh(a.k, which=which, precond=precond, tol=a.tol, maxiter=maxiter,
                           return_info=True)
    t, ts, (lam, U, info) = timed(run, device, a.repeat, a.budget, warmup=lambda: run(3))
    return {"problem": f"eigsh:poisson2d:{m}", "N": m * m, "k": a.k, "which": which,
            "precond": pc, "method": info.method, "inner_solver": info.inner_solver, "tol": a.tol,
            "maxiter": a.maxiter, "time_s": t, "all_s": ts, "iterations": info.iterations,
            "converged": info.converged, "ok": info.ok,
            "max_backward_error": float(info.residuals.max()),
            "eigenvalues": lam.cpu().tolist(), "peak_bytes_per_dof": peak_bytes_per_dof(device, m * m)}


def save(recs, a, f):
    commit = _meta.commit()
    meta = {"machine": platform.node(), "cpu": platform.processor(), "device": a.device,
            "gpu": torch.cuda.get_device_name() if a.device.startswith("cuda") else None,
            "torch": torch.__version__, "threads": torch.get_num_threads(), "commit": commit,
            "features": dsla.features, "load": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "args": vars(a)}
    f.write_text(json.dumps({"meta": meta, "records": recs}, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"),
                    help="a directory (a dated file is made in it) or a .json path")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bratu", default="256")
    ap.add_argument("--eig", default="256")
    ap.add_argument("--precond", default="none,jacobi,amg")
    ap.add_argument("--linear", default="auto", help="Newton's linear solver method")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--maxiter", type=int, default=3000, help="LOBPCG iteration cap")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--budget", type=float, default=60.0,
                    help="seconds per configuration after which repeats stop")
    a = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    out = pathlib.Path(a.out)
    if out.suffix == ".json":
        out.parent.mkdir(parents=True, exist_ok=True)
        f = out
    else:
        out.mkdir(parents=True, exist_ok=True)
        f = out / f"eigen-nonlinear-{a.device.split(':')[0]}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    recs = []
    for m in [int(x) for x in a.bratu.split(",") if x]:
        recs.append(bratu(m, a.device, a))
        save(recs, a, f)
        print(json.dumps({k: v for k, v in recs[-1].items() if "history" not in k
                          and k != "linear_iterations"}), flush=True)
    for m in [int(x) for x in a.eig.split(",") if x]:
        for pc in a.precond.split(","):
            try:
                recs.append(eig(m, pc, a.device, a))
            except (NotImplementedError, RuntimeError, ValueError) as e:
                print(f"skip eigsh:poisson2d:{m} precond {pc}: {str(e).splitlines()[0]}",
                      flush=True)
                continue
            save(recs, a, f)
            print(json.dumps({k: v for k, v in recs[-1].items() if k != "eigenvalues"}),
                  flush=True)
    save(recs, a, f)
    print("wrote", f)


if __name__ == "__main__":
    main()
