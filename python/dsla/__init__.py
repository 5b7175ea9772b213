"""dsla: Differentiable Sparse Linear Algebra on PyTorch.

    import dsla, torch
    A = dsla.poisson2d(64)                 # or dsla.SparseTensor(values, row, col, shape)
    y = A @ torch.ones(A.shape[1], dtype=torch.float64)

Products, solves and factorizations are differentiable in the matrix values and the dense
operands. The numerics live in the C++ library (dsla._C); this package is a thin layer.
"""
import os

import torch  # noqa: F401  (loads libtorch before the extension)

if os.environ.get("DSLA_C_DIR"):
    # Load dsla._C from another build (e.g. one configured with -DDSLA_WITH_SUITESPARSE=OFF and
    # -DDSLA_PYTHON_MODULE_DIR=<dir>): that directory is searched before this package's own.
    __path__.insert(0, os.environ["DSLA_C_DIR"])


def _load_extension():
    """Imports dsla._C. A build with cuDSS links libcudss, which needs libnvrtc.so.13 and
    libcublas.so.13; when the loader cannot find them (not on LD_LIBRARY_PATH), load them from
    torch's nvidia/*/lib wheels or the CUDA toolkit first, then retry."""
    try:
        from . import _C as ext
        return ext
    except ImportError as e:
        if "libnvrtc" not in str(e) and "libcublas" not in str(e):
            raise
        import ctypes
        import glob
        site = os.path.dirname(os.path.dirname(torch.__file__))
        cuda = os.environ.get("CUDA_HOME", "/usr/local/cuda")
        dirs = sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib"))) + [
            os.path.join(cuda, "lib64")]
        for name in ("libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.13"):
            for d in dirs:
                path = os.path.join(d, name)
                if os.path.exists(path):
                    ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                    break
        from . import _C as ext
        return ext


_C = _load_extension()
from ._C import SingularMatrixError, SolveError
from .generators import (aniso2d, convdiff2d, generate, poisson2d, poisson3d, random_sparse,
                         random_spd)
from .sparse_tensor import SparseTensor
from .bsr import BlockSparseTensor
from ._algebra import add_matrices as _add_matrices
from .construct import block_diag, diag, eye, kron, split_block_diag, tridiagonal
from .io import read_mtx, read_mtx_info, write_mtx
from .det import LogdetInfo, det, logdet, slogdet
from .solve import BatchSolveInfo, Solver, SolveInfo, SolveWarning, solve
from .plot import spy
from .amg import AMG, DistAMG, amg, amg_solve
from .eigen import EigenInfo, EigenWarning, cond, eigs, eigsh, norm2, svds
from .nonlinear import NonlinearInfo, NonlinearWarning, nonlinear_solve
from .structure import (Component, color_rows, connected_components, detect_matrix_type,
                        is_positive_definite, split_components)
from ._config import config, presets
from ._cudss import cudss_prepare
from . import distributed

__version__ = _C.__version__
features = dict(_C.features)
_cudss._prepare_from_environment()  # DSLA_CUDSS_PREPARE=1


def matmul(A, x):
    """``A @ x`` for a SparseTensor ``A`` (see SparseTensor.__matmul__)."""
    return A @ x


def add(A, B, alpha=1.0, beta=1.0):
    """``alpha * A + beta * B`` over the union pattern (differentiable; batches broadcast)."""
    return _add_matrices(A, B, alpha, beta, "dsla.add")


__all__ = [
    "SparseTensor", "eye", "diag", "tridiagonal", "kron", "block_diag", "split_block_diag",
    "SolveError", "SingularMatrixError", "matmul", "add", "poisson2d",
    "poisson3d", "aniso2d", "convdiff2d", "random_spd", "random_sparse", "generate", "spy",
    "features", "det", "logdet", "slogdet", "LogdetInfo", "read_mtx", "read_mtx_info", "write_mtx",
    "solve", "Solver", "SolveInfo", "BatchSolveInfo", "SolveWarning", "AMG", "DistAMG", "amg", "amg_solve",
    "eigsh", "eigs", "svds", "norm2", "cond", "EigenInfo", "EigenWarning",
    "nonlinear_solve", "NonlinearInfo", "NonlinearWarning", "distributed",
    "connected_components", "color_rows", "split_components", "Component",
    "is_positive_definite",
    "detect_matrix_type", "config", "presets", "cudss_prepare",
]
