"""Regenerates bench/README.md from the JSON files under bench/results/.

Two kinds of JSON are understood: Google Benchmark output (cpu-gbench-*.json) and dsla's own
records (a dict or list of dicts with "benchmark", "machine", "commit" and figures), which the
Python benchmark scripts and scripts/gpu-check.sh write.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
RESULTS = ROOT / "results"


def gbench_rows(path, data):
    ctx = data.get("context", {})
    rows = []
    for b in data.get("benchmarks", []):
        if b.get("aggregate_name") not in ("median",):
            continue
        name = b["run_name"]
        bps = b.get("bytes_per_second")
        rows.append(
            f"| {path.name} | {name} | {b.get('threads', '')} | "
            f"{b['real_time']:.3f} {b['time_unit']} | "
            f"{bps / 1e9:.1f} GB/s |" if bps else
            f"| {path.name} | {name} | | {b['real_time']:.3f} {b['time_unit']} | |"
        )
    head = (f"\n### {path.name} (Google Benchmark, {ctx.get('host_name', '?')}, "
            f"{ctx.get('num_cpus', '?')} CPUs, commit {ctx.get('commit', '?')})\n\n"
            "| file | benchmark | threads | median time | throughput |\n|---|---|---|---|---|")
    return [head] + rows


def record_rows(path, data, title=None):
    # A document {"machine": ..., "cg": [rows], "spmv": [rows], ...}: one table per list of rows,
    # with the document's scalar fields (commit, date, bandwidth) as a header line.
    if isinstance(data, dict) and any(isinstance(v, list) and v and isinstance(v[0], dict)
                                      for v in data.values()):
        meta = {k: v for k, v in data.items() if not isinstance(v, (dict, list))}
        machine = data.get("machine", {})
        out = [f"\n### {path.name}\n"]
        if isinstance(machine, dict) and machine:
            meta = {**{"gpu": machine.get("gpu", "")}, **meta}
        out.append("; ".join(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}"
                             for k, v in meta.items()))
        for k, v in data.items():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                out += record_rows(path, v, title=f"{path.name} — {k}")
        return out
    recs = data if isinstance(data, list) else data.get("records", [data])
    if not recs:
        return []
    keys = []
    for r in recs:
        for k in r:
            if k not in keys and not isinstance(r[k], (dict, list)):
                keys.append(k)
    head = [f"\n#### {title}\n" if title else f"\n### {path.name}\n",
            "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    body = []
    for r in recs:
        cells = []
        for k in keys:
            v = r.get(k, "")
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        body.append("| " + " | ".join(cells) + " |")
    return head + body


# Kept by hand, one line per target, each pointing at the JSON it comes from.
SUMMARY = [
    "| CPU CG+Jacobi poisson2d:1024, per iteration (2 threads) | 5.43 ms | <= 8 ms | "
    "solve-cpu-20261124.json |",
    "| CPU Cholesky poisson2d:1024 analysis+factor+solve (2 threads, fresh process) | 1.558 s "
    "median of 7 at the last commit (1.55-1.85 s over five runs of the session; the VM's speed "
    "varied ~30 %), split nested dissection; AMD one factor 2.66 s (4.03 s with CHOLMOD's "
    "numeric phase); poisson3d:64 3.6 s vs AMD 13.2 s | <= 2 s | "
    "cpu-cholesky-poisson2d1024-20261125-025400.json, cpu-cholesky-poisson3d64-20261125-025736.json |",
    "| CPU AMG-PCG poisson2d:1024 setup+solve (2 threads) | 0.96 s, 8 it | <= 1.6 s | "
    "amg-cpu-20261124-230211.json |",
    "| H100 CG+Jacobi poisson2d:4096 via dsla.solve, per iteration | 0.757 ms | <= 0.85 ms | "
    "gpu-h100-20261125-final.json |",
    "| H100 CG+Jacobi poisson2d:1024, per iteration | fused driver 0.0579 / 0.0591 ms on two "
    "H100 machines (0.0578 best of the check_every/group sweep); via dsla.solve, setup and the "
    "final true residual included, 0.0586 / 0.0601 ms | <= 0.06 ms | "
    "gpu-h100-20261125-final.json, gpu-h100-20261125-spmv-plan.json, "
    "gpu-h100-20261125-cg1024-sweep-final.json |",
    "| H100 SpMV vs cuSPARSE (same run) | poisson2d:1024 0.036 vs 0.047 ms, 4096 0.474 vs 0.653 "
    "ms, bcsstk16 / cage8 / rajat19 / hangGlider_2 22-24 vs 30-34 us | at least as fast | "
    "gpu-h100-20261125-spmv-plan.json |",
    "| H100 dsla.solve CG+Jacobi peak memory from an empty device | 122 B/DOF | <= 130 | "
    "gpu-h100-20261125-final.json |",
    "| H100 differentiable CG solve poisson2d:1024, fwd+bwd / fwd | 1.88 | <= 2.1 | "
    "gpu-h100-20261125-final.json |",
    "| H100 largest poisson2d CG (int64 indices) | 550.2M DOF, 146 B/DOF, 24.3 ms/it "
    "(capped at 1500 it) | >= 550M DOF | gpu-h100-20261124-largest-poisson2d-23456.json |",
    "| H100 cuDSS Cholesky poisson2d:1024 analysis+factor+solve | 0.472 s (median of 5: "
    "0.44-0.51) with dsla's nested dissection handed to cuDSS (cuDSS's own reordering: 1.79 s) "
    "| <= 0.5 s | cudss-h100-20261125-dsla-nd-final.json |",
    "| H100 cuDSS Cholesky poisson2d:1024 refactor+solve | 0.048 s (dsla ordering), 0.029 s "
    "(cuDSS's METIS ordering) | <= 0.1 s | cudss-h100-20261125-dsla-nd-final.json |",
    "| H100 AMG-PCG poisson2d:4096 setup+solve | 0.276 s, 12 it, 204 B/DOF | <= 0.5 s, <= 250 | "
    "amg-cuda-20261125-003121-final.json |",
    "| H100 AMG-PCG poisson2d:1024 setup+solve | 29-31 ms, 10 it, 207 B/DOF | <= 40 ms | "
    "amg-cuda-20261125-001347-lanczos.json, amg-cuda-20261125-003121-final.json |",
    "| CPU AMG-PCG vs CG+Jacobi, aniso2d and every SPD matrix of shared/data | converges on all "
    "10 where CG+Jacobi does; 5-557x fewer iterations (aniso2d:1024 9 vs 5014, bcsstk13 177 vs "
    "927) | converges where CG+Jacobi does, far fewer iterations | "
    "amg-cpu-20261125-003249-vs-cg-jacobi.json |",
    "| H100 eigsh k=10 smallest poisson2d:1024 | 0.95 s with AMG (10 it), 12.4 s without | - | "
    "eigen-nonlinear-cuda-20261124-230631.json |",
    "| H100 Bratu Newton poisson2d:1024 | 0.16 s (4 Newton steps, CG+AMG inner) | - | "
    "eigen-nonlinear-cuda-20261124-230631.json |",
    "| H200 one-CG refactoring (#13 item 6), after / before (8846d4a), run 3 | CG+Jacobi 1024 "
    "+1.2 / +1.4 %, 4096 -0.2 / -0.4 %, AMG-PCG 4096 -2.0 / -2.6 %, SpMV 4096 -1.5 / -1.8 % | "
    "<= +3 % | refactor-cuda-before-20261203-120651.json, refactor-cuda-after3-*.json, "
    "refactor-cuda-after4-*.json |",
    "| CPU solver presets (#19 item 6): candidates per problem class, 1 thread, rtol 1e-8 | spd: "
    "CG+AMG fewest iterations on 7/7; general: BiCGStab+ILU(0) converged 7/7, fastest on 6; "
    "indefinite: MINRES+auto converged 5/5 (BiCGStab+ILU(0) 3/5, GMRES(50)+ILU(0) 1/5; LDLT "
    "stopped on the saddle point, LU solved it); convection: GMRES(50)+ILU(0) 4-10 it at Pe 100-10^4 | a "
    "preset that converges on its whole class | presets-cpu-20261203-144915.json |",
    "| CPU structure / partitions / config (#19 items 3, 6, 8), 1 thread | components of "
    "poisson2d:1024 weak 32 ms / strong 68 ms first call (SciPy 63 / 43 ms), cached after; "
    "is_positive_definite poisson2d:512 0.30 s (a Cholesky solve 0.39 s; -A answered from the "
    "diagonal in 17 ms); RCB / Hilbert of 2^20 2-D points into 64: 0.19 / 0.28 s; a config "
    "scope adds 12-18 us to a solve call | - | structure-cpu-20261203-152133.json |",
    "| H200 distributed CG+Jacobi on CUDA, fused steps across ranks vs generic (#14 item 6) | "
    "NCCL P=1 poisson2d:1024 0.069 vs 0.522 ms/it, poisson3d:96 0.064 vs 0.779; Gloo P=2 "
    "sharing the GPU (host-staged halo) 2.75 vs 4.32 ms/it | - | "
    "dist-cuda-gloo-20261203-191521.json, dist-cuda-gloo-generic-20261203-191611.json |",
    "| H200 weak-scaling twin: rank 1 of poisson3d:1000 over 4 ranks (250M rows, 2 neighbours, "
    "8 MB halo per exchange), distributed fused CG+Jacobi (#14 item 11) | 12.82 ms/it (81 % of "
    "the 4.05 TB/s copy bandwidth over its 42.0 GB/it), matrix 88 B/row, solve peak 229 B/row, "
    "generated on the device in 10.9 s; one-rank poisson3d:630 (250M) 13.12 ms/it; projected "
    "4 x H200 (NVLink 350 GB/s, 10 us/message, 15 us/all-reduce, no overlap): 12.86 ms/it, "
    "99.7 % weak efficiency | >= 85 % weak efficiency (#18) | "
    "dist-twin-poisson3d1000-4-20261203-193836.json, dist-twin-poisson3d630-1-20261203-193903.json |",
    "| H200 GPU-parallel smoothers (#19 item 7), first run (ATen passes, before the fused "
    "color kernels), poisson2d:1024 rtol 1e-8 | CG: jacobi 1898 it 0.095 s, mc_sgs 1354 it 3.1 s, "
    "dilu 1339 it 3.05 s, asm 863 it 2.70 s; AMG-PCG: chebyshev 13 it 0.037 s, mc_sgs 14 it "
    "0.61 s, dilu 14 it 0.63 s | works on the GPU; slower than Jacobi / Chebyshev (stated) | "
    "smoothers-cuda-20261203-200711.json |",
    "| CPU repartition without gathering (#15 item 4), poisson2d:256, 3 matching rounds | from a "
    "random partition, entries cut 130428 -> 760 at P=2 (METIS on the fine graph 566), 195726 -> "
    "1476 at P=4 (1142); imbalance <= 1.024 (aggregates weighted by rows); 0.4-0.7 s | report edge cut and imbalance | "
    "dist-repartition-cpu-20261203-204139.json |",
    "| H200 distributed AMG-PCG (#15 item 1), NCCL P=1, rtol 1e-6 | one process's iterations "
    "(poisson2d:1024 10, poisson3d:96 8, poisson2d:2048 12); solve 0.022 / 0.021 / 0.047 s "
    "(one process 0.017 / 0.018 / 0.045); setup 0.25 / 0.41 / 0.96 s (one process 0.017 / "
    "0.026 / 0.041: the distributed setup's index work and host round trips, ~15x); Gloo P=2 "
    "sharing the GPU 10 / 7 it, solves 0.22 / 0.21 s (host-staged halo) | within one process "
    "+ 3 iterations; 1B unknowns < 10 s on 4 H200 (not measured: no AMG twin yet) | "
    "dist-amg-cuda-nccl-20261203-233649.json, dist-amg-cuda-gloo-20261203-233711.json |",
    "| CPU distributed AMG-PCG (#15 item 6), 1 thread per rank, rtol 1e-6 | poisson2d:512 P=1 "
    "9 it, setup 0.55 + solve 0.25 s (one process 0.15 + 0.18), P=2 8 it, 0.39 + 0.28 s; "
    "poisson3d:48 (110k rows, gathered at once) P=2 7 it 0.28 + 0.18 s; gather_size sweep 10k / 50k / 200k: gathering "
    "higher up was faster (P=2 poisson3d:48 setup 0.47 / 0.44 / 0.26 s) | - | "
    "dist-amg-cpu-gloo-20261203-234618.json, dist-amg-cpu-gloo-20261203-233830.json |",
    "| H200 multicolor smoothers, fused color kernels (#19 item 7), poisson2d:1024 / "
    "poisson3d:64 | CG+mc_sgs 1354 it 1.42 s (0.82 ms/it vs Jacobi 0.25: 15 colors x 2 passes); "
    "AMG-PCG+mc_sgs solve 0.119 -> 0.043 s (2-D) and 1.27 -> 0.027 s (3-D) with the 32-color "
    "cap (coarse Galerkin levels smoothed by Chebyshev) | - | "
    "smoothers-cuda-20261203-223750.json, logs/gpu-h200-20261203-s10-prof-multicolor*.log |",
    "| CPU AMG-PCG poisson2d:1024 vs hypre BoomerAMG + PCG on the same cores (#17 item 7), rtol "
    "1e-6, both in one run | after P = S T on the CPU (three runs): 1 thread 1.80 / 1.49 / 1.66 s "
    "vs serial hypre 1.60 / 1.55 / 1.95 s; 2 threads 0.89 / 0.84 / 0.98 s vs hypre on 2 MPI "
    "ranks 1.07 / 1.04 / 1.16 s (before: 1.71 / 1.95 vs 1.77 / 1.70, 1.23 / 1.31 vs 1.32 / "
    "1.20) | no slower than hypre: faster in 5 of 6 pairings | peers-amg-cpu-20261204-000328.json, "
    "peers-amg-cpu-20261204-000438.json, peers-amg-cpu-20261204-000522.json |",
    "| CPU mixed-precision AMG-PCG (#17 item 3: float32 levels in a float64 CG), one thread | "
    "poisson2d:1024 1.49 -> 1.21 s (rtol 1e-6), 1.88 -> 1.56 s (1e-10), same iterations and "
    "true residuals; poisson3d:64 0.61 -> 0.57 s, 0.76 -> 0.74 s | report time, memory, "
    "iterations (H200 still to measure) | amg-mixed-cpu-20261204-003305.json |",
    "| H200 AMG-PCG poisson2d:4096 setup+solve (round 2) | 0.208 s (0.101 + 0.107), 12 it "
    "(0.240 s at the session's start, 0.280 in BENCHMARKS.md) | <= 0.15 s: missed by 39 % | "
    "h200-20261204/run4/amg-profile-cuda-20261204-023356.json |",
    "| H200 AMG-PCG poisson2d:1024 / 8192, poisson3d:256 setup+solve | 0.024 s / 0.834 s, 14 it "
    "/ 0.364 s, 9 it | <= 0.03 (met) / 0.5 / 0.25 s | "
    "h200-20261204/run4/amg-profile-cuda-20261204-023356.json |",
    "| H200 AMG setup alone poisson2d:4096 | 0.101 s | <= AmgX's 0.07 s | "
    "h200-20261204/run4/amg-profile-cuda-20261204-023356.json |",
    "| H200 AMG-PCG peak memory from the user's side | 405-440 B/DOF (2D), 560 (3D); the "
    "part-by-part model 380 / 571 | <= 200 / 300: missed | "
    "h200-20261204/run5/amg-memory-cuda-20261204-025117.json |",
    "| H200 largest CG+Jacobi (poisson2d:31623, int64) | 1.000B rows, 146 B/DOF, 46.8 ms/it; "
    "generated on the device in 0.15 s | >= 1.0B DOF (met) | "
    "h200-20261204/run2/gpu_largest.json |",
    "| H200 AMG-PCG poisson2d:16384 | 268M DOF: 1.65 + 2.13 s, 15 it, 405 B/DOF | runs on one "
    "H200 (met) | h200-20261204/run3/amg-profile-cuda-20261204-022459.json |",
    "| H200 mixed-precision AMG (float32 levels) poisson2d:4096 rtol 1e-6 / 1e-10 | 0.297 vs "
    "0.280 s, 12 it / 0.751 vs 0.681 s, 20 it; 499 vs 510 B/DOF | report | "
    "h200-20261204/run1/amg-mixed-cuda-20261204-020120.json |",
    "| H200 mixed-precision Jacobi-CG (#17 item 3: float32 values, float64 vectors and sums) "
    "vs float64, poisson2d:1024 / 4096, rtol 1e-6 and 1e-10 | 0.0504 -> 0.0439 ms/it (1024^2), "
    "0.571 -> 0.477 ms/it (4096^2, -17 %); same iterations (6819 / 8434 at 4096^2) and true "
    "residuals (1.0e-6 / 3.9e-10); 130 -> 110 B/DOF. float32 vectors: 0.36 ms/it, 82 B/DOF, but "
    "stall at a true residual of 1e-2..1 | report time, memory, iterations at equal true "
    "residual | h200-20261204b/cg-mixed-cuda-20261204-060400.json, "
    "h200-20261204b/cg-mixed-cuda-20261204-060656.json |",
    "| H200 largest CG+Jacobi in mixed precision (poisson2d:31623, float32 values) | 1.000B rows, "
    "45.6 -> 29.6 ms/it, 146 -> 126 B/DOF (200 iterations each, same residual) | report | "
    "h200-20261204b/gpu-largest-mixed.json |",
    "| H200 cuDSS Cholesky poisson2d:1024, fresh process, call to answer (#17 item 5) | first "
    "call 2.9-3.5 s, a new pattern after it 0.42-0.48 s; DSLA_CUDSS_TRACE: factorization's own "
    "work 0.71 s (dsla ND ordering 0.25, cuDSS analysis 0.24, factorization 0.06, solve 0.05, "
    "set-up 0.10; cuDSS handle 3 ms), the other 2.2 s the first use of the solve path's torch "
    "kernels; a tiny dsla.solve first (prewarm, now inside dsla.cudss_prepare): first call "
    "0.55 s | <= 0.4 s: missed by 0.15 s | h200-20261204b/cudss-first-call-run30c.json, "
    "h200-20261204b/cudss-first-call-run32c.json |",
    "| CPU projection of distributed AMG-PCG (#15 item 6 model, bench/dist_amg_projection.py), "
    "P = 2 Gloo | counted: setup 102-144 collectives and 53-78 messages (2-3 distributed "
    "levels), solve 51 collectives and 121-177 messages (7 it); distributed layer / one-process "
    "share beyond communication: setup 5.75x, per iteration 5.29x (poisson3d:40); predicted "
    "poisson3d:56 setup 0.695 s vs measured 0.595, solve 0.321 vs 0.243 | 1B unknowns < 10 s "
    "on 4 H200 (H200 projection: see below) | dist-amg-projection-cpu-20261204-062810.json |",
    "| H200 projection of distributed AMG-PCG, poisson3d:1000 on 4 GPUs (#15 item 6), rtol 1e-6 | "
    "one rank's share (630^3, 250M rows) does not fit one H200: as one process (126.9 GiB in use "
    "when setup asked 13 GiB more) nor as one NCCL rank; 403^3 as one NCCL rank: setup 6.72-8.39 "
    "s, solve 0.54 s (10 it), 1627 -> 1473 B/row after the one-copy-of-P change; scaled x3.82 "
    "and with counted communication (2 Gloo ranks sharing the GPU; NVLink 350 GB/s, 10 us, 15 us "
    "stated): 27.7-34.1 s and 343 GiB per GPU | 1B unknowns < 10 s on 4 H200: missed (setup "
    "~7x one process at 65M rows; memory 2.6x one process's 560 B/DOF) | "
    "h200-20261204c/dist-amg-projection-cuda-20261204-120946.json, "
    "h200-20261204c/dist-amg-projection-cuda-20261204-121935.json |",
    "| H200 distributed AMG setup, one NCCL rank vs one process, poisson3d:128 | 1.086 -> 0.469 s "
    "(Galerkin phase 1.134 -> 0.085 s: coarse entries sorted and merged on the GPU, positions "
    "from from_local_coo); one process 0.045 s; 2 Gloo ranks sharing the GPU 1.023 -> 0.378 s | "
    "- | h200-20261204c/dist-amg-setup-profile-cuda-20261204-114647.json, "
    "h200-20261204c/dist-amg-setup-profile-cuda-20261204-121008.json |",
    "| H200 projection of distributed AMG-PCG, poisson3d:1000 on 4 GPUs (#15 item 6), twin share "
    "(rank 1 of 4 with its halo; session 14) | poisson3d:800 twin (128M rows): setup 9.22 -> "
    "5.68-7.42 s (machine variance between the last two runs), solve 1.08 s (10 it), peak 998 -> "
    "839 B/row; projected 20.1 -> 13.2-16.6 s, 195 GiB per GPU; 250M rows need <= 559 B/row | "
    "1B unknowns < 10 s on 4 H200: missed; the share does not fit one H200 | "
    "h200-20261204d/dist-amg-projection-cuda-20261204-145058.json, "
    "h200-20261204d/dist-amg-projection-cuda-20261204-150711.json |",
    "| H200 weak-scaling twin of poisson3d:1000 rank 1 of 4 (250M rows with its halo), AMG-PCG "
    "rtol 1e-6 (#15 item 6; session 15) | fits one H200: setup 9.64 s, solve 2.52 s (11 it), "
    "575 B/row, 134.0 GiB (was out of memory: 813 B/row at 800^3 -> 601 before the blocked "
    "Galerkin product); projected four-GPU time 12.17 s | 1B unknowns < 10 s on 4 H200: missed "
    "(rap 4.69 s in the blocked product) | "
    "h200-20261204e/dist-amg-projection-cuda-20261204-172945.json, "
    "h200-20261204e/dist-amg-twin-memory-20261204-173041.json |",
    "| H200 weak-scaling twin of poisson3d:1000 rank 1 of 4 (250M rows with its halo), AMG-PCG "
    "rtol 1e-6 (#15 item 6; session 16) | setup 9.64 -> 5.71 / 5.86 s (two runs), solve 2.37 s "
    "(11 it), 583 B/row, 135.7 GiB; projected four-GPU time 12.17 -> **8.09 / 8.24 s** (Galerkin "
    "blocks from A P's counted entries: 4/6/5 -> 2/1/1 on levels 0-2, rap 4.69 -> 2.86 s; owned ids "
    "pinned and converted on the device: level-0 spectral estimate 1.49 -> 0.23 s) | 1B unknowns "
    "< 10 s on 4 H200: met (projection) | "
    "h200-20261204f/dist-amg-projection-cuda-20261204-194848.json, "
    "h200-20261204f/dist-amg-projection-cuda-20261204-195227.json, "
    "h200-20261204f/dist-amg-setup-profile-cuda-20261204-194946.json |",
    "| H200 distributed AMG setup, one NCCL rank vs one process, poisson3d:256 (session 14) | "
    "5.01 -> 0.60 s (one process 0.24 s); setup peak 19.1 -> 9.5 GiB (one process 4.9 GiB); "
    "dist_amg_bench NCCL P=1 setup 0.254/0.407/0.964 -> 0.032/0.038/0.109 s, Gloo P=2 sharing "
    "the GPU 0.339/0.492 -> 0.191/0.242 s | - | "
    "h200-20261204d/dist-amg-setup-profile-cuda-20261204-145020.json, "
    "h200-20261204d/dist-amg-cuda-nccl-20261204-145115.json, "
    "h200-20261204d/dist-amg-cuda-gloo-20261204-145129.json |",
    "| H200 dsla.cudss_prepare, poisson2d:1024 Cholesky, fresh process (final form) | default "
    "first call 3.49 s; cudss_prepare(background=False) 2.42 s, then first call 0.56 s; "
    "background thread with nothing else to overlap: first call 2.69 s (it waits for the "
    "thread) | <= 0.4 s: missed (see the row above) | "
    "h200-20261204c/cudss-first-call-20261204-114036.json |",
    "| CPU one-CG refactoring, after / before | not resolvable here: one tree spreads 8.5-14.8 "
    "ms/it across rounds (bench/results/logs/cpu-20261203-s6-refactor-noise.log) | <= +3 % | "
    "refactor-cpu-*.json |",
]


def beyond_poisson_section():
    """The real matrices of shared/data on the CPU (one thread) and the GPU side by side: the
    latest beyond-poisson JSON of each device (bench/beyond_poisson.py)."""
    import sys
    sys.path.insert(0, str(ROOT))
    import beyond_poisson
    latest = {}
    for path in sorted(RESULTS.rglob("beyond-poisson-*.json")):
        dev = path.name.split("-")[2]
        latest[dev] = path
    if not latest:
        return []
    docs = beyond_poisson.load_docs([latest[d] for d in sorted(latest)])
    return (["## Beyond Poisson: the real matrices of shared/data, CPU (one thread) and GPU", "",
             "`bench/beyond_poisson.py`; files: " +
             ", ".join(f"`{p.relative_to(RESULTS)}`" for p in latest.values()) +
             ". Small matrices are launch-bound on the GPU (10-30 ms per solve); the GPU's "
             "direct solves are cuDSS 1.0.", ""] + beyond_poisson.table(docs) + [""])


def main():
    lines = ["# dsla benchmark results", "",
             "Generated by `bench/make_table.py` from `bench/results/*.json` (do not edit by "
             "hand). Protocol and targets: `../shared/BENCHMARKS.md`.", "",
             "## Headline figures against the issues' targets (details in the tables below)", "",
             "| what | measured | target | file |", "|---|---|---|---|"] + SUMMARY + [""]
    lines += beyond_poisson_section()
    for path in sorted(RESULTS.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and "benchmarks" in data and "context" in data:
            lines += gbench_rows(path, data)
        else:
            lines += record_rows(path, data)
    (ROOT / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
