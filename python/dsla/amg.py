"""Smoothed-aggregation algebraic multigrid (AMG): a preconditioner and a standalone solver.

    H = dsla.amg(A)                                   # setup on A's device
    x = dsla.solve(A, b, method="cg", M=H)            # AMG-preconditioned CG (differentiable)
    x, info = dsla.amg_solve(A, b, accel="cg")        # or AMG's own solve loop
    H.update(A2)                                      # same pattern, new values: numeric only
    H.stats()["operator_complexity"]

Options (keyword arguments; defaults in include/dsla/amg.h): strength_threshold (0.08),
strength_decay (0.5 per level), aggregation ("auto": greedy on CPU, "mis2" elsewhere; or
"mis2"/"greedy"), prolongation_omega (4/3; 0 = unsmoothed), max_levels, coarse_size (500),
smoother ("chebyshev", "l1_jacobi", "mc_sgs" or "dilu": multicolor symmetric Gauss–Seidel /
DILU, parallel on GPUs; a level where DILU breaks down gets "mc_sgs"), chebyshev_degree (3), chebyshev_ratio (10),
jacobi_omega, pre_sweeps, post_sweeps, cycle ("V"/"W"), eig_iters, near_nullspace ([n, m]
tensor, e.g. rigid-body modes), seed, symmetric ("auto"/"yes"/"no").
"""
import torch

from . import _C, _interop, _progress
# AMG returns SparseTensors (level matrices, prolongators): it sits above sparse_tensor, which
# never imports it.
from .sparse_tensor import SparseTensor

_OPTION_NAMES = ("strength_threshold", "strength_decay", "aggregation", "prolongation_omega",
                 "max_levels", "coarse_size", "smoother", "chebyshev_degree", "chebyshev_ratio",
                 "jacobi_omega", "pre_sweeps", "post_sweeps", "cycle", "eig_iters",
                 "near_nullspace", "seed", "symmetric")


def _matrix(A):
    """The C++ matrix of a SparseTensor, torch sparse / dense tensor or scipy.sparse matrix."""
    return _interop.as_sparse(A, "A")._m


def _options(kwargs):
    for k in kwargs:
        if k not in _OPTION_NAMES:
            raise ValueError(f"dsla: argument '{k}': unknown AMG option; use one of "
                             f"{', '.join(_OPTION_NAMES)}")
    return {k: v for k, v in kwargs.items() if v is not None}


class AMG:
    """An AMG hierarchy for ``A``; usable as ``M`` in ``dsla.solve`` (``M(r)`` = one cycle)."""

    def __init__(self, A, **options):
        self._A = _matrix(A)
        self._options = _options(options)
        self._h = _C.amg_setup(self._A, self._options)
        self._adjoint = None
        _progress.report("amg setup", self)

    # -- preconditioner -------------------------------------------------------------------------
    def apply(self, r):
        """``z = M⁻¹ r`` (one cycle from zero). ``r``: [n], [n, k], [B, n] (batched A) or
        [B, n, k]; ``z`` has ``r``'s shape."""
        r = torch.as_tensor(r)
        n = self._h.rows
        if r.dim() == 1:
            return self._h.apply(r.reshape(1, n, 1)).reshape(n)
        if r.dim() == 2:
            if self._h.batch_size > 1 and r.shape[0] == self._h.batch_size and r.shape[1] == n:
                return self._h.apply(r.unsqueeze(2)).squeeze(2)
            return self._h.apply(r.unsqueeze(0)).squeeze(0)
        return self._h.apply(r)

    __call__ = apply

    def _apply_batched(self, r):
        """[B, n, k] -> [B, n, k] (what dsla.solve calls; no reshaping)."""
        return self._h.apply(r.contiguous())

    def _apply_batched_adjoint(self, r):
        """The adjoint: itself when symmetric, else the AMG of Aᴴ (built on first use)."""
        if self._h.is_symmetric:
            return self._h.apply(r.contiguous())
        if getattr(self, "_adjoint", None) is None:
            self._adjoint = _C.amg_setup(self._A.conj_transpose(), self._options)
        return self._adjoint.apply(r.contiguous())

    @property
    def is_symmetric(self):
        """Whether ``M⁻¹`` is symmetric (symmetric ``A`` and equal pre/post sweeps): then it is
        its own adjoint and CG may use it."""
        return self._h.is_symmetric

    def update(self, A):
        """New values with the same pattern: redo only the numeric setup."""
        self._A = _matrix(A)
        self._h.update(self._A)
        self._adjoint = None
        return self

    # -- solver ---------------------------------------------------------------------------------
    def solve(self, b, rtol=1e-6, maxiter=100, accel="cg"):
        """Solve ``A x = b`` with this hierarchy; returns ``(x, info)``."""
        return _C.amg_solve_with(self._h, self._A, torch.as_tensor(b), float(rtol), int(maxiter),
                                 str(accel))

    # -- inspection -----------------------------------------------------------------------------
    def stats(self):
        """Levels (rows, nnz, aggregates), operator / grid complexity, setup time per phase."""
        return self._h.stats()

    @property
    def num_levels(self):
        return self._h.num_levels

    def level_matrix(self, level):
        return SparseTensor._wrap(self._h.level_matrix(level))

    def prolongator(self, level, tentative=False):
        h = self._h
        return SparseTensor._wrap(h.tentative_prolongator(level) if tentative
                                  else h.prolongator(level))

    def aggregates(self, level):
        return self._h.aggregates(level)

    def near_nullspace(self, level):
        return self._h.near_nullspace(level)

    def spectral_radius(self, level):
        """The Lanczos (power, for nonsymmetric A) estimate of rho(D^-1 A) on a level, [B], or
        None when the level needed none (coarsest level without Chebyshev or smoothing)."""
        return self._h.spectral_radius(level)

    def __repr__(self):
        s = self.stats()
        rows = " > ".join(str(l["rows"]) for l in s["levels"])
        return (f"AMG(levels={s['num_levels']}: {rows}, operator_complexity="
                f"{s['operator_complexity']:.2f}, coarse={s['coarse_solver']})")


def amg(A, **options):
    """Build an AMG hierarchy (see :class:`AMG`)."""
    return AMG(A, **options)


def amg_solve(A, b, rtol=1e-6, maxiter=100, accel="none", **options):
    """Solve ``A x = b`` with AMG: stationary cycles (``accel="none"``) or AMG-preconditioned CG
    (``accel="cg"``, symmetric A). Stops on the true relative residual. Returns ``(x, info)``,
    info a dict (iterations, residual, converged, convergence_factor, setup_time, solve_time,
    residuals, stats). Not differentiable: use ``dsla.solve(A, b, M=dsla.amg(A))`` for that."""
    return _C.amg_solve(_matrix(A), torch.as_tensor(b), _options(options), float(rtol),
                        int(maxiter), str(accel))
