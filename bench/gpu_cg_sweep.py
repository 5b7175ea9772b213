"""CUDA CG + Jacobi on poisson2d:M: time per iteration of the fused driver for each
check_every (iterations per graph replay / host check), lanes per row (group; 0 = the plan's
choice) and programmatic dependent launch on/off (pdl). CUDA events, median of 5 after a
warm-up; JSON to --out.

    python bench/gpu_cg_sweep.py --size 1024 --out bench/results/gpu-cg-sweep.json
"""
import argparse
import json
import statistics
import sys

import torch

import dsla
from dsla import _C


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--check-every", default="16,32,64,128")
    ap.add_argument("--groups", default="0,1,2")
    ap.add_argument("--pdl", default="1,0", help="programmatic dependent launch: 1, 0 or both")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_cg_sweep: no CUDA device; nothing to do")
        return 0
    A = dsla.poisson2d(args.size).cuda()
    n = A.shape[0]
    b = torch.ones(n, dtype=torch.float64, device="cuda")
    d = 1.0 / A.diagonal()
    rows = []
    for ce in [int(s) for s in args.check_every.split(",")]:
        for g in [int(s) for s in args.groups.split(",")]:
            for pdl in [bool(int(s)) for s in args.pdl.split(",")]:
                kw = dict(rtol=1e-6, check_every=ce, group=g, pdl=pdl)
                _C._cuda_cg(A._m, b, d, **kw)  # warm-up
                ts = []
                for _ in range(5):
                    s = torch.cuda.Event(enable_timing=True)
                    e = torch.cuda.Event(enable_timing=True)
                    s.record()
                    out = _C._cuda_cg(A._m, b, d, **kw)
                    e.record()
                    e.synchronize()
                    ts.append(s.elapsed_time(e))
                it = int(out["iterations"])
                rows.append({"check_every": ce, "group": g, "pdl": pdl,
                             "ms_per_it": statistics.median(ts) / it, "it": it,
                             "status": out["status"],
                             "residual": float(out["residual"][0])})
                print(json.dumps(rows[-1]), flush=True)
    if args.out:
        doc = {"machine": {"gpu": torch.cuda.get_device_properties(0).name},
               "protocol": "CUDA events, median of 5, poisson2d:%d CG+Jacobi fused driver, "
                           "rtol 1e-6" % args.size, "sweep": rows}
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
