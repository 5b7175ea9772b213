"""Direct solves and threads: bitwise repeatable in one thread, and concurrent solves from
several Python threads agree with serial ones to the rounding of the factorization (OpenBLAS's
thread count changes the last bits; README "Reproducibility of direct solves")."""
import os
import subprocess
import sys
import threading

import pytest
import torch

import dsla

pytestmark = pytest.mark.direct


def _system():
    A = dsla.poisson2d(120)
    g = torch.Generator().manual_seed(0)
    B = [torch.randn(A.shape[0], dtype=torch.float64, generator=g) for _ in range(6)]
    return A, B


def test_direct_solve_repeats_bitwise():
    A, B = _system()
    x1 = [dsla.solve(A, b, method="cholesky") for b in B]
    x2 = [dsla.solve(A, b, method="cholesky") for b in B]
    for a, b in zip(x1, x2):
        assert torch.equal(a, b)


def test_concurrent_direct_solves_agree_with_serial():
    A, B = _system()
    serial = [dsla.solve(A, b, method="cholesky") for b in B]
    S = dsla.Solver(A, method="cholesky")
    out, errors = [None] * len(B), []

    def work(i):
        try:
            out[i] = (dsla.solve(A, B[i], method="cholesky"), S.solve(B[i]))
        except Exception as e:  # noqa: BLE001 — reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(B))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for (x, y), s in zip(out, serial):
        scale = s.abs().max()
        assert (x - s).abs().max() <= 1e-12 * scale
        assert (y - s).abs().max() <= 1e-12 * scale


_CHILD = """
import torch, dsla, sys
torch.set_num_threads(2)
A = dsla.poisson2d(120)
b = torch.randn(A.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(0))
torch.save(dsla.solve(A, b, method="cholesky"), sys.argv[1])
"""


def test_one_direct_thread_is_reproducible_across_processes(tmp_path):
    """DSLA_DIRECT_THREADS=1 fixes the thread count (no load rule): fresh processes agree
    bitwise."""
    env = dict(os.environ, DSLA_DIRECT_THREADS="1")
    paths = [tmp_path / f"x{i}.pt" for i in range(2)]
    for p in paths:
        subprocess.run([sys.executable, "-c", _CHILD, str(p)], env=env, check=True)
    assert torch.equal(torch.load(paths[0]), torch.load(paths[1]))
