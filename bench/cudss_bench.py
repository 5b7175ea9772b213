#!/usr/bin/env python3
"""cuDSS direct solves (BENCHMARKS.md protocol): poisson2d:n Cholesky (and LU / LDLᵀ on request),
fp64, b = 1, on one GPU. Figures, each the median of >= 5 repeats after a warm-up run:

- analysis + factor + solve: a fresh matrix (a new Pattern, so no cached cuDSS analysis) through
  dsla.Solver(A, method=...) and one solve — target <= 0.5 s for poisson2d:1024 Cholesky;
- refactor + solve: Solver.refactor(new values) (numeric phase only) and one solve — target
  <= 0.1 s;
- the same split into setup (analysis + factor) and solve; the true relative residual; the
  solve's iterations (1, or 2 with one step of iterative refinement);
- memory: torch's peak (max_memory_allocated) and the device memory held by the cuDSS factors
  (cudaMemGetInfo before / after; cuDSS allocates outside torch's caching allocator), per DOF;
- a uniform batch: B small poisson2d systems in one cuDSS factorization vs one per member.

Times are wall-clock around torch.cuda.synchronize() (the phases mix host and device work).

    python3 bench/cudss_bench.py --device cuda --out bench/results/gpu/cudss_bench.json
"""
import argparse
import contextlib
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
from dsla import _C  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402


def sync():
    torch.cuda.synchronize()


def timed(fn):
    sync()
    t0 = time.perf_counter()
    out = fn()
    sync()
    return time.perf_counter() - t0, out


def used_bytes():
    free, total = torch.cuda.mem_get_info()
    return total - free


def rel_residual(A, x, b):
    r = b - A @ x
    return (r.norm() / b.norm()).item()


@contextlib.contextmanager
def scoped_env(env):
    """Environment variables set for the block, restored after it."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def bench_problem(m, method, reps, results, ordering="auto"):
    N = m * m
    b = torch.ones(N, dtype=torch.float64, device="cuda")
    row = {"problem": "poisson2d:%d" % m, "N": N, "method": method, "dtype": "float64",
           "reps": reps, "ordering": ordering}
    # Warm-up (cuDSS initialisation, runtime kernel compilation), excluded.
    A = dsla.poisson2d(m, device="cuda")
    S = dsla.Solver(A, method=method, ordering=ordering)
    S.solve(b)
    del S, A
    torch.cuda.empty_cache()

    full, setup, solve, iters, resid = [], [], [], [], []
    factor_mem = 0
    torch.cuda.reset_peak_memory_stats()
    for _ in range(reps):
        A = dsla.poisson2d(m, device="cuda")  # a fresh Pattern: the analysis is not cached
        sync()
        before = used_bytes()
        t_setup, S = timed(lambda: dsla.Solver(A, method=method, ordering=ordering))
        t_solve, (x, info) = timed(lambda: S.solve(b, return_info=True))
        factor_mem = max(factor_mem, used_bytes() - before)
        full.append(t_setup + t_solve)
        setup.append(t_setup)
        solve.append(t_solve)
        iters.append(info.iterations)
        resid.append(rel_residual(A, x, b))
        assert info.method == method, info.method
        last_A, last_S = A, S
        del S, A, x
    row["analysis_factor_solve_s"] = statistics.median(full)
    row["analysis_factor_s"] = statistics.median(setup)
    row["solve_s"] = statistics.median(solve)
    row["samples_analysis_factor_solve_s"] = full
    row["solve_iterations"] = iters
    row["relative_residual"] = max(resid)

    # refactor + solve: same pattern, new values each repeat (numeric phase only).
    A, S = last_A, last_S
    vals = A.values.detach()
    ref_full, ref_fac = [], []
    for i in range(reps + 1):
        v = vals * (1.0 + 0.01 * (i + 1))
        t_ref, _ = timed(lambda: S.refactor(v))
        t_solve, (x, info) = timed(lambda: S.solve(b, return_info=True))
        if i == 0:
            continue  # warm-up (first REFACTORIZATION)
        ref_full.append(t_ref + t_solve)
        ref_fac.append(t_ref)
    row["refactor_solve_s"] = statistics.median(ref_full)
    row["refactor_s"] = statistics.median(ref_fac)
    row["samples_refactor_solve_s"] = ref_full
    row["refactor_relative_residual"] = rel_residual(A.with_values(v), x, b)
    row["torch_peak_bytes_per_dof"] = torch.cuda.max_memory_allocated() / N
    row["cudss_factor_bytes_per_dof"] = factor_mem / N
    if method == "cholesky" and m == 1024:
        row["target_analysis_factor_solve_s"] = 0.5
        row["target_refactor_solve_s"] = 0.1
        row["meets_targets"] = (row["analysis_factor_solve_s"] <= 0.5 and
                                row["refactor_solve_s"] <= 0.1)
    del S, A, last_S, last_A
    torch.cuda.empty_cache()
    print(json.dumps({k: v for k, v in row.items() if not k.startswith("samples")}), flush=True)
    results.append(row)


def bench_batch(m, B, method, reps, results):
    """B poisson2d:m systems with perturbed values: one uniform-batch factorization vs B."""
    A0 = dsla.poisson2d(m, device="cuda")
    g = torch.Generator(device="cuda").manual_seed(0)
    scale = 1.0 + 0.1 * torch.rand(B, 1, dtype=torch.float64, device="cuda", generator=g)
    A = A0.with_values(A0.values.detach().unsqueeze(0) * scale)
    b = torch.ones(B, m * m, dtype=torch.float64, device="cuda")
    row = {"problem": "poisson2d:%d x %d" % (m, B), "N": m * m, "batch": B, "method": method}
    for label, env in (("ubatch", "1"), ("per_member", "0")):
        os.environ["DSLA_CUDSS_UBATCH"] = env
        S = dsla.Solver(A, method=method)
        S.solve(b)  # warm-up
        ts, rs = [], []
        for i in range(reps):
            t_ref, _ = timed(lambda: S.refactor(A.values * (1.0 + 0.01 * i)))
            t_sol, x = timed(lambda: S.solve(b))
            ts.append(t_ref + t_sol)
        rs = rel_residual(A.with_values(A.values * (1.0 + 0.01 * (reps - 1))), x, b)
        row[label + "_refactor_solve_s"] = statistics.median(ts)
        row[label + "_relative_residual"] = rs
        del S
    os.environ.pop("DSLA_CUDSS_UBATCH", None)
    print(json.dumps(row), flush=True)
    results.append(row)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda", choices=["cuda"])
    ap.add_argument("--out", default=os.environ.get("OUT", "bench/results/gpu"),
                    help="JSON file to write (or a folder: cudss_bench.json inside)")
    ap.add_argument("--sizes", default="256,1024")
    ap.add_argument("--methods", default="cholesky,lu")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--orderings", default="auto,cudss,nd,amd,metis",
                    help="fill-reducing orderings tried for Cholesky at the largest size "
                         "('cudss': 'auto' with DSLA_CUDSS_ORDERING=cudss, i.e. cuDSS's own "
                         "reordering instead of dsla's nested dissection)")
    ap.add_argument("--nd-levels", default="",
                    help="comma list: also time Cholesky with cuDSS's own reordering at the "
                         "largest size with DSLA_CUDSS_ND_LEVELS set to each value (its ND levels)")
    ap.add_argument("--batch", default="32:64", help="m:B for the uniform-batch figure ('' = none)")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("cudss_bench: no CUDA device; nothing to do")
        return 0
    if not dict(_C.features).get("cudss", False):
        print("cudss_bench: dsla built without cuDSS:", dict(_C.build_info).get("cudss"))
        return 0
    out = args.out
    if not out.endswith(".json"):
        os.makedirs(out, exist_ok=True)
        out = os.path.join(out, "cudss_bench.json")
    elif os.path.dirname(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
    props = torch.cuda.get_device_properties(0)
    doc = {
        "machine": {"gpu": props.name, "memory_GiB": props.total_memory / 2**30,
                    "torch": torch.__version__, "cuda": torch.version.cuda,
                    "cudss": dict(_C.build_info).get("cudss_version"), "host": platform.node()},
        "commit": _meta.commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "protocol": "wall clock around cuda synchronize, warm-up excluded, median of >= 5; fp64; "
                    "b = 1; fresh Pattern per analysis+factor+solve repeat",
        "direct": [], "batched": [],
    }
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for m in sizes:
        for method in [s for s in args.methods.split(",") if s]:
            orderings = ["auto"]
            if method == "cholesky" and m == max(sizes):
                orderings = [o for o in args.orderings.split(",") if o] or ["auto"]
            runs = [(o, None) for o in orderings]
            if method == "cholesky" and m == max(sizes) and args.nd_levels:
                # cuDSS's own nested dissection at each level count: its reordering, not dsla's
                # ordering (which sets the levels itself).
                runs += [("cudss", int(v)) for v in args.nd_levels.split(",") if v]
            for ordering, lv in runs:
                env = {"DSLA_CUDSS_ORDERING": "cudss"} if ordering == "cudss" else {}
                if lv is not None:
                    env["DSLA_CUDSS_ND_LEVELS"] = str(lv)
                try:
                    with scoped_env(env):
                        bench_problem(m, method, max(5, args.reps), doc["direct"],
                                      "auto" if ordering == "cudss" else ordering)
                    doc["direct"][-1]["ordering"] = ordering
                    if lv is not None:
                        doc["direct"][-1]["nd_levels"] = lv
                except Exception as e:  # noqa: BLE001 -- record and go on
                    print("cudss_bench: poisson2d:%d %s (%s) failed: %s" % (m, method, ordering, e),
                          flush=True)
                    doc["direct"].append({"problem": "poisson2d:%d" % m, "method": method,
                                          "ordering": ordering, "nd_levels": lv, "error": str(e)})
    if args.batch:
        m, B = (int(s) for s in args.batch.split(":"))
        try:
            bench_batch(m, B, "cholesky", max(5, args.reps), doc["batched"])
        except Exception as e:  # noqa: BLE001
            print("cudss_bench: batched failed: %s" % e, flush=True)
            doc["batched"].append({"error": str(e)})
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
