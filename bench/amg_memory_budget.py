#!/usr/bin/env python3
"""Where AMG-PCG's memory goes (issue #17 item 2): the bytes per DOF of each part of
dsla.solve(A, b, precond="amg") — the user's matrix and vectors, every level's operator,
prolongator P and restriction R = Pᵀ (stored), the largest setup temporary (A_l P_l, the
Galerkin product's intermediate), the smoothers' vectors and the CG workspace — counted from
the hierarchy's own matrices (nnz and index dtype), and on CUDA the measured peak beside them.

    python3 bench/amg_memory_budget.py [--device cuda] [--sizes poisson2d:1024,poisson3d:64]

The count is a model of what must be resident, not an allocator trace: the gap between the
modelled sum and the measured peak is what the setup keeps alive beyond its intermediate (or the
caching allocator's rounding). aggregation="mis2" on every device (the GPU's default), so the CPU
count is the GPU's hierarchy.
"""
import argparse
import datetime
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dsla  # noqa: E402
import _meta  # noqa: E402
from amg_profile import matrix_bytes  # noqa: E402


def budget(spec, device):
    A = dsla.generate(spec, device=device)
    n = A.shape[0]
    vec = 8 * n
    cuda = device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() - matrix_bytes(A)
    b = torch.ones(n, dtype=torch.float64, device=device)
    x, info = dsla.solve(A, b, method="cg", precond="amg", rtol=1e-6, return_info=True)
    measured = (torch.cuda.max_memory_allocated() - base) / n if cuda else None
    del x
    H = dsla.amg(A, aggregation="mis2")
    L = H.num_levels
    parts = {"matrix A": matrix_bytes(A), "b and x": 2 * vec}
    ops = sum(matrix_bytes(H.level_matrix(l)) for l in range(1, L))
    parts["coarse operators A_1.."] = ops
    P0 = H.prolongator(0) if L > 1 else None
    parts["P_0 and R_0"] = 2 * matrix_bytes(P0) if P0 is not None else 0
    parts["P_l, R_l (l >= 1)"] = sum(2 * matrix_bytes(H.prolongator(l)) for l in range(1, L - 1))
    # Smoothers: D^-1 per level and, on the finest, the lumped filter's values (A's pattern).
    rows = [H.level_matrix(l).shape[0] for l in range(L)]
    parts["smoother vectors (D^-1, filter diag)"] = sum(8 * r for r in rows) + 8 * n
    parts["finest filtered values"] = A.nnz * 8
    # Cycle: x_l, b_l, r_l per level and two Chebyshev vectors; CG: r, z, p, q.
    parts["cycle vectors"] = sum(5 * 8 * r for r in rows)
    parts["CG workspace"] = 4 * vec
    # The largest setup temporary: A_l P_l of the finest level (int32/64 pattern + values).
    AP = (A @ P0) if P0 is not None else None
    parts["setup temporary A_0 P_0 (peak only)"] = matrix_bytes(AP) if AP is not None else 0
    row = dict(problem=spec, device=device, n=n, levels=L, iterations=int(info.iterations),
               operator_complexity=H.stats()["operator_complexity"],
               parts_B_per_DOF={k: v / n for k, v in parts.items()},
               model_peak_B_per_DOF=sum(parts.values()) / n,
               measured_peak_B_per_DOF=measured,
               nnz={"A": A.nnz, "P0": P0.nnz if P0 is not None else 0,
                    "AP0": AP.nnz if AP is not None else 0})
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", default="poisson2d:1024,poisson3d:64")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args()
    rows = []
    for spec in args.sizes.split(","):
        r = budget(spec, args.device)
        rows.append(r)
        print(f"{spec} ({args.device}, {r['levels']} levels, OC {r['operator_complexity']:.2f}, "
              f"{r['iterations']} it): model {r['model_peak_B_per_DOF']:.0f} B/DOF" +
              (f", measured peak {r['measured_peak_B_per_DOF']:.0f}"
               if r["measured_peak_B_per_DOF"] is not None else ""), flush=True)
        for k, v in r["parts_B_per_DOF"].items():
            print(f"   {k:<40} {v:7.1f}")
    doc = dict(benchmark="amg_memory_budget", device=args.device,
               commit=_meta.commit(),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               rows=rows)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "amg-memory-%s-%s.json" % (args.device,
                                                            time.strftime("%Y%m%d-%H%M%S")))
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
