#!/usr/bin/env python3
"""Beyond Poisson (issue #17 item 6): the real SPD and nonsymmetric matrices of ../shared/data
through dsla's iterative and direct solvers, on the CPU (one thread by default) and on CUDA, in
one table: time, iterations, true residual.

Per matrix (fp64, b = A @ 1, x0 = 0, rtol 1e-8, maxiter 5000):

- SPD (bcsstk03, gr_30_30, 494_bus, 662_bus, bcsstk08, bcsstk09, bcsstk13, bcsstk16):
  CG + AMG, CG + IC(0), Cholesky (CHOLMOD on the CPU, cuDSS on CUDA);
- nonsymmetric (hor_131, orsirr_1, sherman5, cage8, olm1000, rajat19, arc130, impcol_a, add32,
  watt_2, bayer10, young1c): GMRES(30) + ILU(0), GMRES(30) + AMG, LU (UMFPACK / cuDSS).
  Complex files (young1c; mhd1280b is complex Hermitian and not listed) are skipped with a note.

Each time is the median of --repeats wall-clock dsla.solve calls after one warm-up call, the
whole call (preconditioner or factorization setup included), each on a fresh copy of A's
pattern: dsla caches a direct method's symbolic analysis on the Pattern, which a benchmark of
"one new matrix" must not reuse. The residual ||b - A x|| / ||b|| is recomputed here with A @ x;
converged means residual <= 10 rtol (iterative) or < 1e-6 (direct). Errors (a preconditioner
refusing a matrix, a missing direct backend) are recorded, never fatal.

    python3 bench/beyond_poisson.py                       # cpu, plus cuda when available
    python3 bench/beyond_poisson.py --device cpu [--threads 1] [--repeats 3]
    python3 bench/beyond_poisson.py --device cuda --matrices bcsstk16,sherman5
    python3 bench/beyond_poisson.py --table-only bench/results/beyond-poisson-cpu-*.json \\
        bench/results/beyond-poisson-cuda-*.json      # one table from several machines

Matrices come from $DSLA_DATA_DIR, else ../shared/data beside the checkout; the JSON goes to
--out (default bench/results) as beyond-poisson-{cpu|cuda|cpu+cuda}-YYYYmmdd-HHMMSS.json.
"""
import argparse
import datetime
import json
import os
import pathlib
import statistics
import sys
import time
import warnings

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402

SPD = ["bcsstk03", "gr_30_30", "494_bus", "662_bus", "bcsstk08", "bcsstk09", "bcsstk13",
       "bcsstk16"]
NONSYM = ["hor_131", "orsirr_1", "sherman5", "cage8", "olm1000", "rajat19", "arc130",
          "impcol_a", "add32", "watt_2", "bayer10", "young1c"]
# (method, precond) per kind; None = the direct methods' "no preconditioner".
METHODS = {
    "spd": [("cg", "amg"), ("cg", "ic0"), ("cholesky", None)],
    "nonsymmetric": [("gmres", "ilu0"), ("gmres", "amg"), ("lu", None)],
}
DIRECT = {"cholesky", "lu"}
MAXITER = 5000
DIRECT_TOL = 1e-6
PROTOCOL = ("b = A @ ones, x0 = 0, float64, rtol {rtol:g}, maxiter {maxiter}, GMRES restart 30; "
            "time = median of {repeats} wall-clock dsla.solve calls after 1 warm-up, setup "
            "included, each on a fresh copy of A's pattern (no cached analysis), CUDA between "
            "torch.cuda.synchronize(); residual = ||b - A x|| / ||b|| recomputed with A @ x; "
            "converged: residual <= 10 rtol (iterative), < {direct:g} (direct)")


# ------------------------------------------------------------------ environment

def data_dir():
    env = os.environ.get("DSLA_DATA_DIR")
    return pathlib.Path(env) if env else ROOT.parent / "shared" / "data"


commit = _meta.commit  # DSLA_COMMIT, else git HEAD (bench/_meta.py)


def machine(devices):
    return _meta.machine(cuda="cuda" in devices)


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


# ------------------------------------------------------------------ problems

def matrix_list(only=None):
    """(name, kind) in table order, restricted to the comma list ``only`` when given."""
    pairs = [(n, "spd") for n in SPD] + [(n, "nonsymmetric") for n in NONSYM]
    if not only:
        return pairs
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    known = dict(pairs)
    unknown = [w for w in wanted if w not in known]
    if unknown:
        # The kind decides the methods (CG needs SPD), so an unlisted file cannot be guessed.
        raise SystemExit(f"unknown matrices {unknown}; choose from {sorted(known)}")
    return [(w, known[w]) for w in wanted]


def load(name, device):
    """(A, b) in float64 on ``device``, or (None, reason) when the file is missing or complex."""
    path = data_dir() / f"{name}.mtx"
    if not path.exists():
        return None, f"missing: {path}"
    field = dsla.read_mtx_info(str(path)).get("field")
    if field == "complex":
        return None, "complex matrix: skipped (real float64 benchmark)"
    A = dsla.read_mtx(str(path)).to(device=device, dtype=torch.float64)
    b = A @ torch.ones(A.shape[1], dtype=torch.float64, device=device)
    return (A, b), None


def fresh(A):
    """A copy of A with a new Pattern: a direct method's symbolic analysis is cached on the
    Pattern, and a repeat on the same object would skip it."""
    return dsla.SparseTensor.from_csr(A.crow.clone(), A.col.clone(), A.values.clone(), A.shape,
                                      check=False)


def rel_residual(A, x, b):
    return ((b - A @ x).norm() / b.norm()).item()


def backend(A, method):
    """The factorization behind a direct method (e.g. cholmod-supernodal-llt(amd), cuDSS):
    SolveInfo does not say, dsla.Solver does. One extra, untimed factorization."""
    try:
        return dsla.Solver(fresh(A), method=method).factorization
    except Exception as e:  # the timed runs record the error itself
        return f"unavailable ({type(e).__name__})"


# ------------------------------------------------------------------ one measurement

def solve_once(A, b, method, precond, rtol, device):
    """(seconds, x, info, warning messages) of one dsla.solve call on a fresh pattern."""
    M = fresh(A)
    sync(device)
    with warnings.catch_warnings(record=True) as caught:
        # Non-convergence is a result here (recorded as converged=False), not console noise.
        warnings.simplefilter("always", dsla.SolveWarning)
        t0 = time.perf_counter()
        x, info = dsla.solve(M, b, method=method, precond=precond, rtol=rtol, maxiter=MAXITER,
                             return_info=True)
        sync(device)
        elapsed = time.perf_counter() - t0
    return elapsed, x, info, sorted({str(w.message) for w in caught})


def measure(A, b, method, precond, rtol, repeats, device):
    """The figures of one (matrix, method, device): dict of record fields."""
    out = {"time_s": None, "iterations": None, "residual": None, "converged": False,
           "error": None}
    try:
        solve_once(A, b, method, precond, rtol, device)  # warm-up: kernels, libraries, pools
        times = []
        for _ in range(repeats):
            t, x, info, caught = solve_once(A, b, method, precond, rtol, device)
            times.append(t)
    except Exception as e:
        out["error"] = f"{type(e).__name__}: {e}"
        return out
    direct = method in DIRECT
    res = rel_residual(A, x, b)
    out.update(time_s=statistics.median(times), times_s=times,
               iterations=0 if direct else int(info.iterations), residual=res,
               converged=bool(res < DIRECT_TOL if direct else res <= 10 * rtol),
               info_converged=bool(info.converged), info_message=info.message,
               info_precond=info.preconditioner, setup_s=info.setup_time,
               solve_s=info.solve_time, warnings=caught)
    if direct:
        out["backend"] = backend(A, method)
    return out


# ------------------------------------------------------------------ the run

def run_device(device, matrices, rtol, repeats, threads, log=print):
    """Records for every matrix and method on one device; skipped matrices as notes."""
    records, skipped = [], []
    for name, kind in matrices:
        problem, reason = load(name, device)
        if problem is None:
            skipped.append({"matrix": name, "kind": kind, "device": device, "reason": reason})
            log(f"# {device} {name}: {reason}")
            continue
        A, b = problem
        for method, precond in METHODS[kind]:
            rec = {"matrix": name, "rows": A.shape[0], "nnz": A.nnz, "kind": kind,
                   "device": device, "threads": threads, "method": method,
                   "precond": precond or "none", "rtol": rtol, "repeats": repeats}
            rec.update(measure(A, b, method, precond, rtol, repeats, device))
            records.append(rec)
            log(f"# {device} {name} {method}+{rec['precond']}: " + short(rec))
    return records, skipped


def short(rec):
    if rec["error"]:
        return "error " + rec["error"][:100]
    return (f"{rec['time_s']:.4g} s, {rec['iterations']} it, residual {rec['residual']:.2e}"
            + ("" if rec["converged"] else " (not converged)"))


def default_devices():
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def run(devices, matrices, rtol, repeats, threads, out_dir):
    """Runs the benchmark, writes the JSON, returns its path."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)  # the one-thread CPU path unless --threads says otherwise
    try:
        records, skipped = [], []
        for device in devices:
            r, s = run_device(device, matrices, rtol, repeats, threads)
            records += r
            skipped += s
    finally:
        torch.set_num_threads(previous)
    now = datetime.datetime.now()
    doc = {"benchmark": "beyond_poisson", "machine": machine(devices),
           "torch": torch.__version__, "dsla": dsla.__version__, "commit": commit(),
           "date": now.isoformat(timespec="seconds"), "devices": "+".join(devices),
           "threads": threads, "features": dict(dsla.features),
           # other work on the machine shows up in the times: say how busy it was
           "load_avg_1m": round(os.getloadavg()[0], 2),
           "protocol": PROTOCOL.format(rtol=rtol, maxiter=MAXITER, repeats=repeats,
                                       direct=DIRECT_TOL),
           "command": " ".join(sys.argv), "records": records, "skipped": skipped}
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"beyond-poisson-{'+'.join(devices)}-{now:%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


# ------------------------------------------------------------------ the table

def column(rec):
    """The table's column group of a record: CPU per thread count, CUDA per device name."""
    if rec["device"] == "cpu":
        return f"CPU {rec['threads']}t"
    return rec.get("gpu", "CUDA")


def cell(rec):
    """(time, iterations, residual) cells; a failed run says so in the time cell."""
    if rec is None:
        return ["", "", ""]
    if rec.get("error"):
        return ["error", "", ""]
    mark = "" if rec["converged"] else " ✗"
    return [f"{rec['time_s']:.4g}", str(rec["iterations"]), f"{rec['residual']:.1e}{mark}"]


def load_docs(paths):
    docs = []
    for p in paths:
        doc = json.loads(pathlib.Path(p).read_text())
        gpu = doc.get("machine", "").split("; ", 1)
        for rec in doc.get("records", []):
            if rec["device"] == "cuda" and len(gpu) == 2:
                rec["gpu"] = gpu[1]  # one column group per GPU model when merging machines
        docs.append((str(p), doc))
    return docs


def table(docs):
    """Markdown lines: one row per matrix x method, the devices side by side; then notes on
    errors, non-convergence and skipped files. A later file wins for the same row and column."""
    rows, groups, notes = {}, [], []
    for _, doc in docs:
        for rec in doc.get("records", []):
            key = (rec["matrix"], rec["kind"], rec["rows"], rec["nnz"], rec["method"],
                   rec["precond"])
            g = column(rec)
            if g not in groups:
                groups.append(g)
            rows.setdefault(key, {})[g] = rec
            notes += note(rec, g)
        for s in doc.get("skipped", []):
            line = f"- {s['matrix']} ({s['device']}): {s['reason']}"
            if line not in notes:
                notes.append(line)
    head = ["matrix", "kind", "rows", "nnz", "method"]
    for g in groups:
        head += [f"{g} time (s)", f"{g} it", f"{g} residual"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, by_group in rows.items():
        name, kind, n, nnz, method, precond = key
        label = method if precond == "none" else f"{method}+{precond}"
        cells = [name, kind, str(n), str(nnz), label]
        for g in groups:
            cells += cell(by_group.get(g))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Direct backends: " + backends(rows, groups) + "."]
    if notes:
        lines += ["", "✗ = not converged. Notes:", ""] + notes
    return lines


def backends(rows, groups):
    """Which factorization each column's direct methods used (CHOLMOD / UMFPACK / cuDSS)."""
    parts = []
    for g in groups:
        seen = {}
        for by_group in rows.values():
            rec = by_group.get(g)
            if rec and rec.get("backend"):
                seen.setdefault(rec["method"], set()).add(rec["backend"])
        if seen:
            parts.append(f"{g}: " + ", ".join(f"{m} = {' / '.join(sorted(v))}"
                                              for m, v in seen.items()))
    return "; ".join(parts) or "none recorded"


def note(rec, group):
    label = f"{rec['matrix']} {rec['method']}+{rec['precond']} ({group})"
    if rec.get("error"):
        return [f"- {label}: {rec['error']}"]
    if not rec["converged"]:
        return [f"- {label}: not converged: {rec.get('info_message', '')}"]
    return []


def print_table(paths):
    docs = load_docs(paths)
    for p, doc in docs:
        print(f"<!-- {p}: {doc.get('machine')}, torch {doc.get('torch')}, commit "
              f"{doc.get('commit')}, {doc.get('date')} -->")
    print("\n".join(table(docs)))


# ------------------------------------------------------------------ command line

def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", choices=["cpu", "cuda"], action="append",
                    help="repeatable; default: cpu, plus cuda when available")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--matrices", help="comma list restricting the default matrices")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--table-only", nargs="+", metavar="FILE",
                    help="print the Markdown table of existing JSON files and exit")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    return args


def main(argv=None):
    args = parse(argv)
    if args.table_only:
        print_table(args.table_only)
        return None
    devices = args.device or default_devices()
    if "cuda" in devices and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False")
    path = run(devices, matrix_list(args.matrices), args.rtol, args.repeats, args.threads,
               args.out)
    print(f"# wrote {path}\n")
    print_table([path])
    return path


if __name__ == "__main__":
    main()
