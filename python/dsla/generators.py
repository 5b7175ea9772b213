"""The canonical benchmark problems of dsla (see ../shared/BENCHMARKS.md) and random matrices."""
import torch

from . import _C
from ._util import as_int, device_name, dtype_name
from .sparse_tensor import SparseTensor


def _opts(dtype, device):
    return dtype_name(dtype or torch.float64), device_name(device) or "cpu"


def poisson2d(n, dtype=None, device=None):
    """5-point Laplacian on an ``n x n`` grid (Dirichlet): ``N = n**2`` rows, diagonal 4,
    off-diagonals -1. SPD."""
    return SparseTensor._wrap(_C.poisson2d(as_int(n, "n"), *_opts(dtype, device)))


def poisson3d(n, dtype=None, device=None):
    """7-point Laplacian on ``n**3`` points: diagonal 6, off-diagonals -1. SPD."""
    return SparseTensor._wrap(_C.poisson3d(as_int(n, "n"), *_opts(dtype, device)))


def aniso2d(n, eps=1e-3, dtype=None, device=None):
    """Anisotropic diffusion ``-eps u_xx - u_yy`` on ``n x n`` (5-point). SPD."""
    return SparseTensor._wrap(_C.aniso2d(as_int(n, "n"), float(eps), *_opts(dtype, device)))


def convdiff2d(n, pe=10.0, dtype=None, device=None):
    """Convection-diffusion ``-Δu + pe (u_x + u_y)``, first-order upwind, on ``n x n``.
    Nonsymmetric M-matrix."""
    return SparseTensor._wrap(_C.convdiff2d(as_int(n, "n"), float(pe), *_opts(dtype, device)))


def random_spd(n, density, seed=0, dtype=None, device=None):
    """Random symmetric, strictly diagonally dominant (hence SPD) ``n x n`` matrix with about
    ``density * n**2`` off-diagonal entries."""
    return SparseTensor._wrap(_C.random_spd(as_int(n, "n"), float(density), as_int(seed, "seed", 0),
                                            *_opts(dtype, device)))


def random_sparse(rows, cols, density, seed=0, dtype=None, device=None):
    """Random ``rows x cols`` matrix with about ``density * rows * cols`` normal entries; square
    ones get a dominant diagonal (nonsingular)."""
    return SparseTensor._wrap(_C.random_sparse(as_int(rows, "rows"), as_int(cols, "cols"), float(density),
                                               as_int(seed, "seed", 0),
                                               *_opts(dtype, device)))


def generate(spec, dtype=None, device=None):
    """A problem by name: ``"poisson2d:1024"``, ``"aniso2d:512:1e-3"``, ``"convdiff2d:256:10"``."""
    return SparseTensor._wrap(_C.generate(str(spec), *_opts(dtype, device)))
