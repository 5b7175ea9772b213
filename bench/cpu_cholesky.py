"""CPU direct Cholesky benchmark (BENCHMARKS.md protocol: 2 cores, median of >= 5 runs):
analysis + factorization + solve of poisson2d:N through the CLI, one fresh process per run (the
first factorization of a process is what a user pays: page faults, thread start-up, caches).
Writes JSON under bench/results/.

  python3 bench/cpu_cholesky.py [--problem poisson2d:1024] [--repeat 5] [--orderings auto,amd]

DSLA_DIRECT_THREADS=2 is set (unless given): the load rule of the direct solvers would
otherwise count this benchmark's own previous runs in the load average and drop to one thread.
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLI = ROOT / "build" / "bin" / "dsla"

sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402


def run_once(problem, ordering, threads, env):
    cmd = [str(CLI), "solve", problem, "--method", "cholesky", "--ordering", ordering,
           "--threads", str(threads), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    rec = json.loads(out[out.index("{"):])
    return rec, " ".join(cmd[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", default="poisson2d:1024", help="a generated problem or .mtx")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--orderings", default="auto,amd")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    a = ap.parse_args()
    env = dict(os.environ)
    env.setdefault("DSLA_DIRECT_THREADS", str(a.threads))
    commit = _meta.commit()
    doc = {"benchmark": "cholesky_cli", "machine": platform.node(), "cores": os.cpu_count(),
           "load_average_at_start": os.getloadavg(), "device": "cpu", "commit": commit,
           "problem": a.problem, "threads": a.threads,
           "DSLA_DIRECT_THREADS": env["DSLA_DIRECT_THREADS"], "target_s": 2.0, "runs": {}}
    for ordering in a.orderings.split(","):
        setup, solve, total = [], [], []
        for _ in range(a.repeat):
            rec, cmd = run_once(a.problem, ordering, a.threads, env)
            setup.append(rec["setup_s"])
            solve.append(rec["solve_s"])
            total.append(rec["setup_s"] + rec["solve_s"])
            print(f"{ordering:5s} {rec['factorization']}: setup {rec['setup_s']:.3f} s + solve "
                  f"{rec['solve_s']:.3f} s = {total[-1]:.3f} s, residual {rec['residual']:.2e}",
                  flush=True)
        doc["runs"][ordering] = {
            "command": cmd, "factorization": rec["factorization"], "residual": rec["residual"],
            "peak_rss_bytes": rec["peak_rss_bytes"], "setup_s": setup, "solve_s": solve,
            "analysis_factor_solve_s": total, "median_s": statistics.median(total),
            "median_setup_s": statistics.median(setup), "median_solve_s": statistics.median(solve)}
        print(f"{ordering}: median analysis + factor + solve {statistics.median(total):.3f} s",
              flush=True)
    first = doc["runs"][a.orderings.split(",")[0]]
    doc["analysis_factor_solve_s"] = first["median_s"]
    doc["meets_target"] = first["median_s"] <= doc["target_s"]
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = "".join(ch for ch in pathlib.Path(a.problem).stem if ch.isalnum())
    path = out / f"cpu-cholesky-{tag}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(doc, indent=2))
    print("wrote", path)


if __name__ == "__main__":
    main()
