#!/usr/bin/env python3
"""Where GPU AMG-PCG time goes (issue #17 item 1): one setup and one solve under torch.profiler
(CUPTI kernel times), the setup phases from the hierarchy's own timers, every kernel's time
summed by name and by phase, and the bytes each phase must move at least (its operators read
once, its outputs written once) against the device-to-device copy bandwidth measured in the same
run. Prints a table and writes one JSON file.

    python3 bench/amg_profile.py --sizes poisson2d:4096,poisson3d:256 --out bench/results

Kernel → phase: by the kernel's name (strength_*, mis2/phase*/attach/roots/number = aggregation,
smoothing/transpose/spgemm = prolongation and RAP in setup order, lanczos = smoother bounds);
the phase split of the wall clock comes from AmgStats (t_strength ... t_coarse), which
synchronizes only where sizes are needed, so the two views are reported side by side.
"""
import argparse
import collections
import datetime
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dsla  # noqa: E402
import _meta  # noqa: E402
from gpu_bench import copy_bandwidth  # noqa: E402  (the one copy measurement of the benches)

PHASES = [("strength", ("strength",)),
          ("aggregation", ("mis2", "phase1", "phase2", "phase3", "attach", "roots", "number",
                           "sizes_k", "init_keys", "masked_max", "row_max", "set_roots")),
          ("smoother_bounds", ("lanczos",)),
          ("spgemm", ("spgemm", "hash", "symbolic", "numeric")),
          ("prolongator_values", ("smoothing_values", "transpose")),
          ("spmv", ("spmv", "csr")),
          ("chebyshev", ("cheb",)),
          ("cg", ("cg_", "beta_kernel", "finalize")),
          ("sort_scan_copy", ("sort", "scan", "radix", "copy", "fill", "elementwise",
                              "reduce", "index", "cat", "unique"))]


def phase_of(name):
    low = name.lower()
    for ph, keys in PHASES:
        if any(k in low for k in keys):
            return ph
    return "other"


def kernels(prof):
    """{kernel name: (total seconds, count)} of the CUDA kernels in a profile."""
    out = collections.defaultdict(lambda: [0.0, 0])
    for ev in prof.events():
        if ev.device_type == torch.autograd.DeviceType.CUDA:
            dt = getattr(ev, "device_time", None)
            if dt is None:
                dt = ev.cuda_time
            out[ev.name][0] += dt / 1e6
            out[ev.name][1] += 1
    return out


def matrix_bytes(M):
    ib = 4 if M.index_dtype == torch.int32 else 8
    vb = M.values.element_size()
    return M.nnz * (ib + vb) + (M.shape[0] + 1) * ib


def profile_one(spec, bw, repeats):
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    A = dsla.generate(spec, device="cuda")
    torch.cuda.synchronize()
    gen_s = time.perf_counter() - t0
    n = A.shape[0]
    b = torch.ones(n, dtype=torch.float64, device="cuda")
    # The user's side: peak from before the matrix exists to the end of dsla.solve(precond="amg").
    x, info = dsla.solve(A, b, method="cg", precond="amg", rtol=1e-6, return_info=True)
    torch.cuda.synchronize()
    user_peak = (torch.cuda.max_memory_allocated() - base) / n
    del x
    setups, solves, splits = [], [], []
    H = None
    for _ in range(repeats):
        H = None  # the previous hierarchy is freed before the next is built
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        H = dsla.amg(A)
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        x, inf = H.solve(b, rtol=1e-6, accel="cg")
        torch.cuda.synchronize()
        setups.append(t1 - t0)
        solves.append(time.perf_counter() - t1)
        splits.append(inf["stats"]["setup_time"])
        del x
    st = inf["stats"]
    iters = inf["iterations"]
    H = None
    with profile(activities=[ProfilerActivity.CUDA]) as ps:
        H = dsla.amg(A)
        torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as pv:
        x, _ = H.solve(b, rtol=1e-6, accel="cg")
        torch.cuda.synchronize()
    ks, kv = kernels(ps), kernels(pv)
    # Least bytes: setup reads A a few times and writes every level's P, R and A_{l+1}; a solve
    # iteration reads every level's operator ~ (2 pre/post smoothing sweeps × degree + residual)
    # times. Stated as multiples of the level operators' bytes (A_l + P_l + R_l).
    level_bytes = sum(matrix_bytes(H.level_matrix(l)) for l in range(H.num_levels))
    trans_bytes = sum(2 * matrix_bytes(H.prolongator(l)) for l in range(H.num_levels - 1))
    by_phase = collections.defaultdict(float)
    for k, (t, _) in ks.items():
        by_phase["setup:" + phase_of(k)] += t
    for k, (t, _) in kv.items():
        by_phase["solve:" + phase_of(k)] += t
    row = dict(problem=spec, n=n, nnz=A.nnz, generate_s=gen_s, levels=H.num_levels,
               operator_complexity=st["operator_complexity"], iterations=iters,
               setup_s=statistics.median(setups), solve_s=statistics.median(solves),
               user_peak_bytes_per_dof=user_peak,
               setup_split={k: statistics.median(s[k] for s in splits) for k in splits[0]},
               setup_kernel_s=sum(t for t, _ in ks.values()),
               setup_kernel_count=sum(c for _, c in ks.values()),
               solve_kernel_s=sum(t for t, _ in kv.values()),
               solve_kernel_count=sum(c for _, c in kv.values()),
               kernel_s_by_phase=dict(by_phase),
               hierarchy_bytes=level_bytes + trans_bytes,
               setup_floor_s=(level_bytes + trans_bytes + matrix_bytes(A)) / bw,
               copy_bandwidth_Bps=bw,
               top_setup_kernels=sorted(([k[:90], t, c] for k, (t, c) in ks.items()),
                                        key=lambda r: -r[1])[:15],
               top_solve_kernels=sorted(([k[:90], t, c] for k, (t, c) in kv.items()),
                                        key=lambda r: -r[1])[:12])
    row["total_s"] = row["setup_s"] + row["solve_s"]
    # One cycle reads each level's operator (about 2 x degree + 1 times with Chebyshev) and P, R.
    row["solve_bytes_per_iteration_model"] = level_bytes * 7 + trans_bytes
    row["solve_floor_s"] = iters * row["solve_bytes_per_iteration_model"] / bw
    del H, x, A, b
    torch.cuda.empty_cache()
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="poisson2d:1024,poisson2d:4096,poisson2d:8192,poisson3d:256")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("amg_profile: needs CUDA (torch.cuda.is_available() is False)")
    bw = copy_bandwidth()
    print("copy bandwidth %.0f GB/s" % (bw / 1e9), flush=True)
    rows = []
    for spec in args.sizes.split(","):
        r = profile_one(spec, bw, args.repeats)
        rows.append(r)
        print("%-16s n=%d it=%d setup %.3f s solve %.3f s total %.3f s user peak %.0f B/DOF "
              "gen %.2f s | kernels: setup %.3f s (%d), solve %.3f s (%d) | floors: setup %.4f s "
              "solve %.4f s" % (spec, r["n"], r["iterations"], r["setup_s"], r["solve_s"],
                                r["total_s"], r["user_peak_bytes_per_dof"], r["generate_s"],
                                r["setup_kernel_s"], r["setup_kernel_count"], r["solve_kernel_s"],
                                r["solve_kernel_count"], r["setup_floor_s"], r["solve_floor_s"]),
              flush=True)
        print("   split", {k: round(v, 4) for k, v in r["setup_split"].items()})
        print("   by phase", {k: round(v, 4) for k, v in sorted(r["kernel_s_by_phase"].items())})
        for k, t, c in r["top_setup_kernels"][:8]:
            print("   setup %8.4f s %5d  %s" % (t, c, k))
        for k, t, c in r["top_solve_kernels"][:6]:
            print("   solve %8.4f s %5d  %s" % (t, c, k))
    doc = dict(benchmark="amg_profile", machine=torch.cuda.get_device_name(0),
               commit=_meta.commit(),
               date=datetime.datetime.now().isoformat(timespec="seconds"), rows=rows)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "amg-profile-cuda-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
