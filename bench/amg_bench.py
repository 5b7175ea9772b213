"""AMG benchmark: setup + solve of AMG-preconditioned CG (dsla.amg_solve, accel="cg") on the
canonical problems and SuiteSparse matrices, fp64, rtol on the true residual, x0 = 0.

    python bench/amg_bench.py --device cpu --threads 2 --out bench/results
    python bench/amg_bench.py --device cuda --out bench/results/gpu --sizes poisson2d:1024 poisson2d:4096

Right-hand side: b = 1 for generated problems, b = A·1 for matrices (``mtx:NAME`` reads
../shared/data/NAME.mtx or $DSLA_DATA_DIR). Timings: median of --repeats runs after one warm-up
(CUDA: synchronized, so setup and solve are wall times of finished work). Writes one JSON file
of records (see bench/make_table.py).
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

import torch  # noqa: E402

import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402

DEFAULT_SIZES = ["poisson2d:256", "poisson2d:1024", "poisson3d:32", "poisson3d:64",
                 "aniso2d:512:1e-3", "mtx:gr_30_30", "mtx:bcsstk08", "mtx:bcsstk16"]
# Every SPD matrix of ../shared/data (INDEX.md): the "converges where CG + Jacobi does, in far
# fewer iterations" comparison of issue #5 (--compare-cg).
SPD_MATRICES = ["mtx:bcsstk03", "mtx:gr_30_30", "mtx:494_bus", "mtx:662_bus", "mtx:bcsstk08",
                "mtx:bcsstk09", "mtx:bcsstk13", "mtx:bcsstk16"]


def machine(device):
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return _meta.machine()


def problem(spec, device):
    if spec.startswith("mtx:"):
        data = pathlib.Path(os.environ.get("DSLA_DATA_DIR", ROOT.parent / "shared" / "data"))
        A = dsla.read_mtx(str(data / f"{spec[4:]}.mtx")).to(device=device, dtype=torch.float64)
        b = A @ torch.ones(A.shape[1], dtype=torch.float64, device=device)
        return A, b
    A = dsla.generate(spec, dtype=torch.float64, device=device)
    return A, torch.ones(A.shape[0], dtype=torch.float64, device=device)


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_one(A, b, device, rtol, maxiter, options):
    sync(device)
    t0 = time.perf_counter()
    H = dsla.amg(A, **options)
    sync(device)
    t1 = time.perf_counter()
    x, info = H.solve(b, rtol=rtol, maxiter=maxiter, accel="cg")
    sync(device)
    t2 = time.perf_counter()
    r = b - A @ x
    res = (r.norm() / b.norm()).item()
    return t1 - t0, t2 - t1, info, res, H


def cg_jacobi(A, b, device, rtol, maxiter):
    """The baseline AMG must beat: CG + Jacobi through dsla.solve, same b, rtol and x0 = 0."""
    sync(device)
    t0 = time.perf_counter()
    x, info = dsla.solve(A, b, method="cg", precond="jacobi", rtol=rtol, maxiter=maxiter,
                         return_info=True)
    sync(device)
    t = time.perf_counter() - t0
    res = ((b - A @ x).norm() / b.norm()).item()
    return dict(cg_jacobi_iterations=int(info.iterations), cg_jacobi_s=t,
                cg_jacobi_converged=bool(res <= rtol), cg_jacobi_residual=res)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES,
                    help="problems: poisson2d:N, poisson3d:N, aniso2d:N:EPS, mtx:NAME")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (torch)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--maxiter", type=int, default=500)
    ap.add_argument("--compare-cg", action="store_true",
                    help="also run CG + Jacobi (dsla.solve) on each problem and record its "
                         "iterations, time and convergence")
    ap.add_argument("--cg-maxiter", type=int, default=50000)
    ap.add_argument("--spd-matrices", action="store_true",
                    help="add every SPD matrix of ../shared/data to --sizes")
    ap.add_argument("--option", action="append", default=[],
                    help="AMG option NAME=VALUE (repeatable), e.g. aggregation=mis2")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    options = {}
    for o in args.option:
        k, v = o.split("=", 1)
        try:
            v = int(v)
        except ValueError:
            try:
                v = float(v)
            except ValueError:
                pass
        options[k] = v
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("amg_bench: --device cuda but torch.cuda.is_available() is False")
    records = []
    specs = list(args.sizes) + ([m for m in SPD_MATRICES if m not in args.sizes]
                                if args.spd_matrices else [])
    for spec in specs:
        try:
            A, b = problem(spec, device)
        except Exception as e:  # a missing matrix file should not stop the others
            print(f"{spec}: skipped ({e})", flush=True)
            continue
        N = A.shape[0]
        run_one(A, b, device, args.rtol, args.maxiter, options)  # warm-up (caches, allocator)
        setups, solves, peaks = [], [], []
        for _ in range(args.repeats):
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
            ts, tv, info, res, H = run_one(A, b, device, args.rtol, args.maxiter, options)
            setups.append(ts)
            solves.append(tv)
            if device.startswith("cuda"):
                peaks.append((torch.cuda.max_memory_allocated() - base) / N)
            del H
        st = info["stats"]
        totals = [s + v for s, v in zip(setups, solves)]
        rec = dict(
            benchmark="amg_pcg", machine=machine(device), device=device, commit=_meta.commit(),
            problem=spec, N=N, nnz=A._m.nnz, levels=st["num_levels"],
            operator_complexity=st["operator_complexity"],
            grid_complexity=st["grid_complexity"], setup_s=statistics.median(setups),
            solve_s=statistics.median(solves), total_s=statistics.median(totals),
            iterations=info["iterations"], true_relative_residual=res,
            converged=bool(res <= args.rtol), rtol=args.rtol, repeats=args.repeats,
            threads=torch.get_num_threads() if device == "cpu" else None,
            load_avg_1m=os.getloadavg()[0],
            options=json.dumps(options) if options else "defaults",
            setup_split={k: round(v, 4) for k, v in st["setup_time"].items()},
            level_rows=[l["rows"] for l in st["levels"]],
        )
        if peaks:
            rec["peak_bytes_per_dof"] = statistics.median(peaks)
        if args.compare_cg:
            rec.update(cg_jacobi(A, b, device, args.rtol, args.cg_maxiter))
        records.append(rec)
        print(f"{spec:>20} N={N:>9} levels={rec['levels']} oc={rec['operator_complexity']:.2f} "
              f"setup={rec['setup_s']:.3f}s solve={rec['solve_s']:.3f}s "
              f"total={rec['total_s']:.3f}s it={rec['iterations']} res={res:.1e} "
              f"load={rec['load_avg_1m']:.1f}" +
              (f" peak={rec['peak_bytes_per_dof']:.0f}B/DOF" if peaks else "") +
              f" rows={rec['level_rows']} split={rec['setup_split']}" +
              (f" | cg+jacobi it={rec['cg_jacobi_iterations']} {rec['cg_jacobi_s']:.3f}s "
               f"converged={rec['cg_jacobi_converged']}" if args.compare_cg else ""), flush=True)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = "cuda" if device.startswith("cuda") else "cpu"
    path = out / f"amg-{tag}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(records, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
