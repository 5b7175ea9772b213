"""Resident memory stays flat over a loop that builds, uses and drops matrices — what a training
loop that assembles a new matrix each step does. A reference cycle through a pattern's caches
(its transpose, factorizations, AMG structures) made every iteration leak ~1 MB here."""
import gc
import os

import pytest
import torch

import dsla


def _rss_mb():
    with open(f"/proc/{os.getpid()}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _growth(step, warmup=15, steps=150):
    for _ in range(warmup):  # allocator pools, lazily loaded libraries, first-use caches
        step()
    gc.collect()
    before = _rss_mb()
    for _ in range(steps):
        step()
    gc.collect()
    return _rss_mb() - before


def _b(A):
    return torch.ones(A.shape[0], dtype=torch.float64)


STEPS = {
    "transpose": lambda: dsla.poisson2d(100).T,
    "rmatmul": lambda: dsla.poisson2d(100).rmatmul(torch.ones(10000, dtype=torch.float64)),
    "is_symmetric": lambda: dsla.poisson2d(100).is_symmetric(),
    "cg": lambda: dsla.solve(dsla.poisson2d(60), _b(dsla.poisson2d(60)), method="cg"),
    "amg": lambda: dsla.solve(dsla.poisson2d(60), _b(dsla.poisson2d(60)), method="cg",
                              precond="amg"),
    "amg_hierarchy": lambda: dsla.amg(dsla.poisson2d(60)),
    "spgemm": lambda: dsla.poisson2d(40) @ dsla.poisson2d(40),
}
if dsla.features["suitesparse"]:
    STEPS["auto"] = lambda: dsla.solve(dsla.poisson2d(60), _b(dsla.poisson2d(60)))
    STEPS["cholesky"] = lambda: dsla.solve(dsla.poisson2d(60), _b(dsla.poisson2d(60)),
                                           method="cholesky")
    STEPS["lu"] = lambda: dsla.solve(dsla.convdiff2d(40), _b(dsla.poisson2d(40)), method="lu")
    STEPS["logdet"] = lambda: dsla.logdet(dsla.poisson2d(60))


@pytest.mark.parametrize("name", sorted(STEPS))
def test_memory_flat_over_loop(name):
    # A poisson2d(100) with its transpose is ~1 MB, poisson2d(60) with an AMG hierarchy or a
    # factorization about as much: a leak shows as >= 100 MB over 150 steps; noise is a few MB.
    grew = _growth(STEPS[name])
    assert grew < 25, f"{name}: resident memory grew {grew:.1f} MB over 150 steps"


def test_memory_flat_differentiable_solve_loop():
    """A training loop: new values each step, solve, backward."""
    A0 = dsla.poisson2d(50)

    def step():
        v = (A0.values * (1 + 0.01 * torch.rand(A0.nnz, dtype=torch.float64))).requires_grad_()
        A = dsla.SparseTensor.from_csr(A0.crow, A0.col, v, A0.shape)
        dsla.solve(A, _b(A), method="cg", rtol=1e-6).sum().backward()

    grew = _growth(step, steps=100)
    assert grew < 25, f"resident memory grew {grew:.1f} MB over 100 steps"
