#!/usr/bin/env python3
"""Where the distributed AMG setup's time goes against the one-process setup on the same matrix:
both under torch.profiler (CPU and, on CUDA, kernel activity), one rank (NCCL on CUDA, Gloo on
CPU), after a warm-up. Prints the setup's wall time and phases (H.stats()['setup_time']), the
ATen ops with the most host time (self), the kernels with the most device time, and the host
syncs (cudaStreamSynchronize / cudaMemcpy*, the round trips a distributed setup pays per
.item() or host copy); writes them as JSON.

With --memory (CUDA), the allocator's history is recorded over one setup of each kind
(torch.cuda.memory._record_memory_history, C++ and Python stacks): the snapshots are written
beside the JSON (open them in pytorch.org/memory_viz), and the blocks alive at the peak are
summed by the first dsla frame of their allocation stack and printed.

With --twin P the distributed matrix is the weak-scaling twin of rank 1 of P ranks (its halo
exchanged with itself; what bench/dist_amg_projection.py measures), against one process on a
grid of about as many rows.

    python3 bench/dist_amg_setup_profile.py [--problem poisson3d:128] [--device cuda] [--top 25]
                                            [--memory] [--twin P] [--no-one]
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time

import torch
import torch.distributed as dist
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import dsla  # noqa: E402
import _meta  # noqa: E402


def table(events, key, top):
    rows = sorted(events, key=lambda e: getattr(e, key), reverse=True)[:top]
    return [dict(name=e.key, calls=e.count, self_cpu_us=e.self_cpu_time_total,
                 device_us=getattr(e, "self_device_time_total", getattr(e, "self_cuda_time_total", 0)))
            for e in rows]


def peak_blocks(trace, key=None):
    """Replays an allocator trace (the entries of one device in a memory snapshot: dicts with
    action 'alloc' / 'free_completed' (or 'free_requested' when the trace has no completions),
    addr, size, frames) and returns (peak bytes, the blocks alive at the peak as
    {label: bytes}), label = key(frames) (default: the first frame naming dsla, else the first)."""
    def default_key(frames):
        for f in frames or []:
            name = f.get("name", "")
            if "dsla" in name or "dsla" in f.get("filename", ""):
                return f"{name} ({os.path.basename(f.get('filename', ''))}:{f.get('line', 0)})"
        f = (frames or [{}])[0]
        return f.get("name", "?")
    key = key or default_key
    free_action = ("free_completed" if any(e["action"] == "free_completed" for e in trace)
                   else "free_requested")
    live, total, peak, at_peak = {}, 0, 0, {}
    for e in trace:
        if e["action"] == "alloc":
            live[e["addr"]] = e
            total += e["size"]
            if total > peak:
                peak, at_peak = total, dict(live)
        elif e["action"] == free_action and e["addr"] in live:
            total -= live.pop(e["addr"])["size"]
    by = {}
    for e in at_peak.values():
        k = key(e.get("frames"))
        by[k] = by.get(k, 0) + e["size"]
    return peak, dict(sorted(by.items(), key=lambda kv: -kv[1]))


def memory_setup(build, sync, path, top):
    """One setup under the allocator's history: the snapshot to `path`, the peak's blocks."""
    import pickle
    H = build()
    del H
    sync()
    torch.cuda.empty_cache()
    torch.cuda.memory._record_memory_history(max_entries=2_000_000)
    try:
        H = build()
        sync()
        snap = torch.cuda.memory._snapshot()
    finally:
        torch.cuda.memory._record_memory_history(enabled=None)
    del H
    with open(path, "wb") as f:
        pickle.dump(snap, f)
    dev = torch.cuda.current_device()
    peak, by = peak_blocks(snap["device_traces"][dev])
    return dict(snapshot=os.path.basename(path), peak_bytes_in_trace=peak,
                alive_at_peak=[dict(site=k, bytes=v) for k, v in list(by.items())[:top]])


def by_step(prof, dev_key, top, min_numel=10**7):
    """The setup's steps (the ranges "dsla level L after S" a distributed level opens,
    dist_level.h SetupTrace): each one's host and device time, and the large copies (aten::copy_
    of at least min_numel elements: host <-> device transfers, dtype conversions) by the step
    they ran in."""
    steps, copies = {}, {}
    dev_total = "device_time_total" if dev_key.startswith("self_device") else "cuda_time_total"
    for e in prof.events():
        if e.name.startswith("dsla level"):
            r = steps.setdefault(e.name, dict(step=e.name, calls=0, cpu_us=0.0, device_us=0.0))
            r["calls"] += 1
            r["cpu_us"] += e.cpu_time_total
            r["device_us"] += getattr(e, dev_total, 0)
        elif e.name == "aten::copy_":
            shapes = e.input_shapes or []
            numel = max((math.prod(x) for x in shapes if x), default=0)
            if numel < min_numel:
                continue
            p = e.cpu_parent
            while p is not None and not p.name.startswith("dsla level"):
                p = p.cpu_parent
            key = (p.name if p is not None else "(outside the steps)", str(shapes[:2]))
            r = copies.setdefault(key, dict(step=key[0], shapes=key[1], calls=0, cpu_us=0.0,
                                            device_us=0.0))
            r["calls"] += 1
            r["cpu_us"] += e.self_cpu_time_total
            r["device_us"] += getattr(e, dev_total, 0)
    order = lambda r: -(r["device_us"] + r["cpu_us"])  # noqa: E731
    return sorted(steps.values(), key=order)[:top], sorted(copies.values(), key=order)[:top]


def profiled_setup(build, sync, cuda, top):
    H = build()  # warm-up (plans, allocator, first-use library work)
    del H
    sync()
    t0 = time.perf_counter()
    H = build()
    sync()
    wall = time.perf_counter() - t0
    del H
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=acts, record_shapes=True) as prof:
        H = build()
        sync()
    ev = prof.key_averages()
    # The copies (host <-> device transfers and dtype conversions) by input shape: which arrays
    # cross, and how often.
    by_shape = [e for e in prof.key_averages(group_by_input_shape=True)
                if e.key in ("aten::copy_", "aten::_to_copy")]
    dev_key = "self_device_time_total" if hasattr(ev[0], "self_device_time_total") else "self_cuda_time_total"
    syncs = {e.key: e.count for e in ev
             if e.key in ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaMemcpyAsync",
                          "cudaMemcpy", "cudaEventSynchronize")}
    steps, step_copies = by_step(prof, dev_key, top)
    return dict(wall_s=wall, phases=H.stats().get("setup_time"), steps=steps,
                step_copies=step_copies,
                levels=[lv["rows"] for lv in H.stats()["levels"]],
                galerkin_blocks=[lv.get("galerkin_blocks", 0) for lv in H.stats()["levels"]],
                host_ops=table(ev, "self_cpu_time_total", top),
                device_ops=table(ev, dev_key, top) if cuda else [],
                sync_calls=syncs,
                copies=[dict(name=e.key, shapes=str(e.input_shapes), calls=e.count,
                             self_cpu_us=e.self_cpu_time_total,
                             device_us=getattr(e, dev_key, 0))
                        for e in sorted(by_shape, key=lambda e: getattr(e, dev_key, 0)
                                        + e.self_cpu_time_total, reverse=True)[:top]])


def worker(rank, spec, device, gather, top, init, out, memory=False, out_dir=None, twin=0,
           one=True):
    torch.set_num_threads(1)
    cuda = device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    dist.init_process_group("nccl" if cuda else "gloo", init_method=init, rank=0, world_size=1)
    try:
        kind, n = spec.split(":")
        opts = dict(gather_size=gather) if gather else {}
        if twin:
            # Rank 1 of `twin` ranks with its halo (what the projection measures); the one
            # process runs the same kind on about as many rows.
            Ad = dsla.distributed.twin(kind, int(n), 1, twin, device=device)
            opts["gather_size"] = min(gather or 200000, Ad.shape[0] - 1)
            dim = {"poisson2d": 2, "poisson3d": 3}[kind]
            A = getattr(dsla, kind)(round(Ad.n_owned ** (1 / dim)), device=device) if one else None
        else:
            Ad = getattr(dsla.distributed, kind)(int(n))
            Ad = Ad.cuda() if cuda else Ad
            A = getattr(dsla, kind)(int(n), device=device) if one else None
        res = {}
        if one:
            res["one_process"] = profiled_setup(lambda: dsla.amg(A), sync, cuda, top)
        res["distributed_one_rank"] = profiled_setup(lambda: dsla.amg(Ad, **opts), sync, cuda, top)
        if memory and cuda:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            builds = [("one_process", lambda: dsla.amg(A))] if one else []
            builds.append(("distributed_one_rank", lambda: dsla.amg(Ad, **opts)))
            for name, build in builds:
                path = os.path.join(out_dir, f"memory-snapshot-{name}-{stamp}.pickle")
                res[name]["memory"] = memory_setup(build, sync, path, top)
    finally:
        dist.destroy_process_group()
    with open(out, "w") as f:
        json.dump(res, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="poisson3d:128")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--gather", type=int, default=None)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--memory", action="store_true",
                    help="CUDA: record the allocator's history over a setup of each kind")
    ap.add_argument("--twin", type=int, default=0, metavar="P",
                    help="profile the weak-scaling twin of rank 1 of P ranks (poisson2d/3d) "
                         "instead of the whole matrix on one rank")
    ap.add_argument("--no-one", action="store_true",
                    help="skip the one-process comparison (a share as large as one GPU's memory "
                         "leaves no room for both)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    if a.twin and a.problem.split(":")[0] not in ("poisson2d", "poisson3d"):
        ap.error(f"--twin: the problem must be poisson2d:N or poisson3d:N, got {a.problem}")
    if a.twin == 1 or a.twin < 0:
        ap.error(f"--twin: P must be at least 2 (rank 1 of P), got {a.twin}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "prof.json")
        os.makedirs(a.out, exist_ok=True)
        torch.multiprocessing.spawn(worker, args=(a.problem, a.device, a.gather, a.top,
                                                  "file://" + os.path.join(tmp, "init"), out,
                                                  a.memory, a.out, a.twin, not a.no_one),
                                    nprocs=1)
        with open(out) as f:
            res = json.load(f)
    for name, r in res.items():
        print(f"== {name}: setup {r['wall_s']:.3f} s, levels {r['levels']}, "
              f"Galerkin blocks {r['galerkin_blocks']}, phases "
              + ", ".join(f"{k} {v:.3f}" for k, v in (r["phases"] or {}).items()))
        print(f"   host syncs / copies: {r['sync_calls']}")
        print("   host time (self), top ops:")
        for o in r["host_ops"][:15]:
            print(f"     {o['self_cpu_us'] / 1e3:9.2f} ms  {o['calls']:6d}x  {o['name']}")
        if "memory" in r:
            m = r["memory"]
            print(f"   alive at the setup's peak ({m['peak_bytes_in_trace'] / 2**20:.1f} MiB, "
                  f"{m['snapshot']}):")
            for o in m["alive_at_peak"][:15]:
                print(f"     {o['bytes'] / 2**20:9.1f} MiB  {o['site'][:100]}")
        if r["device_ops"]:
            print("   device time, top kernels / ops:")
            for o in r["device_ops"][:15]:
                print(f"     {o['device_us'] / 1e3:9.2f} ms  {o['calls']:6d}x  {o['name'][:90]}")
        if r.get("steps"):
            print("   steps (host ms, device ms):")
            for o in r["steps"][:25]:
                print(f"     {o['cpu_us'] / 1e3:9.2f} {o['device_us'] / 1e3:9.2f}  {o['step']}")
        if r.get("step_copies"):
            print("   large copies by step (host ms, device ms):")
            for o in r["step_copies"][:15]:
                print(f"     {o['cpu_us'] / 1e3:9.2f} {o['device_us'] / 1e3:9.2f}  {o['calls']:4d}x  "
                      f"{o['step']}  {o['shapes'][:80]}")
        if r.get("copies"):
            print("   copies by input shape (device ms, host ms):")
            for o in r["copies"][:12]:
                print(f"     {o['device_us'] / 1e3:9.2f} {o['self_cpu_us'] / 1e3:9.2f}  "
                      f"{o['calls']:5d}x  {o['name']} {o['shapes'][:110]}")
    doc = _meta.header("dist_amg_setup_profile", cuda=a.device == "cuda")
    doc.update(problem=a.problem, device=a.device, gather_size=a.gather, twin_ranks=a.twin, **res)
    _meta.write(doc, a.out, f"dist-amg-setup-profile-{a.device}")


if __name__ == "__main__":
    main()
