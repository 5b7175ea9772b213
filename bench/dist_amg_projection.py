#!/usr/bin/env python3
"""Projected P-GPU distributed AMG-PCG from one device (issue #15 item 6), by a stated model
whose counts are measured:

    setup_P = r_s setup_share + C_s t_coll + M_s alpha + B_s / beta
    solve_P = it_share * (r_i t_it_share + sum_l E (alpha + f_l / beta) + C_i t_coll)

share       one rank's rows on this device (--share): by default rank 1 of P of the target as a
            weak-scaling twin (its rows with its halo, exchanged with itself; the AMG of the
            twin's operator), or one rank of the distributed layer without a halo (dist1), or
            a one-process problem (one, times r below): its AMG-PCG setup, time per iteration,
            iterations, peak memory (per owned row) and hierarchy. The network is the
            communication terms below.
counts      from a real P-rank run (spawned processes, Gloo, one thread each) of a smaller box
            problem, read with dsla._C.comm_traffic: collectives C and point-to-point messages M
            (with bytes B) of the setup, per distributed level; exchanges E per distributed level
            per iteration; collectives C_i per iteration.
f_l         bytes to the busiest neighbour at level l: the face of the rank's box in dsla's
            process grid (8 B a row), shrunk with the level as (rows_l / rows_0)^(2/3)
            (isotropic 3-D aggregation).
r_s, r_i    the distributed layer's time over the one-process share's, beyond communication
            (its host index work, split diagonal / off-diagonal products, packing, launches),
            measured on a count run; the next count run (larger) checks the model's prediction.
alpha, beta, t_coll
            message latency, link bandwidth and the time of a small all-reduce: defaults for
            H200 NVLink 4 through NCCL (10 us, 350 GB/s per direction, 15 us; as
            bench/dist_twin.py), to be checked by the multi-GPU run (issue #18).

No overlap of communication with computation is assumed (an upper bound on that account).
The same model is checked where both sides can be measured: on the CPU, the P-rank run of the
count problem against the model fed with that run's counts, the one-process share and alpha,
beta, t_coll measured in the same process group (`validation` in the JSON).

    python3 bench/dist_amg_projection.py [--target poisson3d:1000] [--ranks 4] [--device cuda]
                                         [--count poisson3d:40] [--gather 2000]
"""
import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import dsla  # noqa: E402
import _meta  # noqa: E402
from _amg_timing import timed_amg_pcg  # noqa: E402


def process_grid(ranks, dims):
    """dsla's box decomposition (detail::process_grid, src/dist/generators.cpp): the
    factorization a x b x c of `ranks` with the smallest max / min, the first found."""
    best, best_score = (ranks, 1, 1), float("inf")
    for x in range(1, ranks + 1):
        if ranks % x:
            continue
        for y in range(1, ranks // x + 1):
            if (ranks // x) % y:
                continue
            z = ranks // x // y
            if dims == 2 and z != 1:
                continue
            mx = max(x, y, z if dims == 3 else 1)
            mn = min(x, y, z if dims == 3 else x)
            if mx / mn < best_score:
                best, best_score = (x, y, z), mx / mn
    return best


def busiest_face(n, ranks, dims=3):
    """Rows of the largest face a rank of the box decomposition of an n^dims grid shares with
    one neighbour, and how many neighbours it has at most (7-point stencil: faces only)."""
    g = process_grid(ranks, dims)
    ext = [math.ceil(n / g[i]) if i < dims else 1 for i in range(3)]
    faces = []
    for a in range(dims):
        if g[a] > 1:
            faces.append(math.prod(ext[b] for b in range(dims) if b != a))
    return (max(faces) if faces else 0), sum(2 if g[a] > 2 else 1 for a in range(dims) if g[a] > 1)


def traffic(reset=True):
    return dict(dsla._C.comm_traffic(reset))


def link_costs(rank, reps=20):
    """alpha (one 8-byte message, half a ping-pong), beta (8 MB messages) between ranks 0 and 1,
    and a one-double all-reduce, in this group."""
    def pingpong(nbytes):
        t = torch.zeros(max(1, nbytes // 8), dtype=torch.float64)
        times = []
        for _ in range(reps):
            dist.barrier()
            t0 = time.perf_counter()
            if rank == 0:
                dist.send(t, 1)
                dist.recv(t, 1)
            elif rank == 1:
                dist.recv(t, 0)
                dist.send(t, 0)
            times.append((time.perf_counter() - t0) / 2)
        return statistics.median(times)
    alpha = pingpong(8)
    big = 8 << 20
    beta = big / max(pingpong(big) - alpha, 1e-9)
    x = torch.zeros(1, dtype=torch.float64)
    times = []
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(x)
        times.append(time.perf_counter() - t0)
    return alpha, beta, statistics.median(times)


def count_worker(rank, P, init, spec, gather, rtol, out, device):
    torch.set_num_threads(1)
    cuda = device.startswith("cuda")
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=P)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    try:
        kind, n = spec.split(":")
        A = getattr(dsla.distributed, kind)(int(n))
        if cuda:
            A = A.cuda()
        b = torch.ones(A.n_owned, dtype=torch.float64, device=A.device)
        H = dsla.amg(A, gather_size=gather)  # warm-up
        dsla.solve(A, b, method="cg", M=H, rtol=rtol)
        setups, solves = [], []
        for rep in range(3):
            sync()
            dist.barrier()
            traffic()
            t0 = time.perf_counter()
            H = dsla.amg(A, gather_size=gather)
            sync()
            t1 = time.perf_counter()
            ts = traffic()
            x, info = dsla.solve(A, b, method="cg", M=H, rtol=rtol, return_info=True)
            sync()
            t2 = time.perf_counter()
            ti = traffic()
            setups.append(t1 - t0)
            solves.append(t2 - t1)
        alpha, beta, t_coll = link_costs(rank)
        # The slowest rank's times; the busiest rank's counts.
        vals = torch.tensor([statistics.median(setups), statistics.median(solves),
                             ts["collectives"], ts["messages"], ts["message_bytes"],
                             ti["collectives"], ti["messages"], ti["message_bytes"]],
                            dtype=torch.float64)
        dist.all_reduce(vals, op=dist.ReduceOp.MAX)
        if rank == 0:
            s = H.stats()
            with open(out, "w") as f:
                json.dump(dict(
                    problem=spec, ranks=P, gather_size=gather, setup_s=float(vals[0]),
                    solve_s=float(vals[1]), iterations=info.iterations, residual=info.residual,
                    levels=[lv["rows"] for lv in s["levels"]],
                    distributed_levels=H.num_distributed_levels,
                    setup_collectives=int(vals[2]), setup_messages=int(vals[3]),
                    setup_message_bytes=int(vals[4]), solve_collectives=int(vals[5]),
                    solve_messages=int(vals[6]), solve_message_bytes=int(vals[7]),
                    alpha_s=alpha, beta_Bps=beta, allreduce_s=t_coll), f)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def share_worker(rank, spec, device, rtol, repeats, mode, gather, init, out, ranks=1):
    """One rank's share of `spec` on `device` in a process of its own (so an out-of-memory
    attempt leaves nothing behind): mode "one" is the one-process hierarchy (dsla.amg on a
    SparseTensor); "dist1" the distributed layer on one rank (NCCL on CUDA, Gloo on CPU), i.e.
    everything a rank of the P-rank run computes except its halo; "twin" rank 1 of `ranks` of
    `spec` (the global problem) as a weak-scaling twin: the rank's rows with its halo, exchanged
    with itself. AMG-PCG setup, solve, iterations, hierarchy, and on CUDA the peak memory from
    before the matrix exists."""
    torch.set_num_threads(1)
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    kind, n = spec.split(":")
    if mode in ("dist1", "twin"):
        dist.init_process_group("nccl" if cuda else "gloo", init_method=init, rank=0, world_size=1)
    opts = {} if gather is None or mode == "one" else dict(gather_size=gather)
    try:
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        if mode == "dist1":
            # On a GPU the one-rank matrix is built there (a twin of one rank: the real matrix,
            # no ghosts): the host generator would hold 250M rows in host memory first.
            A = (dsla.distributed.twin(kind, int(n), 0, 1, device=dev) if cuda
                 else getattr(dsla.distributed, kind)(int(n)))
            rows = A.n_owned
        elif mode == "twin":
            A = dsla.distributed.twin(kind, int(n), min(1, ranks - 1), ranks, device=dev)
            rows = A.n_owned
            # A twin cannot be gathered whole: its gather size stays below its global size.
            opts = dict(gather_size=min(gather or 200000, A.shape[0] - 1))
        else:
            A = getattr(dsla, kind)(int(n), device=dev)
            rows = A.shape[0]
        b = torch.ones(rows, dtype=torch.float64, device=dev)
        if cuda:
            # The generator's own transient peak is the benchmark's, not the solve's: the
            # reported peak is the matrix (and b) plus what AMG-PCG adds on top of them.
            gen_peak = torch.cuda.max_memory_allocated() - base
            torch.cuda.reset_peak_memory_stats()
        # One hierarchy alive at a time: the peak is one setup's.
        setups, solves, H, info = timed_amg_pcg(A, b, lambda: dsla.amg(A, **opts), rtol, repeats,
                                                sync, one_alive=True)
        st = H.stats()
        row = dict(problem=spec, device=str(dev), mode=mode, n=rows,
                   setup_s=statistics.median(setups), solve_s=statistics.median(solves),
                   iterations=info.iterations, residual=info.residual,
                   levels=[lv["rows"] for lv in st["levels"]], setup_phases=st.get("setup_time"))
        if mode != "one":
            row["distributed_levels"] = H.num_distributed_levels
            row["galerkin_blocks"] = [lv.get("galerkin_blocks", 0) for lv in st["levels"]]
        row["s_per_iteration"] = row["solve_s"] / max(1, info.iterations)
        if cuda:
            row["peak_bytes_per_dof"] = (torch.cuda.max_memory_allocated() - base) / rows
            row["generation_peak_bytes_per_dof"] = gen_peak / rows
            # Near a full device the caching allocator frees its cache and retries (a sync and
            # unmaps each time): setup time lost to memory pressure shows here.
            ms = torch.cuda.memory_stats()
            row["allocator_retries"] = ms.get("num_alloc_retries")
            row["reserved_peak_bytes_per_dof"] = ms.get("reserved_bytes.all.peak", 0) / rows
    except (torch.cuda.OutOfMemoryError, RuntimeError) as err:
        # dsla's C++ setup raises torch's out-of-memory error as a RuntimeError.
        if "out of memory" not in str(err):
            raise
        row = dict(problem=spec, device=str(dev), mode=mode, oom=str(err).splitlines()[0])
    finally:
        if mode != "one":
            dist.destroy_process_group()
    with open(out, "w") as f:
        json.dump(row, f)


def share_run(spec, device, rtol, repeats, mode="one", gather=None, ranks=1):
    """share_worker in a spawned process; its row (with "oom" when it did not fit)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "share.json")
        init = "file://" + os.path.join(tmp, "init")
        mp.spawn(share_worker, args=(spec, device, rtol, repeats, mode, gather, init, out, ranks),
                 nprocs=1)
        with open(out) as f:
            return json.load(f)


def fitting_share(kind, n_side, target_rows, device, rtol, repeats, mode, gather, ranks=1,
                  shrink=0.8, tries=4, first=0):
    """The share kind:n_side (for mode "twin", n_side is the global problem's side; else the
    share's), or when it does not fit in memory the largest of n_side * shrink^k (k from
    `first`) that does, with times, levels and peak scaled linearly in rows to `target_rows`
    (AMG's work and memory are linear in the rows; stated in the row)."""
    for k in range(first, first + tries):
        m = round(n_side * shrink ** k)
        row = share_run(f"{kind}:{m}", device, rtol, repeats, mode, gather, ranks)
        if "oom" not in row:
            break
        print(f"share {kind}:{m} ({mode}) out of memory: {row['oom'][:160]}", flush=True)
    else:
        raise SystemExit(f"no share of {kind}:{n_side} down to {kind}:{m} fits on {device}")
    label = f"{kind}:{n_side}" + (f" rank 1 of {ranks} (twin)" if mode == "twin" else "")
    if m == n_side:
        return dict(row, problem=label), None
    f = target_rows / row["n"]
    print(f"running {kind}:{m} and scaling by rows (x{f:.3f})", flush=True)
    scaled = dict(row, problem=label, n=target_rows, setup_s=row["setup_s"] * f,
                  solve_s=row["solve_s"] * f, s_per_iteration=row["s_per_iteration"] * f,
                  levels=[round(r * f) for r in row["levels"]], scaled_from=row, scale=f)
    return scaled, row


def model(share, counts, n_target, ranks, alpha, beta, t_coll, gather, overhead=None):
    """The formulas of the docstring. share: share_run's row; counts: count_worker's;
    overhead: calibrate()'s fixed costs per distributed level (setup, per iteration)."""
    levels = share["levels"]
    rows0 = levels[0]
    # Distributed levels at the target: the global level (P times the share's) above gather.
    dist_levels = [r for r in levels if r * ranks > gather]
    L = len(dist_levels)
    Lc = max(1, counts["distributed_levels"])
    it_c = max(1, counts["iterations"])
    face0_c, nb_c = busiest_face(counts["n_side"], counts["ranks"])
    face0, _ = busiest_face(n_target, ranks)
    # Exchanges per distributed level per iteration (a message goes to each neighbour).
    E = counts["solve_messages"] / (it_c * Lc * max(1, nb_c))
    C_i = counts["solve_collectives"] / it_c
    comm_it = sum(E * (alpha + 8 * face0 * (r / rows0) ** (2 / 3) / beta) for r in dist_levels)
    comm_it += C_i * t_coll
    C_s = counts["setup_collectives"] / Lc * max(L, 1)
    M_s = counts["setup_messages"] / Lc * max(L, 1)
    B_s = counts["setup_message_bytes"] / Lc * max(L, 1) * (face0 / max(1, face0_c))
    setup_comm = C_s * t_coll + M_s * alpha + B_s / beta
    r_s, r_i = overhead if overhead else (1.0, 1.0)
    setup = share["setup_s"] * r_s + setup_comm
    it = share["iterations"]
    solve = it * (share["s_per_iteration"] * r_i + comm_it)
    return dict(distributed_levels=L, ratio_setup=r_s, ratio_iteration=r_i, exchanges_per_level_per_iteration=E,
                collectives_per_iteration=C_i, face_rows_level0=face0,
                comm_per_iteration_s=comm_it, setup_comm_s=setup_comm, setup_s=setup,
                solve_s=solve, total_s=setup + solve, iterations=it,
                alpha_s=alpha, beta_Bps=beta, allreduce_s=t_coll)


def calibrate(run, ranks, gather):
    """The distributed layer's cost relative to the one-process share, beyond the counted
    communication (host index work, the split diagonal / off-diagonal products, packing,
    launches): r = (measured - communication) / share, for the setup and per iteration, from
    one count run. Returns (r_setup, r_iteration)."""
    c, sh, n_side = run
    m = model(sh, c, n_side, ranks, c["alpha_s"], c["beta_Bps"], c["allreduce_s"], gather)
    it = max(1, c["iterations"])
    r_s = (c["setup_s"] - m["setup_comm_s"]) / sh["setup_s"]
    r_i = (c["solve_s"] / it - m["comm_per_iteration_s"]) / sh["s_per_iteration"]
    return r_s, r_i


def count(spec, ranks, gather, rtol, device):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "counts.json")
        init = "file://" + os.path.join(tmp, "init")
        mp.spawn(count_worker, args=(ranks, init, spec, gather, rtol, out, device), nprocs=ranks)
        with open(out) as f:
            c = json.load(f)
    c["n_side"] = int(spec.split(":")[1])
    print(f"counts ({spec}, P={ranks}, {c['distributed_levels']} distributed levels, "
          f"{c['iterations']} it): setup {c['setup_collectives']} collectives, "
          f"{c['setup_messages']} messages; solve {c['solve_collectives']} collectives, "
          f"{c['solve_messages']} messages; measured P-rank setup {c['setup_s']:.3f} s, solve "
          f"{c['solve_s']:.3f} s", flush=True)
    return c


def share_of(spec, ranks):
    kind, n = spec.split(":")
    return f"{kind}:{round((int(n) ** 3 / ranks) ** (1 / 3))}", int(n)


def count_and_check(a, Pc):
    """Counts from real Pc-rank runs of two sizes, the one-process shares, the ratio fitted on the
    first and the model checked on the second."""
    # 1. Counts from real Pc-rank runs of two sizes: the first calibrates the fixed cost of the
    # distributed layer, the second checks the calibrated model against a measurement.
    specs = a.count.split(",")
    runs = []
    for spec in specs:
        c = count(spec, Pc, a.gather, a.rtol, a.count_device)
        sh_spec, n_side = share_of(spec, Pc)
        sh = share_run(sh_spec, a.count_device, a.rtol, a.repeats)
        runs.append((c, sh, n_side))
    # The ratio from the next-to-last size; the last checks it (a prediction, not a fit).
    fit_run = runs[-2] if len(runs) > 1 else runs[0]
    overhead = calibrate(fit_run, Pc, a.gather)
    print(f"distributed layer / one-process share, beyond communication: setup "
          f"{overhead[0]:.2f}x, per iteration {overhead[1]:.2f}x ({fit_run[0]['problem']})",
          flush=True)
    validation = []
    for c, sh, n_side in runs:
        v = model(sh, c, n_side, Pc, c["alpha_s"], c["beta_Bps"], c["allreduce_s"], a.gather,
                  overhead)
        v.update(problem=c["problem"], measured_setup_s=c["setup_s"],
                 measured_solve_s=c["solve_s"], measured_iterations=c["iterations"], share=sh,
                 calibration_run=c is fit_run[0])
        validation.append(v)
        print(f"model vs measured, {c['problem']} on {Pc} ranks ({a.count_device}, alpha "
              f"{c['alpha_s'] * 1e6:.0f} us, beta {c['beta_Bps'] / 1e9:.2f} GB/s, all-reduce "
              f"{c['allreduce_s'] * 1e6:.0f} us"
              f"{'; fitted' if c is fit_run[0] else '; predicted'}): setup "
              f"{v['setup_s']:.3f} vs {c['setup_s']:.3f} s, solve {v['solve_s']:.3f} vs "
              f"{c['solve_s']:.3f} s", flush=True)
    return runs, validation, overhead


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="poisson3d:1000")
    ap.add_argument("--ranks", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--count", default="poisson3d:36,poisson3d:48",
                    help="problems of the P-rank count runs: the next-to-last gives the "
                         "distributed layer's ratio to one process, the last checks the model")
    ap.add_argument("--count-device", default="cpu",
                    help="device of the count runs (cuda: Gloo ranks sharing this GPU)")
    ap.add_argument("--count-ranks", type=int, default=0, help="ranks of the count run (0: --ranks)")
    ap.add_argument("--gather", type=int, default=2000,
                    help="gather_size of the count run (small: several distributed levels)")
    ap.add_argument("--target-gather", type=int, default=None,
                    help="gather_size of the projected run (default: AmgOptions', 200000)")
    ap.add_argument("--share", default="twin", choices=["twin", "dist1", "one"],
                    help="the target's share as a weak-scaling twin (twin: rank 1 of --ranks "
                         "with its halo exchanged with itself; its AMG is that of the twin's "
                         "operator), one rank of the distributed layer (dist1: no halo) or one "
                         "process (one: times the count runs' ratio)")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--latency-us", type=float, default=10.0)
    ap.add_argument("--link-gbs", type=float, default=350.0)
    ap.add_argument("--allreduce-us", type=float, default=15.0)
    ap.add_argument("--target-seconds", type=float, default=10.0)
    ap.add_argument("--counts-json", default=None,
                    help="take the counts, shares and ratios from this earlier JSON of this "
                         "script (skips the count runs)")
    ap.add_argument("--first-shrink", type=int, default=0,
                    help="try the share at 0.8^k of its size from k = this (known not to fit)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    Pc = a.count_ranks or a.ranks
    if a.counts_json:
        # The counts, their one-process shares and the checked model of an earlier run.
        with open(a.counts_json) as f:
            prev = json.load(f)
        validation = prev["validation"]
        fit = next(v for v in validation if v["calibration_run"])
        overhead = (fit["ratio_setup"], fit["ratio_iteration"])
        runs = [(c, v["share"], c["n_side"]) for c, v in zip(prev["counts"], validation)]
        print(f"counts, shares and ratios from {a.counts_json} (commit {prev.get('commit')})",
              flush=True)
    else:
        runs, validation, overhead = count_and_check(a, Pc)
    counts = runs[-1][0]
    # 3. The target: one rank's share on this device, the model with the link figures given.
    kt, nt = a.target.split(":")
    n_share = round((int(nt) ** 3 / a.ranks) ** (1 / 3))
    if a.share == "twin":
        # The twin's own rows: the box of rank 1 in dsla's process grid (near N^3 / P).
        share, _ = fitting_share(kt, int(nt), int(nt) ** 3 / a.ranks, a.device, a.rtol,
                                 a.repeats, "twin", a.target_gather, a.ranks,
                                 first=a.first_shrink)
    else:
        share, _ = fitting_share(kt, n_share, n_share ** 3, a.device, a.rtol, a.repeats, a.share,
                                 a.target_gather, first=a.first_shrink)
    # A distributed share (one rank, or a twin) already holds the distributed layer's own work:
    # the ratio measured by the count runs (beyond communication) applies only to a one-process
    # share.
    ratio = overhead if a.share == "one" else (1.0, 1.0)
    proj = model(share, counts, int(nt), a.ranks, a.latency_us * 1e-6, a.link_gbs * 1e9,
                 a.allreduce_us * 1e-6, a.target_gather or 200000, ratio)
    proj.update(share=share, share_mode=a.share, target=a.target, ranks=a.ranks,
                target_seconds=a.target_seconds, meets_target=proj["total_s"] <= a.target_seconds)
    if "peak_bytes_per_dof" in share:
        # Per GPU: the share's peak, plus per distributed level the ghost rows of the vectors a
        # cycle exchanges (5 of them, 8 B a row, at the busiest face times the neighbours).
        _, nb = busiest_face(int(nt), a.ranks)
        ghosts = sum(proj["face_rows_level0"] * (r / share["levels"][0]) ** (2 / 3)
                     for r in share["levels"][:proj["distributed_levels"]])
        proj["memory_per_gpu_bytes"] = share["peak_bytes_per_dof"] * share["n"] + 40 * nb * ghosts
        proj["device_memory_bytes"] = torch.cuda.get_device_properties(0).total_memory
        proj["fits_in_device_memory"] = proj["memory_per_gpu_bytes"] <= proj["device_memory_bytes"]
        print(f"projected memory per GPU {proj['memory_per_gpu_bytes'] / 2**30:.1f} GiB of "
              f"{proj['device_memory_bytes'] / 2**30:.1f} GiB", flush=True)
    print(f"share {share['problem']} on {a.device}: setup {share['setup_s']:.3f} s, solve "
          f"{share['solve_s']:.3f} s, {share['iterations']} it"
          + (f", {share['peak_bytes_per_dof']:.0f} B/DOF" if "peak_bytes_per_dof" in share
             else "")
          + (f", Galerkin blocks {share['galerkin_blocks']}" if "galerkin_blocks" in share else "")
          + (f", phases {share['setup_phases']}" if share.get("setup_phases") else ""), flush=True)
    print(f"projected {a.target} on {a.ranks} ranks: setup {proj['setup_s']:.3f} s (comm "
          f"{proj['setup_comm_s'] * 1e3:.1f} ms) + solve {proj['solve_s']:.3f} s (comm "
          f"{proj['comm_per_iteration_s'] * 1e6:.0f} us/it) = {proj['total_s']:.3f} s "
          f"(target {a.target_seconds} s)", flush=True)
    doc = _meta.header("dist_amg_projection", cuda=a.device.startswith("cuda"))
    doc.update(counts=[r[0] for r in runs], validation=validation, projection=proj,
               counts_from=a.counts_json,
               model="setup_P = r_s setup_share + C_s t_coll + M_s alpha + B_s / beta; solve_P "
                     "= it (r_i t_it_share + sum_l E (alpha + f_l / beta) + C_i t_coll)")
    _meta.write(doc, a.out, f"dist-amg-projection-{torch.device(a.device).type}")


if __name__ == "__main__":
    main()
