#!/usr/bin/env python3
"""dsla's CPU AMG-PCG against hypre's BoomerAMG + PCG on the same cores, in the same run (issue
#17 item 7): poisson2d:n (default 1024), b = 1, x0 = 0, fp64, rtol 1e-6 on the relative
residual 2-norm; one thread against serial hypre, two threads against hypre on two MPI ranks.
Setup and solve timed separately, median of 5 after a warm-up (hypre: MPI_Wtime, slowest rank;
dsla: wall clock). The hypre side is bench/peers/boomeramg_pcg.c, compiled here with mpicc
against Debian's libhypre-dev (``apt-get install libhypre-dev``: hypre 2.26, Open MPI); without
them the script says so and exits 2.

    python3 bench/peers_amg_cpu.py [--n 1024] [--rtol 1e-6] [--out bench/results]

dsla uses both cores only when asked: ``torch.set_num_threads(2)`` (the default here is 1).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import dsla  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import _meta  # noqa: E402
from _amg_timing import timed_amg_pcg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build_hypre_driver():
    if shutil.which("mpicc") is None or not os.path.exists("/usr/include/hypre/HYPRE.h"):
        return None
    exe = os.path.join(tempfile.mkdtemp(), "boomeramg_pcg")
    subprocess.check_call(["mpicc", "-O2", os.path.join(HERE, "peers", "boomeramg_pcg.c"),
                           "-I/usr/include/hypre", "-lHYPRE", "-o", exe])
    return exe


def run_hypre(exe, ranks, n, rtol):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [exe, str(n), str(rtol), "5"]
    if ranks > 1:
        cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-n", str(ranks)] + cmd
    out = subprocess.check_output(cmd, env=env, text=True)
    return json.loads(out.strip().splitlines()[-1])


def run_dsla(threads, n, rtol):
    torch.set_num_threads(threads)
    A = dsla.poisson2d(n)
    b = torch.ones(A.shape[0], dtype=torch.float64)
    setups, solves, H, info = timed_amg_pcg(A, b, lambda: dsla.amg(A), rtol, 5)
    s, v = statistics.median(setups), statistics.median(solves)
    return dict(solver="dsla AMG + CG", threads=threads, n=A.shape[0], setup_s=s, solve_s=v,
                total_s=s + v, iterations=info.iterations, residual=info.residual,
                levels=[l["rows"] for l in H.stats()["levels"]])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    exe = build_hypre_driver()
    if exe is None:
        print("hypre not found: apt-get install libhypre-dev (hypre + Open MPI), then rerun")
        sys.exit(2)
    rows = []
    for cores in (1, 2):
        rows.append(run_dsla(cores, a.n, a.rtol))
        rows.append(dict(run_hypre(exe, cores, a.n, a.rtol), threads=1))
    doc = dict(bench="peers_amg_cpu", commit=_meta.commit(), torch=torch.__version__,
               host=platform.node(), cpus=os.cpu_count(),
               date=datetime.datetime.utcnow().isoformat(timespec="seconds"),
               command=" ".join(["python3", "bench/peers_amg_cpu.py"] + sys.argv[1:]),
               problem=f"poisson2d:{a.n}", rtol=a.rtol, results=rows)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "peers-amg-cpu-" +
                        datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    for r in rows:
        cores = r.get("ranks", r.get("threads"))
        who = f"{r['solver']:<24} {'ranks' if 'ranks' in r else 'threads'}={cores}"
        print(f"{who}: setup {r['setup_s']:.3f} s + solve {r['solve_s']:.3f} s = "
              f"{r['total_s']:.3f} s, {r['iterations']} it, res {r['residual']:.1e}")
    print(path)


if __name__ == "__main__":
    main()
