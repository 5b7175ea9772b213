"""``dsla.logdet(A, method="stochastic")``: the log-determinant of a symmetric positive definite
matrix too large to factor, from products ``A @ V`` only.

Estimator (stochastic Lanczos quadrature, Ubaru, Chen & Saad, SIAM J. Matrix Anal. Appl. 38,
2017): ``log det A = tr log A``. With the Jacobi scaling ``A = D^{1/2} C D^{1/2}`` (``D`` the
diagonal of A, exact: ``log det A = Σ log a_ii + log det C``), the trace of ``log C`` is
Hutchinson's mean of ``zᵀ log(C) z`` over ``p`` Rademacher probes ``z`` (entries ±1, so
``E[z zᵀ] = I`` and each sample is an unbiased estimate); each ``zᵀ log(C) z`` is the
``m``-point Gauss quadrature of Lanczos started at ``z/‖z‖``: with ``T_m = U Θ Uᵀ``,
``zᵀ log(C) z ≈ ‖z‖² Σ_k U[0, k]² log θ_k``. The Lanczos runs of the ``p`` probes (and of a
batch's members) advance together, one sparse product ``C @ [z_1 … z_p]`` per step.

The standard error is the sample standard deviation of the ``p`` per-probe values over
``√p`` (Hutchinson's error; the quadrature error, which falls geometrically with ``m`` at a
rate set by ``√cond(C)``, is not in it — ``info.lanczos_change``, the change of the estimate
from ``⌈m/2⌉`` to ``m`` steps, is a conservative indicator of it).

Gradient: ``∂ log det A / ∂A = A⁻ᵀ``; on the pattern, ``(A⁻¹)_{ji}`` for the entry ``(i, j)``.
With the probes of the forward pass, ``A⁻¹ = E[y wᵀ]`` for ``y = A⁻¹ D^{1/2} z`` (a CG solve
through :func:`dsla.solve`) and ``w = D^{-1/2} z``, so the mean over probes of
``(y_j w_i + y_i w_j) / 2`` is an unbiased estimate of each entry's gradient (up to the CG
tolerance ``grad_rtol``); the matrix ``A⁻¹`` is never formed.
"""
import dataclasses
import math
from typing import Optional

import torch

from . import _interop
from ._util import as_float, as_int
from .solve import solve

__all__ = ["LogdetInfo", "logdet_stochastic"]

DEFAULT_PROBES = 32
DEFAULT_STEPS = 50
_SCALINGS = ("jacobi", "none")


@dataclasses.dataclass(frozen=True)
class LogdetInfo:
    """What :func:`dsla.logdet` reports with ``return_info=True``.

    ``method``: the method used (``"stochastic"``, or the exact one: ``"auto"``,
    ``"cholesky"``, ...). ``std_error``: the standard error of the estimate (a tensor shaped as
    the estimate, ``[B]`` for a batch; 0 for the exact methods; NaN with one probe), the sample
    standard deviation of the per-probe values over √probes — report ``logdet ± 2·std_error``
    for a ~95 % interval. ``variance``: ``std_error²``. ``probes``, ``lanczos_steps``: what was
    run (steps are capped at n). ``samples``: the per-probe values ``[..., probes]`` (their mean
    is the estimate). ``ritz_min`` / ``ritz_max``: the extreme Ritz values of the (Jacobi-scaled)
    matrix over all probes — estimates of its extreme eigenvalues, so ``ritz_max / ritz_min``
    estimates its condition number, which sets the number of Lanczos steps needed.
    ``lanczos_change``: ``|estimate(m steps) − estimate(⌈m/2⌉ steps)|`` from the same runs, a
    conservative indicator of the quadrature error, which falls geometrically with the steps
    (raise ``lanczos_steps`` while it is not well below ``std_error``).
    ``scaling``: ``"jacobi"`` or ``"none"``.
    """

    method: str
    std_error: torch.Tensor
    probes: int = 0
    lanczos_steps: int = 0
    samples: Optional[torch.Tensor] = None
    ritz_min: Optional[torch.Tensor] = None
    ritz_max: Optional[torch.Tensor] = None
    lanczos_change: Optional[torch.Tensor] = None
    scaling: str = ""

    @property
    def variance(self):
        return self.std_error ** 2


def _check_matrix(A):
    A = _interop.as_sparse(A, "A")
    n, m = A.shape[-2:]
    if n != m:
        raise ValueError(f"dsla.logdet: argument 'A': method='stochastic' needs a square "
                         f"matrix, got shape {tuple(A.shape)}")
    if A.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dsla.logdet: argument 'A': method='stochastic' needs real symmetric "
                        f"positive definite values of dtype torch.float64 or torch.float32, got "
                        f"{A.dtype}; for a Hermitian matrix use method='cholesky' (exact), for "
                        "a real one stored as complex A.real")
    sym = A.is_symmetric(1e-10, 0.0, True)
    if not bool(torch.as_tensor(sym).all()):
        raise ValueError("dsla.logdet: argument 'A': method='stochastic' needs a symmetric "
                         "positive definite matrix, and A is not symmetric (within rtol 1e-10 "
                         "of max|a|); for a general matrix use the exact method='lu' (or "
                         "dsla.slogdet for the sign too)")
    return A


def _check_probes(probes, A):
    n = A.shape[-1]
    if isinstance(probes, torch.Tensor):
        if probes.dtype != A.dtype:
            raise TypeError(f"dsla.logdet: argument 'probes': dtype {probes.dtype} differs from "
                            f"A's {A.dtype}; convert them, e.g. probes.to({A.dtype})")
        if probes.device != A.device:
            raise ValueError(f"dsla.logdet: argument 'probes' is on {probes.device} but A is on "
                             f"{A.device}; move them, e.g. probes.to('{A.device}')")
        want = ((A.batch_size,) if A.is_batched else ()) + (n,)
        if probes.dim() != len(want) + 1 or tuple(probes.shape[:-1]) != want \
                or probes.shape[-1] < 1:
            raise ValueError(f"dsla.logdet: argument 'probes': expected probe vectors as the "
                             f"columns of a tensor of shape {want + ('p',)} with p >= 1, got "
                             f"{tuple(probes.shape)}")
        return probes.detach().to(torch.float64)
    return as_int(probes, "probes", 1)


def _rademacher(shape, seed, device):
    """±1 entries in float64, drawn on the CPU (the same probes on every device) from a
    generator seeded with ``seed``, or from torch's global generator when seed is None."""
    g = None if seed is None else torch.Generator().manual_seed(seed)
    z = torch.randint(0, 2, shape, generator=g, dtype=torch.int8)
    return (z.to(torch.float64) * 2 - 1).to(device)


def _lanczos(C, Q, steps, reorthogonalize):
    """``steps`` Lanczos steps of the symmetric SparseTensor ``C`` from the unit columns of
    ``Q`` ``[..., n, p]``, each column its own run (vectorized: one ``C @ V`` a step). Returns
    the tridiagonals' ``alpha [..., p, m]`` and ``beta [..., p, m - 1]``. A run that breaks down
    (an invariant subspace: ‖w‖ <= 1e-10 of the largest |α|, β seen) stops there: its remaining
    α are 1 and β 0, so the padded rows add Ritz values 1 with zero weight (log 1 = 0). Six
    passes over the ``[n, p]`` block a step besides the product, in place."""
    shape = Q.shape[:-2] + Q.shape[-1:]
    alive = torch.ones(shape, dtype=torch.bool, device=Q.device)
    scale = torch.zeros(shape, dtype=Q.dtype, device=Q.device)
    b_prev = torch.zeros(shape, dtype=Q.dtype, device=Q.device)
    basis = None
    if reorthogonalize:
        basis = torch.zeros(Q.shape + (steps,), dtype=Q.dtype, device=Q.device)
        basis[..., 0] = Q
    alphas, betas = [], []
    q, q_prev = Q, None
    for j in range(steps):
        w = C @ q
        if q_prev is not None:
            w.addcmul_(q_prev, b_prev.unsqueeze(-2), value=-1)
        a = (q * w).sum(-2)
        w.addcmul_(q, a.unsqueeze(-2), value=-1)
        if basis is not None:  # classical Gram-Schmidt, twice, against every earlier vector
            Qj = basis[..., : j + 1]
            for _ in range(2):
                w -= (Qj * (Qj * w.unsqueeze(-1)).sum(-3, keepdim=True)).sum(-1)
        alphas.append(torch.where(alive, a, torch.ones_like(a)))
        if j == steps - 1:
            break
        b = (w * w).sum(-2).sqrt()  # (w.norm(dim=-2) is 3x slower: a strided reduction)
        scale = torch.maximum(scale, torch.maximum(a.abs(), b))
        alive = alive & (b > 1e-10 * scale)
        b = torch.where(alive, b, torch.zeros_like(b))
        betas.append(b)
        # the next vector w / b, and 0 for runs that ended (their rows stay padding)
        w.mul_(torch.where(alive, 1 / torch.where(alive, b, torch.ones_like(b)),
                           torch.zeros_like(b)).unsqueeze(-2))
        q_prev, q, b_prev = q, w, b
        if basis is not None:
            basis[..., j + 1] = q
    alpha = torch.stack(alphas, -1)
    beta = torch.stack(betas, -1) if betas else alpha[..., :0]
    return alpha, beta


def _quadrature(alpha, beta):
    """Per run: ``Σ_k U[0, k]² log θ_k`` of the tridiagonal (and its Ritz values)."""
    T = torch.diag_embed(alpha) + torch.diag_embed(beta, 1) + torch.diag_embed(beta, -1)
    theta, U = torch.linalg.eigh(T)
    return theta, U[..., 0, :] ** 2


def _log_quadrature(theta, tau):
    return (tau * torch.log(theta.clamp(min=torch.finfo(theta.dtype).tiny))).sum(-1)


class _Gradient(torch.autograd.Function):
    """Passes the estimate through; backward is the probe estimate of ``A⁻ᵀ`` on the pattern."""

    @staticmethod
    def forward(ctx, values, estimate, A64, Z, dsqrt, grad_rtol, grad_precond):
        ctx.A64, ctx.Z, ctx.dsqrt = A64, Z, dsqrt
        ctx.grad_rtol, ctx.grad_precond = grad_rtol, grad_precond
        ctx.values_dtype = values.dtype
        return estimate.to(values.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        A, Z, s = ctx.A64, ctx.Z, ctx.dsqrt
        # y = A⁻¹ D^{1/2} z by CG, w = D^{-1/2} z: E[y wᵀ] = A⁻¹
        Y = solve(A, s.unsqueeze(-1) * Z, method="cg", precond=ctx.grad_precond,
                  rtol=ctx.grad_rtol)
        W = Z / s.unsqueeze(-1)
        row, col = A.row.long(), A.col.long()
        p = Z.shape[-1]
        acc = torch.zeros(Z.shape[:-2] + (row.numel(),), dtype=Z.dtype, device=Z.device)
        chunk = max(1, (1 << 24) // max(1, row.numel()))
        for k in range(0, p, chunk):
            y, w = Y[..., k:k + chunk], W[..., k:k + chunk]
            acc += (y[..., col, :] * w[..., row, :] + y[..., row, :] * w[..., col, :]).sum(-1)
        grad = acc * (0.5 / p) * g.to(torch.float64).unsqueeze(-1)
        return grad.to(ctx.values_dtype), None, None, None, None, None, None


def logdet_stochastic(A, probes=None, lanczos_steps=None, seed=None, scaling="jacobi",
                      reorthogonalize=False, grad_rtol=1e-6, grad_precond="jacobi"):
    """The estimate and its :class:`LogdetInfo` (see :func:`dsla.logdet`)."""
    A = _check_matrix(A)
    probes = _check_probes(DEFAULT_PROBES if probes is None else probes, A)
    steps = as_int(DEFAULT_STEPS if lanczos_steps is None else lanczos_steps, "lanczos_steps", 1)
    if seed is not None:
        seed = as_int(seed, "seed", 0)
    if not isinstance(scaling, str) or scaling not in _SCALINGS:
        raise ValueError(f"dsla.logdet: argument 'scaling': use 'jacobi' or 'none', got "
                         f"{scaling!r}")
    if not isinstance(reorthogonalize, bool):
        raise TypeError("dsla.logdet: argument 'reorthogonalize': expected True or False, got "
                        f"{type(reorthogonalize).__name__}")
    grad_rtol = as_float(grad_rtol, "grad_rtol", 0.0)
    n = A.shape[-1]
    batch = (A.batch_size,) if A.is_batched else ()
    if isinstance(probes, torch.Tensor):
        Z = probes
    else:
        Z = _rademacher(batch + (n, probes), seed, A.device)
    p = Z.shape[-1]
    A64 = A.detach().to(dtype=torch.float64)
    if n == 0:  # det of a 0 x 0 matrix is 1, as in torch.linalg
        zero = torch.zeros(batch, dtype=torch.float64, device=A.device)
        est = _Gradient.apply(A.values, zero, A64, Z, zero[..., None], grad_rtol, grad_precond)
        return est, LogdetInfo("stochastic", zero.to(A.dtype), p, 0, scaling=scaling)
    d = A64.diagonal()
    if scaling == "jacobi":
        bad = d <= 0
        if bool(bad.any()):
            where = tuple(bad.nonzero()[0].tolist())
            i = where[-1]
            raise ValueError(f"dsla.logdet: argument 'A': A is not positive definite: the "
                             f"diagonal entry a[{i}, {i}] = {float(d[where]):g} "
                             "is not positive (method='stochastic' needs SPD A; for "
                             "log|det A| of another matrix use dsla.slogdet)")
        s = d.sqrt()
        shift = torch.log(d).sum(-1)
    else:
        s = torch.ones_like(d)
        shift = torch.zeros(batch, dtype=torch.float64, device=A.device)
    # C = D^-1/2 A D^-1/2 as a matrix on A's pattern (one pass over the values, then plain
    # products in the loop)
    inv_s = 1 / s
    row, col = A64.row.long(), A64.col.long()
    C = A64.with_values(A64.values * inv_s[..., row] * inv_s[..., col])

    m = min(steps, n)
    znorm2 = (Z * Z).sum(-2)
    if bool((znorm2 == 0).any()):
        raise ValueError("dsla.logdet: argument 'probes': a probe vector is zero")
    with torch.no_grad():
        Q = Z / znorm2.sqrt().unsqueeze(-2)
        # On the CPU the runs go in blocks of ~16 MB ([n, k] float64): past the cache the
        # product and the column sums cost 2-3x more per column (poisson2d:256, 1 thread: 32
        # columns 0.18 ms/column/product, 128 columns 0.37). A GPU takes every probe at once.
        k = p if A.device.type != "cpu" else max(1, min(p, (1 << 24) // (8 * n)))
        runs = [_lanczos(C, Q[..., j:j + k], m, reorthogonalize) for j in range(0, p, k)]
        alpha = torch.cat([r[0] for r in runs], -2)
        beta = torch.cat([r[1] for r in runs], -2)
        theta, tau = _quadrature(alpha, beta)
        lo = theta.amin(-1)
        if bool((lo <= 0).any()):
            bad = float(lo.min())
            raise ValueError(f"dsla.logdet: argument 'A': A is not positive definite: Lanczos "
                             f"found a Ritz value {bad:.3g} <= 0 of "
                             f"{'D^-1/2 A D^-1/2' if scaling == 'jacobi' else 'A'} (Ritz values "
                             "lie between A's extreme eigenvalues); method='stochastic' needs "
                             "SPD A — for log|det A| of a symmetric indefinite matrix use "
                             "dsla.slogdet(A) (LDLᵀ / LU)")
        samples = znorm2 * _log_quadrature(theta, tau) + shift.unsqueeze(-1)
        estimate = samples.mean(-1)
        if m > 1:  # the same runs cut at half the steps: a conservative convergence check
            h = (m + 1) // 2
            theta1, tau1 = _quadrature(alpha[..., :h], beta[..., :h - 1])
            prev = (znorm2 * _log_quadrature(theta1, tau1)).mean(-1) + shift
            change = (estimate - prev).abs()
        else:
            change = torch.zeros_like(estimate)
        std = samples.std(-1) / math.sqrt(p) if p > 1 else torch.full_like(estimate, math.nan)
    dt = A.dtype
    est = _Gradient.apply(A.values, estimate, A64, Z, s, grad_rtol, grad_precond)
    info = LogdetInfo("stochastic", std.to(dt), p, m, samples.to(dt), lo.amin(-1).to(dt),
                      theta.amax(-1).amax(-1).to(dt), change.to(dt), scaling)
    return est, info
