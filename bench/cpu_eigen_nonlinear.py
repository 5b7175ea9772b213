"""Eigen and nonlinear benchmarks (BENCHMARKS.md protocol, medians of --repeat runs):

  bratu2d:m      -Δu = λ e^u on an m x m grid (poisson2d-sized), λ = 5, Newton with the assembled
                 Jacobian (Solver refactored across steps), rtol 1e-8; also forward + backward
                 (implicit adjoint) of a loss of u w.r.t. λ.
  eigsh:m        k smallest eigenpairs of poisson2d:m by LOBPCG (tol --tol), with and without a
                 preconditioner (jacobi; amg when built).

Usage: python bench/cpu_eigen_nonlinear.py --out bench/results [--device cuda]
       [--bratu 256,1024] [--eig 256,1024] [--k 10] [--repeat 3]
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import warnings

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
import dsla  # noqa: E402


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device, repeat):
    ts, out = [], None
    for _ in range(repeat):
        sync(device)
        t = time.perf_counter()
        out = fn()
        sync(device)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts, out


def bratu(m, device, repeat, lam=5.0):
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
    method = "cholesky" if device == "cpu" else "auto"
    lin = {"method": method}
    t, ts, (u, info) = timed(lambda: dsla.nonlinear_solve(
        F, u0, torch.tensor(lam, device=device), jacobian=J, rtol=1e-8, linear_solver=lin,
        return_info=True), device, repeat)
    lt = torch.tensor(lam, device=device, requires_grad=True)

    def fb():
        u = dsla.nonlinear_solve(F, u0, lt, jacobian=J, rtol=1e-8, linear_solver=lin)
        u.sum().backward()
        return float(lt.grad)
    tfb, tsfb, _ = timed(fb, device, repeat)
    return {"problem": f"bratu2d:{m}", "N": N, "lambda": lam, "method": "newton",
            "linear_solver": method, "time_s": t, "all_s": ts, "iterations": info.iterations,
            "residual_history": info.residual_history, "converged": info.converged,
            "forward_backward_s": tfb, "forward_backward_all_s": tsfb}


def eig(m, k, precond, device, repeat, tol, maxiter):
    A = dsla.poisson2d(m, device=device)
    which = "SA"
    if precond == "shift-invert":  # which="SM": LOBPCG on A⁻¹ through a Cholesky Solver
        which, precond = "SM", None

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return A.eigsh(k, which=which, precond=precond, tol=tol, maxiter=maxiter,
                           solver="cholesky" if which == "SM" else None, return_info=True)
    t, ts, (lam, U, info) = timed(run, device, repeat)
    return {"problem": f"eigsh:poisson2d:{m}", "N": m * m, "k": k, "which": which,
            "precond": precond or ("shift-invert (cholesky)" if which == "SM" else "none"), "tol": tol, "time_s": t, "all_s": ts,
            "iterations": info.iterations, "converged": info.converged,
            "residuals": info.residuals.tolist(), "eigenvalues": lam.cpu().tolist()}


def save(recs, a, f):
    """Rewrites the JSON after every record (a long run that is stopped keeps what it has)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    meta = {"machine": platform.node(), "cpu": platform.processor(), "device": a.device,
            "gpu": torch.cuda.get_device_name() if a.device.startswith("cuda") else None,
            "torch": torch.__version__, "threads": torch.get_num_threads(), "commit": commit,
            "load": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    f.write_text(json.dumps({"meta": meta, "records": recs}, indent=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bratu", default="256")
    ap.add_argument("--eig", default="256")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--maxiter", type=int, default=5000)
    ap.add_argument("--precond", default="none,jacobi,amg,shift-invert")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    recs = []
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    f = out / f"eigen-nonlinear-{a.device.split(':')[0]}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    for m in [int(x) for x in a.bratu.split(",") if x]:
        recs.append(bratu(m, a.device, a.repeat))
        recs[-1]["threads"] = torch.get_num_threads()
        save(recs, a, f)
        print(json.dumps({k: v for k, v in recs[-1].items() if "history" not in k}), flush=True)
    for m in [int(x) for x in a.eig.split(",") if x]:
        for pc in a.precond.split(","):
            try:
                recs.append(eig(m, a.k, None if pc == "none" else pc, a.device, a.repeat, a.tol,
                                a.maxiter))
            except (NotImplementedError, RuntimeError, ValueError) as e:
                print(f"skip precond {pc}: {str(e).splitlines()[0]}", flush=True)
                continue
            save(recs, a, f)
            print(json.dumps({k: v for k, v in recs[-1].items()
                              if k not in ("residuals", "eigenvalues")}), flush=True)
    save(recs, a, f)
    print("wrote", f)


if __name__ == "__main__":
    main()
