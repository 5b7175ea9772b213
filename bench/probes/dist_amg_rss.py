#!/usr/bin/env python3
"""Host-memory probe (CPU): AMG-PCG setup + solve peak of a one-rank distributed hierarchy
(Gloo) or of one process, per row, above what the matrix's generation left resident. The peak
is /proc/self/status VmHWM after resetting it (/proc/self/clear_refs "5"), so only the AMG part
counts; glibc keeps freed heap, so it is a rough figure (about +-40 B/row run to run).

    python3 bench/probes/dist_amg_rss.py N GATHER {dist,one}     # poisson3d:N
"""
import gc
import os
import sys
import tempfile
import time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import dsla  # noqa: E402


def vm(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024


def main():
    n, gather, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as t:
        dist.init_process_group("gloo", init_method="file://" + t + "/i", rank=0, world_size=1)
        if mode == "dist":
            A = dsla.distributed.poisson3d(n)
            rows = A.n_owned
        else:
            A = dsla.poisson3d(n)
            rows = A.shape[0]
        b = torch.ones(rows, dtype=torch.float64)
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM := VmRSS
        base = vm("VmRSS:")
        t0 = time.perf_counter()
        H = dsla.amg(A, gather_size=gather) if mode == "dist" else dsla.amg(A)
        t1 = time.perf_counter()
        setup_peak = vm("VmHWM:")
        _, info = dsla.solve(A, b, method="cg", M=H, rtol=1e-6, return_info=True)
        t2 = time.perf_counter()
        print(f"{mode} poisson3d:{n} gather {gather}: setup {t1 - t0:.3f} s, solve {t2 - t1:.3f} s, "
              f"{info.iterations} it; peak above the matrix: setup {(setup_peak - base) / rows:.0f} "
              f"B/row, with the solve {(vm('VmHWM:') - base) / rows:.0f} B/row")
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
