"""The timed AMG-PCG loop the benchmarks share: a warm-up, then setup and CG solve timed
`repeats` times on a synchronized wall clock."""
import time

import dsla


def timed_amg_pcg(A, b, build, rtol, repeats=5, sync=None, one_alive=False):
    """A warm-up setup and solve, then `repeats` timed ones (`sync` after each phase: CUDA
    work is finished before the clock is read). one_alive: each hierarchy is released before
    the next is built (the peak is one setup's); else the previous one stays alive during the
    next setup. Returns (setups, solves, the last hierarchy, its solve's info)."""
    sync = sync or (lambda: None)
    H = build()
    dsla.solve(A, b, method="cg", M=H, rtol=rtol)  # warm-up
    setups, solves, info = [], [], None
    for _ in range(repeats):
        if one_alive:
            H = None
        sync()
        t0 = time.perf_counter()
        H = build()
        sync()
        t1 = time.perf_counter()
        _, info = dsla.solve(A, b, method="cg", M=H, rtol=rtol, return_info=True)
        sync()
        setups.append(t1 - t0)
        solves.append(time.perf_counter() - t1)
    return setups, solves, H, info
