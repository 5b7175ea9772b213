#!/usr/bin/env python3
"""DRAM bytes and time per AMG phase from an Nsight Compute CSV (issue #17 item 1: each phase's
bytes against the copy bandwidth). The CSV comes from the GPU machine:

    ncu --clock-control none --profile-from-start off \
        --metrics dram__bytes_read.sum,dram__bytes_write.sum,gpu__time_duration.sum --csv \
        python3 prog.py > ncu.csv        # prog.py brackets one setup + solve with cudaProfilerStart/Stop
    python3 bench/ncu_phases.py ncu.csv [--copy-GBps 4300]

Kernels are put into phases by name as bench/amg_profile.py does. ncu flushes the caches between
kernels (its default), so the bytes are what each kernel moves cold: an upper bound on a warm run.
"""
import argparse
import collections
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from amg_profile import phase_of  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--copy-GBps", type=float, default=4300.0,
                    help="device-to-device copy bandwidth, read + write (amg_profile prints it)")
    args = ap.parse_args()
    rows = list(csv.reader(open(args.csv)))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "ID") + 1
    metrics, names = collections.defaultdict(dict), {}
    for r in rows[start:]:
        if len(r) >= 15:
            metrics[r[0]][r[12]] = float(r[14].replace(",", ""))
            names[r[0]] = r[4]
    agg = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0])
    for kid, m in metrics.items():
        a = agg[phase_of(names[kid])]
        a[0] += m["dram__bytes_read.sum"]
        a[1] += m["dram__bytes_write.sum"]
        a[2] += m["gpu__time_duration.sum"] * 1e-9
        a[3] += 1
    print("%d kernels; copy bandwidth %.0f GB/s" % (len(metrics), args.copy_GBps))
    print("%-20s %8s %10s %10s %10s %8s" % ("phase", "kernels", "MB moved", "time ms",
                                            "GB/s", "of copy"))
    for ph, (rd, wr, t, c) in sorted(agg.items(), key=lambda x: -x[1][2]):
        gbps = (rd + wr) / t / 1e9 if t else 0.0
        print("%-20s %8d %10.1f %10.3f %10.0f %7.0f%%" % (ph, c, (rd + wr) / 1e6, t * 1e3, gbps,
                                                       100 * gbps / args.copy_GBps))


if __name__ == "__main__":
    main()
