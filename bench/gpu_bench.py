#!/usr/bin/env python3
"""GPU benchmarks of dsla (BENCHMARKS.md protocol): SpMV against cuSPARSE (through torch's CSR
tensors) and the SpMV floor, and CG + Jacobi on poisson2d, with the copy bandwidth measured in the
same run. CUDA events, warm-up first, medians of >= 5 repeats. Writes one JSON file.

    python3 bench/gpu_bench.py --out bench/results/gpu --sizes 1024,4096
"""
import argparse
import datetime
import gc
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


def events_time(fn, reps=5, inner=1, warmup=2):
    """Median seconds per call of fn over `reps` repeats of `inner` calls (CUDA events)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(inner):
            fn()
        e.record()
        e.synchronize()
        ts.append(s.elapsed_time(e) / 1e3 / inner)
    return statistics.median(ts), ts


def copy_bandwidth():
    n = 1 << 28  # 2 GiB of fp64 read + 2 GiB written
    a = torch.empty(n, dtype=torch.float64, device="cuda").fill_(1.0)
    b = torch.empty_like(a)
    t, _ = events_time(lambda: b.copy_(a), reps=7, inner=5)
    del a, b
    torch.cuda.empty_cache()
    return 2 * n * 8 / t


def spmv_bytes(n, nnz, vsize, isize):
    return nnz * (vsize + isize) + (n + 1) * isize + 2 * n * vsize


def bench_spmv(name, A, bw, results, variants=True):
    Ag = A.cuda()
    n, nnz = Ag.shape[0], Ag.nnz
    x = torch.rand(n, dtype=torch.float64, device="cuda")
    y = torch.empty(1, n, 1, dtype=torch.float64, device="cuda")
    floor_b = spmv_bytes(n, nnz, 8, 4)
    row = {"problem": name, "N": n, "nnz": nnz, "floor_bytes": floor_b,
           "floor_ms": floor_b / bw * 1e3, "plan": _C._cuda_spmv_plan(Ag._m)}

    def dsla_fn():
        return Ag @ x

    t, ts = events_time(dsla_fn, reps=7, inner=20)
    row["dsla_ms"] = t * 1e3
    row["dsla_samples_ms"] = [v * 1e3 for v in ts]
    row["dsla_fraction_of_copy_bw"] = floor_b / t / bw
    if variants:
        row["variants_ms"] = {}
        for kind, g in [(0, 1), (0, 2), (0, 4), (0, 8), (0, 32), (1, 1)]:
            _C._cuda_spmv_override(kind, g)
            tv, _ = events_time(dsla_fn, reps=5, inner=20)
            row["variants_ms"][("vector%d" % g) if kind == 0 else "merge"] = tv * 1e3
        _C._cuda_spmv_override(-1, 4)
    crow, col, val = Ag.crow.to(torch.int32), Ag.col.to(torch.int32), Ag.values.detach()
    for label, it in (("cusparse_int32_ms", torch.int32), ("cusparse_int64_ms", torch.int64)):
        T = torch.sparse_csr_tensor(crow.to(it), col.to(it), val, (n, n))
        tt, _ = events_time(lambda: torch.mv(T, x), reps=7, inner=20)
        row[label] = tt * 1e3
    ref = torch.mv(torch.sparse_csr_tensor(crow, col, val, (n, n)), x)
    row["max_abs_diff_vs_cusparse"] = (dsla_fn() - ref).abs().max().item()
    del y
    results.append(row)
    print(json.dumps(row), flush=True)


def bench_cg(m, bw, results, reps=5, graph=True, check_every=32, group=0, maxiter=-1,
             compact=True):
    name = "poisson2d:%d" % m
    A = dsla.poisson2d(m)
    dinv_cpu = 1.0 / A.diagonal()
    band = int((A.col.long() - A.row.long()).abs().max()) if A.nnz else 0
    compact = compact and band <= 32767
    # Only crow/col/values travel (A.cuda() would also carry the CPU pattern's cached analysis).
    Ag = dsla.SparseTensor.from_csr(A.crow.cuda(), A.col.cuda(), A.values.detach().cuda(),
                                    A.shape, check=False)
    del A
    n, nnz = Ag.shape[0], Ag.nnz
    b = torch.ones(n, dtype=torch.float64, device="cuda")
    dinv = dinv_cpu.cuda()
    # warm-up (plan analysis, graph path, allocator)
    out = _C._cuda_cg(Ag._m, b, dinv, rtol=1e-6, graph=graph, check_every=check_every,
                      group=group, maxiter=maxiter, compact=compact)
    del out
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    times, its = [], []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        w0 = time.perf_counter()
        s.record()
        out = _C._cuda_cg(Ag._m, b, dinv, rtol=1e-6, graph=graph, check_every=check_every,
                          group=group, maxiter=maxiter, compact=compact)
        e.record()
        e.synchronize()
        wall = time.perf_counter() - w0
        times.append(s.elapsed_time(e) / 1e3)
        its.append(int(out["iterations"]))
        relres = float(out["residual"][0])
        status = out["status"]
        del out
    peak = torch.cuda.max_memory_allocated()
    t = statistics.median(times)
    it = its[0]
    isz = 4 if Ag.index_dtype in (torch.int32, "int32") else 8
    # column index bytes: 2 with the int16 offsets (compact), else the index size
    mat = nnz * (8 + (2 if compact else isz)) + (n + 1) * isz
    # 10 vectors per iteration; 9 when the Jacobi diagonal is uniform (the driver then passes
    # it to the kernels as a scalar).
    uniform = bool((dinv.max() == dinv.min()).item())
    per_it_bytes = mat + (9 if uniform else 10) * n * 8
    row = {
        "problem": name, "method": "cg+jacobi (dsla fused CUDA driver)", "graph": graph,
        "check_every": check_every, "N": n, "nnz": nnz, "rtol": 1e-6, "iterations": it,
        "status": status, "true_relative_residual": relres, "solve_s": t,
        "solve_samples_s": times, "last_wall_s": wall, "time_per_iteration_ms": t / it * 1e3,
        "bytes_per_iteration": per_it_bytes,
        "achieved_GBps": per_it_bytes / (t / it) / 1e9,
        "fraction_of_copy_bw": per_it_bytes / (t / it) / bw,
        "peak_bytes": peak, "peak_B_per_DOF": peak / n,
        "inputs_B_per_DOF": base / n, "solver_extra_B_per_DOF": (peak - base) / n,
        "group": group or _C._cuda_spmv_plan(Ag._m)["group"], "maxiter": maxiter,
        "uniform_jacobi_diagonal": uniform, "compact_columns": compact,
    }
    results.append(row)
    print(json.dumps(row), flush=True)
    del Ag, b, dinv
    torch.cuda.empty_cache()


def bench_solve_api(m, results):
    """dsla.solve(A, b, method="cg", precond="jacobi") on CUDA: the public path (Krylov driver +
    CUDA CG driver), timed end to end with its true-residual check."""
    A = dsla.poisson2d(m).cuda()
    n = A.shape[0]
    b = torch.ones(n, dtype=torch.float64, device="cuda")
    x, info = dsla.solve(A, b, method="cg", precond="jacobi", rtol=1e-6, return_info=True)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    t, ts = events_time(lambda: dsla.solve(A, b, method="cg", precond="jacobi", rtol=1e-6),
                        reps=5, warmup=0)
    peak = torch.cuda.max_memory_allocated()
    res = ((b - A @ x).norm() / b.norm()).item()
    row = {"problem": "poisson2d:%d" % m, "method": "dsla.solve cg+jacobi", "N": n,
           "iterations": info.iterations, "solve_s": t, "solve_samples_s": ts,
           "ms_per_iteration": 1e3 * t / max(info.iterations, 1),
           "true_relative_residual": res,
           "peak_B_per_DOF": peak / n,
           "solver_B_per_DOF": (peak - base) / n,
           "note": "peak counts everything allocated on the device: matrix, b, x and the solver"}
    results.append(row)
    print(json.dumps(row), flush=True)
    del A, b, x
    torch.cuda.empty_cache()


def bench_solve_memory(m, results):
    """Peak device memory of one dsla.solve(A, b, method="cg", precond="jacobi") on CUDA,
    counted from an empty device: the matrix, b, x and everything the solver holds (the issue's
    <= 130 B/DOF is this number)."""
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    A = dsla.poisson2d(m).cuda()
    n = A.shape[0]
    b = torch.ones(n, dtype=torch.float64, device="cuda")
    inputs = torch.cuda.memory_allocated() - before
    # dsla.solve(A, b, ...) is Solver(A, ...).solve(b): split to see where memory goes
    S = dsla.Solver(A, method="cg", precond="jacobi", rtol=1e-6)
    torch.cuda.synchronize()
    setup_peak = torch.cuda.max_memory_allocated() - before
    after_setup = torch.cuda.memory_allocated() - before
    x, info = S.solve(b, return_info=True)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - before
    after_solve = torch.cuda.memory_allocated() - before
    stages = {"setup_peak": setup_peak / n, "after_setup": after_setup / n,
              "after_solve": after_solve / n}
    row = {"problem": "poisson2d:%d" % m, "method": "dsla.solve cg+jacobi", "N": n,
           "nnz": A.nnz, "index_dtype": str(A.index_dtype), "iterations": info.iterations,
           "converged": bool(info.converged), "peak_B_per_DOF": peak / n,
           "inputs_B_per_DOF": inputs / n, "solver_B_per_DOF": (peak - inputs) / n,
           "stages_B_per_DOF": stages,
           "note": "from an empty device: matrix + b + x + solver state, torch allocator peak"}
    results.append(row)
    print(json.dumps(row), flush=True)
    del A, b, x, S
    gc.collect()
    torch.cuda.empty_cache()


def bench_largest(m, results, maxiter, matrix_dtype=torch.float64):
    """The largest poisson2d CG + Jacobi solve on this GPU (int64 indices: nnz > 2^31), through
    dsla.solve; capped at `maxiter` iterations to stay inside one command's time limit, so it
    reports the time per iteration, the peak memory and the residual reached. matrix_dtype
    torch.float32: mixed precision (float32 values, float64 vectors and sums)."""
    # Generated on the device (closed-form row starts, no host arrays, no copy); the peak
    # counts from before the matrix exists.
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    Ag = dsla.poisson2d(m, device="cuda", dtype=matrix_dtype)
    torch.cuda.synchronize()
    gen_s = time.perf_counter() - t0
    n, nnz, idx = Ag.shape[0], Ag.nnz, str(Ag.index_dtype)
    print("generated poisson2d:%d on the device (N=%d, nnz=%d, %s) in %.2f s, %.1f GB" %
          (m, n, nnz, idx, gen_s, (torch.cuda.memory_allocated() - base) / 1e9), flush=True)
    b = torch.ones(n, dtype=torch.float64, device="cuda")
    row = {"problem": "poisson2d:%d" % m, "method": "dsla.solve cg+jacobi", "N": n, "nnz": nnz,
           "matrix_dtype": str(matrix_dtype).replace("torch.", ""),
           "index_dtype": idx, "maxiter": maxiter, "generate_s": gen_s, "to_device_s": 0.0,
           "device_total_bytes": torch.cuda.get_device_properties(0).total_memory}
    try:
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        x, info = dsla.solve(Ag, b, method="cg", precond="jacobi", rtol=1e-6, maxiter=maxiter,
                             return_info=True)
        e.record()
        e.synchronize()
        t = s.elapsed_time(e) / 1e3
        peak = torch.cuda.max_memory_allocated() - base
        row.update({"iterations": info.iterations, "converged": bool(info.converged),
                    "true_relative_residual": info.residual, "solve_s": t,
                    "time_per_iteration_ms": 1e3 * t / max(info.iterations, 1),
                    "peak_bytes": peak, "peak_B_per_DOF": peak / n})
        del x
    except torch.cuda.OutOfMemoryError as err:
        row["error"] = "out of memory: %s" % str(err).splitlines()[0]
    results.append(row)
    print(json.dumps(row), flush=True)
    del Ag, b
    gc.collect()
    torch.cuda.empty_cache()


def bench_grad(m, results, rtol=1e-8):
    """Differentiable solve on CUDA: forward alone vs forward + backward (adjoint solve reusing
    the Solver), and the memory the backward adds beyond the inputs."""
    A = dsla.poisson2d(m).cuda()
    n = A.shape[0]
    b = torch.ones(n, dtype=torch.float64, device="cuda")
    v = A.values.clone().requires_grad_()

    def fwd():
        with torch.no_grad():
            return dsla.solve(A.with_values(v), b, method="cg", precond="jacobi", rtol=rtol)

    def fwd_bwd():
        x = dsla.solve(A.with_values(v), b, method="cg", precond="jacobi", rtol=rtol)
        (x * x).sum().backward()
        v.grad = None

    fwd_bwd()
    torch.cuda.synchronize()
    tf, _ = events_time(fwd, reps=5, warmup=1)
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    tb, _ = events_time(fwd_bwd, reps=5, warmup=0)
    peak = torch.cuda.max_memory_allocated()
    row = {"problem": "poisson2d:%d" % m, "method": "differentiable cg+jacobi", "rtol": rtol,
           "N": n, "forward_s": tf, "forward_backward_s": tb, "ratio": tb / tf,
           "extra_B_per_DOF": (peak - base) / n}
    results.append(row)
    print(json.dumps(row), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.environ.get("OUT", "bench/results/gpu"))
    ap.add_argument("--sizes", default="1024,2048,4096")
    ap.add_argument("--spmv-sizes", default="1024,4096")
    ap.add_argument("--data", default=os.environ.get("DSLA_DATA_DIR", ""))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--largest", type=int, default=0,
                    help="only the largest-problem run: poisson2d:M with --largest-maxiter cap")
    ap.add_argument("--largest-maxiter", type=int, default=3000)
    ap.add_argument("--largest-mixed", action="store_true",
                    help="the largest run also with float32 values and float64 vectors")
    ap.add_argument("--group-sweep", action="store_true",
                    help="CG time per iteration for 1, 2, 4, 8 lanes per row (300 iterations)")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_bench: no CUDA device; nothing to do")
        return 0
    os.makedirs(args.out, exist_ok=True)
    props = torch.cuda.get_device_properties(0)
    bw = copy_bandwidth()
    print("copy bandwidth %.1f GB/s" % (bw / 1e9), flush=True)
    doc = {
        "machine": {"gpu": props.name, "sms": props.multi_processor_count,
                    "memory_GiB": props.total_memory / 2**30, "torch": torch.__version__,
                    "cuda": torch.version.cuda, "host": platform.node()},
        "commit": _meta.commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "copy_bandwidth_GBps": bw / 1e9,
        "protocol": "CUDA events, warm-up, median of >= 5; fp64; bytes counted per BENCHMARKS.md",
        "spmv": [], "cg": [], "cg_group_sweep": [],
    }
    if args.largest:
        doc["largest"] = []
        bench_largest(args.largest, doc["largest"], args.largest_maxiter)
        if args.largest_mixed:
            bench_largest(args.largest, doc["largest"], args.largest_maxiter, torch.float32)
        path = os.path.join(args.out, "gpu_largest.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
        print("wrote", path)
        return 0
    doc["solve_memory"] = []
    for m in [int(s) for s in args.sizes.split(",") if s]:
        bench_solve_memory(m, doc["solve_memory"])
    for m in [int(s) for s in args.spmv_sizes.split(",") if s]:
        bench_spmv("poisson2d:%d" % m, dsla.poisson2d(m), bw, doc["spmv"])
    if args.data:
        for name in ("bcsstk16", "cage8", "rajat19", "hangGlider_2"):
            path = os.path.join(args.data, name + ".mtx")
            if os.path.exists(path):
                A = dsla.read_mtx(path)
                bench_spmv(name, A, bw, doc["spmv"], variants=True)
    if args.group_sweep:
        for m in (1024, 4096):
            for g in (1, 2, 4, 8):
                bench_cg(m, bw, doc["cg_group_sweep"], reps=3, group=g, maxiter=300)
    for m in [int(s) for s in args.sizes.split(",") if s]:
        bench_cg(m, bw, doc["cg"], reps=args.reps)
        bench_cg(m, bw, doc["cg"], reps=args.reps, compact=False)
        if m <= 1024:
            bench_cg(m, bw, doc["cg"], reps=args.reps, graph=False)
    doc["solve_api"], doc["grad"] = [], []
    for m in [int(s) for s in args.sizes.split(",") if s]:
        bench_solve_api(m, doc["solve_api"])
    bench_grad(1024, doc["grad"])
    path = os.path.join(args.out, "gpu_bench.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
