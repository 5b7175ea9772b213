#!/usr/bin/env python3
"""Where the distributed AMG setup's time goes against the one-process setup on the same matrix:
both under torch.profiler (CPU and, on CUDA, kernel activity), one rank (NCCL on CUDA, Gloo on
CPU), after a warm-up. Prints the setup's wall time and phases (H.stats()['setup_time']), the
ATen ops with the most host time (self), the kernels with the most device time, and the host
syncs (cudaStreamSynchronize / cudaMemcpy*, the round trips a distributed setup pays per
.item() or host copy); writes them as JSON.

    python3 bench/dist_amg_setup_profile.py [--problem poisson3d:128] [--device cuda] [--top 25]
"""
import argparse
import json
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
    with profile(activities=acts) as prof:
        H = build()
        sync()
    ev = prof.key_averages()
    dev_key = "self_device_time_total" if hasattr(ev[0], "self_device_time_total") else "self_cuda_time_total"
    syncs = {e.key: e.count for e in ev
             if e.key in ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaMemcpyAsync",
                          "cudaMemcpy", "cudaEventSynchronize")}
    return dict(wall_s=wall, phases=H.stats().get("setup_time"),
                levels=[lv["rows"] for lv in H.stats()["levels"]],
                host_ops=table(ev, "self_cpu_time_total", top),
                device_ops=table(ev, dev_key, top) if cuda else [],
                sync_calls=syncs)


def worker(rank, spec, device, gather, top, init, out):
    torch.set_num_threads(1)
    cuda = device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    dist.init_process_group("nccl" if cuda else "gloo", init_method=init, rank=0, world_size=1)
    try:
        kind, n = spec.split(":")
        Ad = getattr(dsla.distributed, kind)(int(n))
        Ad = Ad.cuda() if cuda else Ad
        A = getattr(dsla, kind)(int(n), device=device)
        opts = dict(gather_size=gather) if gather else {}
        res = dict(one_process=profiled_setup(lambda: dsla.amg(A), sync, cuda, top),
                   distributed_one_rank=profiled_setup(lambda: dsla.amg(Ad, **opts), sync, cuda,
                                                       top))
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
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "prof.json")
        torch.multiprocessing.spawn(worker, args=(a.problem, a.device, a.gather, a.top,
                                                  "file://" + os.path.join(tmp, "init"), out),
                                    nprocs=1)
        with open(out) as f:
            res = json.load(f)
    for name, r in res.items():
        print(f"== {name}: setup {r['wall_s']:.3f} s, levels {r['levels']}, phases "
              + ", ".join(f"{k} {v:.3f}" for k, v in (r["phases"] or {}).items()))
        print(f"   host syncs / copies: {r['sync_calls']}")
        print("   host time (self), top ops:")
        for o in r["host_ops"][:15]:
            print(f"     {o['self_cpu_us'] / 1e3:9.2f} ms  {o['calls']:6d}x  {o['name']}")
        if r["device_ops"]:
            print("   device time, top kernels / ops:")
            for o in r["device_ops"][:15]:
                print(f"     {o['device_us'] / 1e3:9.2f} ms  {o['calls']:6d}x  {o['name'][:90]}")
    doc = _meta.header("dist_amg_setup_profile", cuda=a.device == "cuda")
    doc.update(problem=a.problem, device=a.device, gather_size=a.gather, **res)
    _meta.write(doc, a.out, f"dist-amg-setup-profile-{a.device}")


if __name__ == "__main__":
    main()
