#!/usr/bin/env python3
"""GPU-memory probe of the weak-scaling twin (bench/dist_amg_projection.py's share): where one
rank's AMG-PCG peak is, per owned row. One NCCL rank holds rank 1 of P ranks of `spec` with its
halo; the allocator's history is recorded from before the matrix exists over one setup and one
solve (torch.cuda.memory._record_memory_history, C++ frames: build with CXXFLAGS=-g1 to see
file:line). Prints the matrix's bytes, the setup's and the solve's peaks and what stays alive
after the setup, per row, and the largest blocks alive at the peak with their allocation
sites; writes them as JSON (and the snapshot with --snapshot).

    python3 bench/probes/dist_amg_twin_memory.py poisson3d:800 4 [--out DIR] [--snapshot]
"""
import argparse
import json
import os
import pickle
import sys
import tempfile
import time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import dsla  # noqa: E402


def blocks_at_peak(trace):
    """Replays the allocator's trace: the peak of the bytes allocated within it and the blocks
    alive there (largest first)."""
    live, total, peak, at_peak, when = {}, 0, 0, {}, 0
    for i, e in enumerate(trace):
        if e["action"] == "alloc":
            live[e["addr"]] = e
            total += e["size"]
            if total > peak:
                peak, at_peak, when = total, dict(live), i
        elif e["action"] == "free_completed":
            x = live.pop(e["addr"], None)
            if x is not None:
                total -= x["size"]
    return peak, when, sorted(at_peak.values(), key=lambda e: -e["size"])


def site(e, depth=3):
    frames = [f for f in e.get("frames", []) if "dsla" in f["name"] or "dsla" in f.get("filename", "")]
    out = []
    for f in frames[:depth]:
        name = f["name"].split("(")[0].replace("dsla::", "")
        where = f"{os.path.basename(f['filename'])}:{f['line']}" if f.get("line") else ""
        out.append(f"{name} {where}".strip())
    return " <- ".join(out) or "(python / torch)"


def worker(rank, spec, ranks, init, out, snapshot_path, top):
    torch.set_num_threads(1)
    dist.init_process_group("nccl", init_method=init, rank=0, world_size=1)
    try:
        kind, n = spec.split(":")
        torch.cuda.empty_cache()
        base = torch.cuda.memory_allocated()
        torch.cuda.memory._record_memory_history(max_entries=4_000_000)
        A = dsla.distributed.twin(kind, int(n), 1, ranks, device="cuda")
        rows = A.n_owned
        b = torch.ones(rows, dtype=torch.float64, device="cuda")
        torch.cuda.synchronize()
        matrix = torch.cuda.memory_allocated() - base
        torch.cuda.reset_peak_memory_stats()
        opts = dict(gather_size=min(200000, A.shape[0] - 1))
        setup_s = setup_peak = kept = solve_peak = None
        levels, iterations, oom = [], None, None
        try:
            t0 = time.perf_counter()
            H = dsla.amg(A, **opts)
            torch.cuda.synchronize()
            setup_s = time.perf_counter() - t0
            setup_peak = torch.cuda.max_memory_allocated() - base
            kept = torch.cuda.memory_allocated() - base
            levels = [lv["rows"] for lv in H.stats()["levels"]]
            torch.cuda.reset_peak_memory_stats()
            _, info = dsla.solve(A, b, method="cg", M=H, rtol=1e-6, return_info=True)
            torch.cuda.synchronize()
            iterations = info.iterations
            solve_peak = torch.cuda.max_memory_allocated() - base
        except (torch.cuda.OutOfMemoryError, RuntimeError) as err:
            # dsla's C++ raises torch's out-of-memory error as a RuntimeError: the trace up to
            # the failed allocation still says what was alive.
            if "out of memory" not in str(err):
                raise
            oom = str(err).splitlines()[0][:300]
        snap = torch.cuda.memory._snapshot()
        torch.cuda.memory._record_memory_history(enabled=None)
        # Near a full device the caching allocator frees its cache and retries (a sync and
        # unmaps each time): time the setup loses to memory pressure, not to its own work.
        ms = torch.cuda.memory_stats()
        allocator = {k: ms.get(k) for k in ("num_alloc_retries", "num_ooms",
                                            "reserved_bytes.all.peak", "num_device_alloc",
                                            "num_device_free")}
    finally:
        dist.destroy_process_group()
    peak, when, blocks = blocks_at_peak(snap["device_traces"][torch.cuda.current_device()])
    if snapshot_path:
        with open(snapshot_path, "wb") as f:
            pickle.dump(snap, f)
    per_row = lambda v: None if v is None else v / rows  # noqa: E731
    res = dict(problem=f"{spec} rank 1 of {ranks} (twin)", rows=rows, levels=levels,
               iterations=iterations, setup_s=setup_s, oom=oom,
               bytes_per_row=dict(matrix=matrix / rows, setup_peak=per_row(setup_peak),
                                  after_setup=per_row(kept), solve_peak=per_row(solve_peak),
                                  trace_peak=peak / rows),
               peak_event=when, allocator=allocator,
               alive_at_peak=[dict(bytes=e["size"], site=site(e)) for e in blocks[:top]])
    with open(out, "w") as f:
        json.dump(res, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec", help="poisson2d:N or poisson3d:N (the global problem)")
    ap.add_argument("ranks", type=int, help="P: the twin is rank 1 of P")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "results"))
    ap.add_argument("--snapshot", action="store_true", help="also write the allocator snapshot")
    ap.add_argument("--top", type=int, default=40)
    a = ap.parse_args()
    if a.spec.split(":")[0] not in ("poisson2d", "poisson3d"):
        ap.error(f"spec: must be poisson2d:N or poisson3d:N, got {a.spec}")
    if a.ranks < 2:
        ap.error(f"ranks: must be at least 2 (the twin is rank 1 of P), got {a.ranks}")
    if not torch.cuda.is_available():
        ap.error("needs a CUDA device (the probe reads the CUDA caching allocator)")
    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    snap = os.path.join(a.out, f"twin-memory-snapshot-{stamp}.pickle") if a.snapshot else None
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "res.json")
        torch.multiprocessing.spawn(worker, args=(a.spec, a.ranks, "file://" + os.path.join(tmp, "init"),
                                                  out, snap, a.top), nprocs=1)
        with open(out) as f:
            res = json.load(f)
    res["command"] = "python3 " + " ".join(sys.argv)
    res["commit"] = os.environ.get("DSLA_COMMIT", "unknown")
    path = os.path.join(a.out, f"dist-amg-twin-memory-{stamp}.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    br = res["bytes_per_row"]
    if res["oom"]:
        print(f"{res['problem']}: {res['rows']} rows: OUT OF MEMORY: {res['oom']}")
    else:
        print(f"{res['problem']}: {res['rows']} rows, levels {res['levels']}, "
              f"{res['iterations']} it, setup {res['setup_s']:.3f} s")
    print("bytes per owned row: " + ", ".join(f"{k} {v:.1f}" for k, v in br.items()
                                               if v is not None))
    rows = res["rows"]
    print("allocator: " + ", ".join(f"{k} {v}" for k, v in res["allocator"].items()))
    print(f"alive at the traced peak (event {res['peak_event']}):")
    for o in res["alive_at_peak"]:
        print(f"  {o['bytes'] / 2**20:9.1f} MiB {o['bytes'] / rows:6.1f} B/row  {o['site'][:170]}")
    print(path)


if __name__ == "__main__":
    main()
