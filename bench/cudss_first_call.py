#!/usr/bin/env python3
"""cuDSS first call (issue #17 item 5): a Cholesky solve of poisson2d:1024 in a fresh process,
from the call to the answer, and where the time goes — each repeat is a new Python process:

    import      import torch, dsla (extension and its libraries loaded)
    context     the CUDA context (torch.cuda.init and a first kernel)
    generate    the matrix on the device
    first       dsla.solve(A, b, method="cholesky"): call to answer (synchronized)
    second      the same on a new Pattern in the same process (no cached analysis): what a
                first call would cost without the one-time set-up
    one_time    first - second: library / handle / threading-layer set-up

Variants (--variants), to find where the one-time part goes and what takes it away:
    default             as above
    no_threading        CUDSS_THREADING_LIB=none (cuDSS's host threading layer not loaded)
    prepare             dsla.cudss_prepare(background=False) first (timed as prepare_s): the
                        one-time set-up on a 4 x 4 problem; the first call after it shows what
                        is left
    prepare_background  dsla.cudss_prepare() (a background thread) right after the import, then
                        the context, the matrix and the first call as a program would do them
                        (the first call waits for the thread if it is still running)
    trace               DSLA_CUDSS_TRACE=1: the phases of the first and second call (cuDSS's
                        handle, analysis, factorization, solve and dsla's steps around them;
                        synchronized), in `phases`
    ordering_cudss      as trace, with DSLA_CUDSS_ORDERING=cudss (cuDSS's own reordering in
                        place of dsla's nested dissection)

    python3 bench/cudss_first_call.py [--n 1024] [--repeats 5] [--variants default,prepare]

Without cuDSS in the build the child reports the error and the script exits 2.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _meta  # noqa: E402

CHILD = r"""
import json, sys, time
variant = sys.argv[3]
t0 = time.perf_counter()
import torch
sys.path.insert(0, sys.argv[2])
import dsla
t1 = time.perf_counter()
out = dict(features={k: bool(v) for k, v in dsla.features.items()})
if variant == "prepare_background":
    dsla.cudss_prepare()
torch.cuda.init()
torch.ones(1, device="cuda").sum().item()
t2 = time.perf_counter()
try:
    if variant == "prepare":
        dsla.cudss_prepare(background=False)
        out["prepare_s"] = time.perf_counter() - t2
        t2 = time.perf_counter()
    n = int(sys.argv[1])
    A = dsla.poisson2d(n, device="cuda")
    b = torch.ones(A.shape[0], dtype=torch.float64, device="cuda")
    torch.cuda.synchronize()
    t3 = time.perf_counter()
    print("FIRST", file=sys.stderr, flush=True)
    x = dsla.solve(A, b, method="cholesky")
    torch.cuda.synchronize()
    t4 = time.perf_counter()
    A2 = dsla.poisson2d(n, device="cuda")  # a new Pattern: no cached analysis
    torch.cuda.synchronize()
    t5 = time.perf_counter()
    print("SECOND", file=sys.stderr, flush=True)
    x2 = dsla.solve(A2, b, method="cholesky")
    torch.cuda.synchronize()
    t6 = time.perf_counter()
    res = float((b - A @ x).norm() / b.norm())
    out.update(import_s=t1 - t0, context_s=t2 - t1, generate_s=t3 - t2, first_s=t4 - t3,
               second_s=t6 - t5, residual=res)
except Exception as e:  # no cuDSS in this build, or a failing factorization
    out.update(error=f"{type(e).__name__}: {e}")
print("RESULT " + json.dumps(out))
"""


def phases(stderr):
    """DSLA_CUDSS_TRACE lines of the child, by call: {"first": {"analysis": s, ...}, ...}."""
    got, call = {}, "before"
    for line in stderr.splitlines():
        if line in ("FIRST", "SECOND"):
            call = line.lower()
        elif line.startswith("dsla cuDSS: "):
            what, sec, _ = line[len("dsla cuDSS: "):].rsplit(" ", 2)
            d = got.setdefault(call, {})
            d[what] = d.get(what, 0.0) + float(sec)
    return got


def run_child(n, root, variant):
    env = dict(os.environ)
    env.pop("DSLA_CUDSS_PREPARE", None)
    if variant == "no_threading":
        env["CUDSS_THREADING_LIB"] = "none"
    if variant in ("trace", "ordering_cudss"):
        env["DSLA_CUDSS_TRACE"] = "1"
    if variant == "ordering_cudss":
        env["DSLA_CUDSS_ORDERING"] = "cudss"
    p = subprocess.run([sys.executable, "-c", CHILD, str(n), os.path.join(root, "python"),
                        variant], capture_output=True, text=True, timeout=300, env=env)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            if variant in ("trace", "ordering_cudss"):
                r["phases"] = phases(p.stderr)
            return r
    return dict(error=(p.stderr.strip().splitlines() or ["no output"])[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--variants",
                    default="default,no_threading,prepare,prepare_background,trace,ordering_cudss")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args()
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    runs, med = [], {}
    keys = ("import_s", "context_s", "generate_s", "first_s", "second_s", "one_time_s")
    for variant in args.variants.split(","):
        vr = []
        for i in range(args.repeats):
            r = run_child(args.n, root, variant)
            r["variant"] = variant
            if "error" in r:
                print(f"{variant} run {i}: {r['error']}", flush=True)
                sys.exit(2)
            r["one_time_s"] = r["first_s"] - r["second_s"]
            vr.append(r)
            print(f"{variant} run {i}: import {r['import_s']:.3f} s, context "
                  f"{r['context_s']:.3f}, generate {r['generate_s']:.3f}, "
                  + (f"prepare {r['prepare_s']:.3f}, " if "prepare_s" in r else "")
                  + f"first call {r['first_s']:.3f} (second {r['second_s']:.3f}, one-time "
                  f"{r['one_time_s']:.3f}), residual {r['residual']:.1e}"
                  + (f", phases {r['phases']}" if "phases" in r else ""), flush=True)
        ks = keys + (("prepare_s",) if variant == "prepare" else ())
        med[variant] = {k: statistics.median(r[k] for r in vr) for k in ks}
        print(f"{variant} median: " + ", ".join(f"{k} {v:.3f}" for k, v in med[variant].items()),
              flush=True)
        runs += vr
    doc = dict(benchmark="cudss_first_call", problem=f"poisson2d:{args.n}",
               commit=_meta.commit(),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               protocol="fresh Python process per repeat; synchronized wall clock",
               median=med, runs=runs)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"cudss-first-call-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
