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
tensor, e.g. rigid-body modes), block_size (unknowns per node of a block system: aggregation on
the node graph, default near-nullspace one constant per component; a BSR matrix passes its
block size), seed, symmetric ("auto"/"yes"/"no"), precond_dtype
(``torch.float32``: the levels and smoothers in single precision inside a float64 solve — mixed
precision; the cycle takes and returns the matrix's dtype).

A :class:`dsla.distributed.DistTensor` gets a distributed hierarchy (:class:`DistAMG`): levels
stay distributed while the global size is above gather_size (200000), aggregating inside each
rank's rows, then the coarse level is gathered and its hierarchy replicated on every rank::

    H = dsla.amg(A_dist)                              # collective, on every rank
    x = dsla.solve(A_dist, b_owned, method="cg", M=H) # or precond="amg"
"""
import torch

from . import _C, _interop, _progress
from ._util import dtype_name
# AMG returns SparseTensors (level matrices, prolongators): it sits above sparse_tensor, which
# never imports it.
from .sparse_tensor import SparseTensor

_OPTION_NAMES = ("strength_threshold", "strength_decay", "aggregation", "prolongation_omega",
                 "max_levels", "coarse_size", "smoother", "chebyshev_degree", "chebyshev_ratio",
                 "jacobi_omega", "pre_sweeps", "post_sweeps", "cycle", "eig_iters",
                 "near_nullspace", "block_size", "seed", "symmetric", "gather_size",
                 "precond_dtype")


def _matrix(A):
    """The C++ matrix of a SparseTensor, torch sparse / dense tensor or scipy.sparse matrix."""
    return _interop.as_sparse(A, "A")._m


def _options(kwargs):
    for k in kwargs:
        if k not in _OPTION_NAMES:
            raise ValueError(f"dsla: argument '{k}': unknown AMG option; use one of "
                             f"{', '.join(_OPTION_NAMES)}")
    out = {k: v for k, v in kwargs.items() if v is not None}
    if "precond_dtype" in out:  # a torch.dtype (or its name) crosses as its name
        out["precond_dtype"] = dtype_name(out["precond_dtype"], "precond_dtype")
    return out


class AMG:
    """An AMG hierarchy for ``A``; usable as ``M`` in ``dsla.solve`` (``M(r)`` = one cycle)."""

    def __init__(self, A, **options):
        if getattr(A, "_is_bsr", False) and A.blocksize[0] == A.blocksize[1]:
            options.setdefault("block_size", A.blocksize[0])  # a BSR matrix's nodes
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


class DistAMG:
    """A distributed AMG hierarchy of a :class:`dsla.distributed.DistTensor` (``dsla.amg(A)``).

    Every method is a collective: every rank calls it, in the same order. Vectors are this
    rank's owned slices (``[n_owned]``, ``[n_owned, k]``, ``[B, n_owned(, k)]``). Usable as ``M``
    in ``dsla.solve`` / ``dsla.distributed.solve`` (the cycle runs in C++, no Python per apply).
    near_nullspace, when given, is this rank's rows ``[n_owned, m]``. Distributed levels smooth
    with ``"chebyshev"`` (symmetric A) or ``"l1_jacobi"``."""

    _is_distributed_amg = True

    def __init__(self, A, **options):
        if not getattr(A, "_is_distributed", False):
            raise TypeError(f"dsla: argument 'A': expected a dsla.distributed.DistTensor, got "
                            f"{type(A).__name__}")
        self._A = A
        self._options = _options(options)
        self._dist_h = _C.dist_amg_setup(A._m, self._options)
        _progress.report("amg setup", self)

    def apply(self, r):
        """``z = M⁻¹ r``: one cycle from zero on this rank's owned slice (``z`` has ``r``'s
        shape)."""
        r = torch.as_tensor(r)
        n = self._A.n_owned
        batched = self._A._m.is_batched
        if r.dim() == 1:
            return self._dist_h.apply(r.reshape(1, n, 1)).reshape(-1, n).squeeze(0)
        if r.dim() == 2:
            if batched and r.shape[1] == n and r.shape[0] == self._A._m.batch_size:
                return self._dist_h.apply(r.unsqueeze(2).contiguous()).squeeze(2)
            return self._dist_h.apply(r.unsqueeze(0).contiguous()).squeeze(0)
        return self._dist_h.apply(r.contiguous())

    __call__ = apply

    def _apply_batched(self, r):
        return self._dist_h.apply(r.contiguous())

    _apply_batched_adjoint = _apply_batched

    def update(self, A):
        """New values on the same distributed pattern (``A.with_values(...)``): values and value
        exchanges only."""
        self._A = A
        self._dist_h.update(A._m)
        return self

    def solve(self, b, rtol=1e-8, maxiter=None, return_info=False):
        """AMG-preconditioned CG (GMRES for nonsymmetric A) with this hierarchy."""
        from .distributed import solve
        method = "cg" if self.is_symmetric else "gmres"
        return solve(self._A, b, method=method, M=self, rtol=rtol, maxiter=maxiter,
                     return_info=return_info)

    def stats(self):
        """Levels (global rows, nnz, aggregates: distributed ones first), operator / grid
        complexity, setup times (this rank's), coarse solver."""
        return self._dist_h.stats()

    @property
    def num_levels(self):
        return self._dist_h.num_levels

    @property
    def num_distributed_levels(self):
        return self._dist_h.num_distributed_levels

    @property
    def is_symmetric(self):
        return self._dist_h.is_symmetric

    @property
    def coarse(self):
        """The gathered level's one-device hierarchy (the same on every rank), as an AMG."""
        h = AMG.__new__(AMG)
        h._h = self._dist_h.coarse
        h._A = None
        h._options = self._options
        h._adjoint = None
        return h

    def level_matrix(self, level):
        """Level ``level``: a DistTensor while distributed (up to and including the gathered
        level, ``num_distributed_levels``), a SparseTensor of the replicated hierarchy below."""
        d = self.num_distributed_levels
        if level <= d:
            from .distributed import DistTensor
            return DistTensor(self._dist_h.level_matrix(level), self._A._group)
        return SparseTensor._wrap(self._dist_h.coarse.level_matrix(level - d))

    def prolong(self, level, xc):
        """``P xc`` of distributed level ``level`` (xc: the next level's owned slice [B, n, k])."""
        return self._dist_h.prolong(level, torch.as_tensor(xc).contiguous())

    def restrict(self, level, r):
        """``Pᵀ r`` of distributed level ``level`` (r: this level's owned slice [B, n, k])."""
        return self._dist_h.restrict(level, torch.as_tensor(r).contiguous())

    def __repr__(self):
        s = self.stats()
        rows = " > ".join(str(l["rows"]) for l in s["levels"])
        return (f"DistAMG(levels={s['num_levels']} ({self.num_distributed_levels} distributed): "
                f"{rows}, operator_complexity={s['operator_complexity']:.2f})")


def amg(A, **options):
    """Build an AMG hierarchy (see :class:`AMG`; :class:`DistAMG` for a distributed A)."""
    if getattr(A, "_is_distributed", False):
        return DistAMG(A, **options)
    return AMG(A, **options)


def amg_solve(A, b, rtol=1e-6, maxiter=100, accel="none", **options):
    """Solve ``A x = b`` with AMG: stationary cycles (``accel="none"``) or AMG-preconditioned CG
    (``accel="cg"``, symmetric A). Stops on the true relative residual. Returns ``(x, info)``,
    info a dict (iterations, residual, converged, convergence_factor, setup_time, solve_time,
    residuals, stats). Not differentiable: use ``dsla.solve(A, b, M=dsla.amg(A))`` for that."""
    return _C.amg_solve(_matrix(A), torch.as_tensor(b), _options(options), float(rtol),
                        int(maxiter), str(accel))
