"""Linear solves ``A x = b``: Krylov methods, direct factorizations, and a prepared ``Solver``.

Every solve is differentiable in ``A.values`` and ``b`` (adjoint rule: backward does one more
solve with ``Aᴴ``, reusing the factorization or preconditioner; the graph has one node).

SciPy semantics: system ``j`` has converged when ``‖b_j − A x_j‖ ≤ max(rtol ‖b_j‖, atol)``,
checked on the *true* residual at exit. Non-convergence warns (``SolveWarning``) unless
``raise_on_failure=True``, which raises ``dsla.SolveError``.

The keyword defaults of :func:`solve` and :class:`Solver` (method, precond, tolerances, ...)
can be set for a block of code with ``dsla.config`` (thread-local scopes, presets); keywords
passed explicitly always win.
"""
import functools
import inspect
import warnings

import torch

from . import _C
from . import _batch, _config, _interop, _progress
from ._sparse_base import as_matrix, is_sparse_tensor, matrix_from_scipy
from ._util import as_int

SolveError = _C.SolveError
SolveInfo = _C.SolveInfo

METHODS = _config.METHODS


class SolveWarning(UserWarning):
    """A solve that did not meet its tolerance (see the SolveInfo in the message)."""


def _info_plot(self, ax=None, **kw):
    """Convergence history (needs ``history=True`` or ``callback``): residual vs iteration."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    its, res = list(self.history_iterations), list(self.history_residuals)
    if not its:
        raise ValueError("dsla: SolveInfo has no history; solve with history=True")
    ax.semilogy(its, res, label=kw.pop("label", f"{self.method} + {self.preconditioner}"), **kw)
    ax.set_xlabel("iteration")
    ax.set_ylabel("relative residual (estimate)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


SolveInfo.plot = _info_plot


def _as_callable(M, n):
    """A user preconditioner as (apply, apply_adjoint) callables on [B, n, k] tensors."""
    shape = getattr(M, "shape", None)
    if shape is not None:
        shape = tuple(shape)
        if shape != (n, n):
            raise ValueError(f"dsla: argument 'M': the preconditioner has shape {shape} but A "
                             f"needs ({n}, {n}) (M approximates A⁻¹, so it has A's shape)")
    if is_sparse_tensor(M):
        return _matrix_callables(as_matrix(M, "M"))

    def batched(f):
        def g(x):
            out = torch.empty_like(x)
            for b in range(x.shape[0]):
                for j in range(x.shape[2]):
                    z = torch.as_tensor(f(x[b, :, j]))
                    if z.shape != (x.shape[1],):
                        raise ValueError(f"dsla: argument 'M': the preconditioner returned shape "
                                         f"{tuple(z.shape)} for a vector of length {x.shape[1]}; "
                                         "it must return a vector of the same length")
                    out[b, :, j] = z.to(x.dtype)
            return out
        return g

    if hasattr(M, "_apply_batched"):  # dsla.AMG: native, [B, n, k] in and out, with an adjoint
        return M._apply_batched, getattr(M, "_apply_batched_adjoint", None)
    if hasattr(M, "matvec"):  # scipy.sparse.linalg.LinearOperator-like (NumPy in and out)
        def mv(v):
            return torch.as_tensor(M.matvec(v.detach().cpu().numpy()))
        adj = None
        if hasattr(M, "rmatvec"):
            def adj(v):
                return torch.as_tensor(M.rmatvec(v.detach().cpu().numpy()))
        return batched(mv), (batched(adj) if adj else None)
    if hasattr(M, "toarray") or hasattr(M, "tocsr"):  # a scipy.sparse matrix
        return _matrix_callables(matrix_from_scipy(M))
    if callable(M):
        return batched(M), None
    raise TypeError("dsla: argument 'M': expected a SparseTensor, a callable r -> M r, or an "
                    "object with matvec (scipy.sparse.linalg.LinearOperator)")


def _matrix_callables(m):
    """``M @ x`` and ``Mᴴ @ x`` per batch member for the C++ matrix m of a sparse M (what
    SparseTensor's ``M @ x`` and ``M.H @ x`` compute)."""
    return (lambda x: torch.stack([_C.matmul(m, xb) for xb in x]),
            lambda x: torch.stack([_C.matmul(m.conj_transpose(), xb) for xb in x]))


def _options(A, method, precond, rtol, atol, maxiter, restart, x0, M, raise_on_failure,
             callback, check_every, history, ordering):
    if method is None:
        method = "auto"
    method = str(method).lower()
    if method not in METHODS and method not in _config.METHOD_ALIASES:
        raise ValueError(f"dsla: argument 'method': unknown method {method!r}; use one of "
                         f"{', '.join(METHODS)}")
    d = dict(method=method, precond="auto" if precond is None else str(precond).lower(),
             rtol=float(rtol), atol=float(atol), restart=as_int(restart, "restart", 1),
             raise_on_failure=bool(raise_on_failure), warn=False, history=bool(history),
             ordering=ordering)
    if maxiter is not None:
        d["maxiter"] = as_int(maxiter, "maxiter", 0)
    if check_every is not None:
        d["check_every"] = as_int(check_every, "check_every", 1)
    if x0 is not None:
        d["x0"] = torch.as_tensor(x0)
    if isinstance(getattr(M, "_h", None), _C.AmgHierarchy):
        d["M"] = M._h  # dsla.AMG: the C++ hierarchy itself (no Python call per cycle)
    elif M is not None:
        d["M"], d["M_adjoint"] = _as_callable(M, A.shape[-2])
    if callback is not None:
        d["callback"] = callback
    return d


_PRECOND_OPTIONS = {"block_size": "block_jacobi's block, asm's rows per block, amg's unknowns per "
                                  "node (0: automatic)",
                    "omega": "ssor / mc_ssor relaxation, 0 < omega < 2",
                    "degree": "chebyshev's polynomial degree"}


def _block_options(A, precond, precond_options):
    """precond_options for a dsla.BlockSparseTensor's scalar solve: its block size for the
    block-aware preconditioners (amg: nodes; block_jacobi: the diagonal blocks), unless given."""
    r, c = A.blocksize
    po = dict(precond_options or {})
    if r == c and r > 1 and precond in ("amg", "block_jacobi") and "block_size" not in po:
        po["block_size"] = r
    return po or None


def _precond_options(po):
    """precond_options as the keys the C++ options read (block_size, omega, degree)."""
    if po is None:
        return {}
    if not isinstance(po, dict):
        raise TypeError(f"dsla: argument 'precond_options': expected a dict, got "
                        f"{type(po).__name__}")
    out = {}
    for k, v in po.items():
        if k not in _PRECOND_OPTIONS:
            raise ValueError(f"dsla: argument 'precond_options': unknown key {k!r}; use "
                             + ", ".join(f"{n} ({w})" for n, w in _PRECOND_OPTIONS.items()))
        out[k] = float(v) if k == "omega" else as_int(v, f"precond_options['{k}']", 0)
    return out


def _check_damp(damp, A, b):
    """damp as a float >= 0; refused with tensors that require grad (the adjoint rule of a
    damped least-squares solve is not implemented)."""
    try:
        damp = float(damp)
    except (TypeError, ValueError):
        raise TypeError(f"dsla: argument 'damp': expected a number >= 0, got "
                        f"{type(damp).__name__}") from None
    if not damp >= 0 or damp == float("inf"):
        raise ValueError(f"dsla: argument 'damp': must be finite and >= 0, got {damp}")
    if damp and torch.is_grad_enabled() and (A.values.requires_grad or b.requires_grad):
        raise NotImplementedError("dsla: argument 'damp': gradients through a damped "
                                  "least-squares solve are not implemented; solve under "
                                  "torch.no_grad() or detach A.values and b")
    return damp


def _takes_two(fn):
    """Whether fn requires two positional arguments (the old callback(iteration, residual))."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) >= 2


def _callbacks(callback, monitor, batched, bdim):
    """SciPy's ``callback(xk)`` and dsla's ``monitor(iteration, residual)``: returns
    ``(monitor, callback_x)``, callback_x taking the solver's iterate [B, n, k] and handing
    ``callback`` the iterate in x's shape. ``bdim()`` gives the right-hand side's dimension."""
    if callback is not None and _takes_two(callback):
        if monitor is not None:
            raise TypeError("dsla: argument 'callback': takes (iteration, residual), which is "
                            "monitor's signature, and monitor= is given too; callback receives "
                            "the iterate xk, as SciPy's")
        warnings.warn("dsla: callback(iteration, residual) is now monitor=...; callback receives "
                      "the iterate xk, as SciPy's callback (this call is treated as monitor)",
                      FutureWarning, stacklevel=4)
        return callback, None
    if callback is None:
        return monitor, None
    if not callable(callback):
        raise TypeError(f"dsla: argument 'callback': expected a callable xk -> None, got "
                        f"{type(callback).__name__}")

    def callback_x(x3):
        d = bdim()
        if d == 3:
            xk = x3
        elif d == 1:
            xk = x3[..., 0] if batched else x3[0, :, 0]
        else:  # [n, k], or [B, n] for a batched A
            xk = x3[..., 0] if batched and x3.shape[-1] == 1 else x3[0]
        callback(xk)

    return monitor, callback_x


class BatchSolveInfo:
    """The :class:`SolveInfo` of a solve over a batch shape the C++ flat batch does not hold
    as it is (two or more batch dimensions, or an unbatched A with a batch of right-hand
    sides): every attribute is the C++ info's, except ``residuals``, shaped
    ``[*batch_shape, k]`` (k = 1 for vector right-hand sides) — ``[B, k]`` for a flat batch as
    before."""

    __slots__ = ("_info", "residuals")

    def __init__(self, info, residuals):
        self._info, self.residuals = info, residuals

    def __getattr__(self, name):
        return getattr(self._info, name)

    def __repr__(self):
        return repr(self._info)


def _solve_batched(A_shape, fn, b, x0, what="dsla.solve"):
    """``fn(b_flat, x0_flat) -> (x, info)`` on the C++ flat batch for a matrix of shape
    ``A_shape`` (``(*S, n, m)``) and right-hand sides b of any batch (``_batch.Layout``); x and
    the per-system residuals come back with the broadcast batch shape."""
    S, n, m = tuple(A_shape[:-2]), A_shape[-2], A_shape[-1]
    L = _batch.Layout(S, n, b, "b", what)
    if L.native():
        if x0 is not None and len(S) >= 2:
            x0 = torch.as_tensor(x0)
            if tuple(x0.shape[:len(S)]) == S:
                x0 = x0.reshape((-1,) + tuple(x0.shape[len(S):]))
        x, info = fn(b, x0, S)
        if len(S) < 2:
            return x, info
        return _batch.unflatten(x, S), _reshaped_info(info, L.per_system(info.residuals))
    if x0 is not None:
        x0 = torch.as_tensor(x0)
        if x0.shape != L.batch + L.core(m) and x0.shape != L.core(m):
            raise ValueError(f"dsla: {what}: argument 'x0' has shape {tuple(x0.shape)}; "
                             f"expected the solution's {L.batch + L.core(m)}")
        x0 = L.to_flat(x0.expand(L.batch + L.core(m)) if L.batch else x0, m)
    x, info = fn(L.to_flat(b), x0, L.batch if not L.fold() else ())
    return L.from_flat(x), _reshaped_info(info, L.per_system(info.residuals))


def _reshaped_info(info, residuals):
    """The C++ info itself where its residuals already have the shape (flat batches)."""
    if tuple(residuals.shape) == tuple(info.residuals.shape):
        return info
    return BatchSolveInfo(info, residuals)


def _report(info, raise_on_failure):
    if not info.converged and not raise_on_failure:
        warnings.warn(f"dsla: {info.message}", SolveWarning, stacklevel=3)


@functools.partial(_config.configurable, name="dsla.solve")
def solve(A, b, method="auto", precond=None, rtol=1e-8, atol=0.0, maxiter=None, restart=30,
          x0=None, M=None, return_info=False, raise_on_failure=False, callback=None,
          check_every=None, history=False, ordering="auto", verbose=False, monitor=None,
          damp=0.0, precond_options=None):
    """Solve ``A x = b`` (least squares ``min ‖A x − b‖`` for rectangular A with lsqr/lsmr).

    A: ``SparseTensor`` ``(n, m)`` or a batch ``(*S, n, m)`` (any number of batch dimensions).
    b: ``[n]`` or ``[n, k]`` (the same right-hand sides for every member), a batch of vectors
    ``[*S, n]`` (as many batch dimensions as A, each equal to A's or 1; a flat batch:
    ``[B, n]``), or of blocks ``[*Sb, n, k]`` with ``Sb`` broadcast against ``S`` (an
    unbatched A solves any batch of b with one factorization, as ``n x (prod(Sb)·k)``
    right-hand sides). x has the broadcast batch shape; so do ``info.residuals``
    (``[*batch, k]``, k = 1 for vectors) when the batch is not A's flat one, where the info is
    a :class:`BatchSolveInfo` (the C++ SolveInfo's attributes, residuals reshaped).
    method: ``"auto"`` (direct up to 2e5 rows when the build
    has a direct backend for A's device — SuiteSparse on the CPU, cuDSS on CUDA — Cholesky
    when A looks SPD, LU otherwise; else CG + Jacobi for SPD-looking A, GMRES otherwise; LSQR
    for rectangular A), ``"cg"``, ``"bicgstab"``, ``"gmres"``, ``"fgmres"``,
    ``"minres"``, ``"lsqr"``, ``"lsmr"``, ``"cholesky"``, ``"ldlt"``, ``"lu"`` (CUDA matrices:
    cuDSS, see ``dsla.features["cudss"]``).
    precond: ``None``/``"auto"``, ``"none"``, ``"jacobi"``, ``"block_jacobi"``, ``"sgs"``,
    ``"ssor"``, ``"mc_sgs"``, ``"mc_ssor"``, ``"dilu"``, ``"asm"``, ``"chebyshev"``, ``"ic0"``,
    ``"ilu0"``, ``"amg"``; precond_options: ``dict(block_size=, omega=, degree=)`` for the kinds
    that take them (block_jacobi / asm block, ssor / mc_ssor relaxation, chebyshev degree);
    M: a user preconditioner
    (SparseTensor, callable ``r -> M r``, or scipy LinearOperator). callback(xk)
    receives the current iterate (x's shape; a copy) at every convergence check, as SciPy's
    (GMRES: the iterate of its last restart); monitor(iteration, residual) receives the
    iteration count and the largest relative residual estimate there (a callback taking two
    arguments is still treated as monitor, with a FutureWarning). maxiter counts iterations, i.e. products with A, for every
    method: for GMRES that is inner iterations across restarts, where SciPy's gmres counts
    restart cycles (SciPy's ``maxiter=m`` with ``restart=r`` is dsla's ``maxiter=m * r``).
    damp (``"lsqr"``/``"lsmr"``; method ``"auto"`` then picks LSQR): solves the regularized
    problem ``min ‖A x − b‖² + damp² ‖x‖²`` as SciPy's ``damp`` (not differentiable yet: a
    tensor that requires grad is refused).
    ordering (direct methods): ``"auto"``, ``"amd"``, ``"metis"``, ``"natural"``, ``"nesdis"``
    (CHOLMOD), ``"nd"`` (dsla's nested dissection, Cholesky/LDLᵀ; on CUDA from 2^17 rows,
    below that cuDSS orders). On CUDA ``"auto"`` hands dsla's nested dissection to cuDSS from
    2^17 rows on (poisson2d:1024: 0.47 s analysis +
    factor + solve instead of 1.8 s with cuDSS's reordering, at ~15 % more fill: a loop that
    refactors the same pattern hundreds of times may prefer ``"metis"``). On the CPU,
    ``"auto"`` and ``"nd"`` Cholesky of a real matrix from 2^17 rows
    (``DSLA_CHOLMOD_SPLIT_MIN_ROWS``) factor the two halves of that nested dissection on two
    threads plus a dense separator block (poisson2d:1024: 1.6 s on 2 cores instead of 4.0 s
    with AMD); ``Solver.factorization`` says which factorization was used.

    A distributed matrix (``dsla.distributed``) is solved by :func:`dsla.distributed.solve`
    (Krylov methods; b is this rank's owned slice).

    A list of matrices with different patterns (``[A1, A2, ...]``, how graph learning batches
    graphs) with a list ``b = [b1, b2, ...]`` (``[n_i]`` or ``[n_i, k]``, one k for all) solves
    the block-diagonal system they form in one solve (:func:`dsla.block_diag`) and returns the
    list ``[x1, x2, ...]``, differentiable in every ``Ai.values`` and ``bi``. The tolerance
    applies to the whole stacked system (as one solve of the assembled batch); ``x0`` may be a
    list too; ``M`` is not taken (one preconditioner per member has no meaning in one solve:
    use ``precond``).

    A may also be a torch sparse COO/CSR tensor, a dense tensor, a scipy.sparse matrix, or a
    matrix-free operator (a callable ``x -> A x``, a pair ``(matvec, rmatvec)``, a scipy
    LinearOperator) for the Krylov methods: see ``dsla._interop``.

    verbose: progress of iterative methods (a tqdm bar when tqdm is installed, else log lines on
    stderr); the summary is logged at INFO, each convergence check at DEBUG, on logger
    ``"dsla"`` (see ``dsla._progress``).

    Defaults of the keywords method, precond, rtol, atol, maxiter, restart, check_every,
    ordering, raise_on_failure, history and verbose come from ``dsla.config`` scopes when
    one is in force (``with dsla.config(method="cg", rtol=1e-10): ...``, or a preset of
    ``dsla.presets``); the values in the signature are the built-in ones, and a keyword passed
    explicitly always wins.

    Mixed precision: A with ``torch.float32`` values and b ``torch.float64`` runs CG
    (``method="cg"``, which ``"auto"`` picks for a symmetric A) with ``precond="jacobi"`` or
    ``"none"``, reading the float32 values (half the matrix's bytes) and doing every product and
    sum in float64: x is float64, and the system solved is exactly the float32 matrix (for a
    float64 matrix rounded to float32, a nearby one). Gradients take their inputs' dtypes. Other
    methods and preconditioners refuse it by name (convert with ``A.to(dtype=torch.float64)``).

    Returns ``x`` (differentiable), or ``(x, info)`` with ``return_info=True``.
    """
    if _is_matrix_list(A):
        return _solve_list(A, b, method=method, precond=precond, rtol=rtol, atol=atol,
                           maxiter=maxiter, restart=restart, x0=x0, M=M,
                           return_info=return_info, raise_on_failure=raise_on_failure,
                           callback=callback, check_every=check_every, history=history,
                           ordering=ordering, verbose=verbose, monitor=monitor)
    if getattr(A, "_is_distributed", False):  # a dsla.distributed.DistTensor: its own solve
        return A.solve(b, method=method, precond=precond, rtol=rtol, atol=atol,
                       maxiter=maxiter, restart=restart, return_info=return_info,
                       raise_on_failure=raise_on_failure, callback=callback,
                       check_every=check_every, history=history, x0=x0, M=M, monitor=monitor)
    if _interop.is_operator(A):
        x, info = _interop.operator_solve(A, b, method, precond, rtol, atol, maxiter, restart,
                                          x0, M, raise_on_failure)
        _report(info, raise_on_failure)
        return (x, info) if return_info else x
    if getattr(A, "_is_bsr", False):  # block size to the block-aware preconditioners
        precond_options = _block_options(A, precond, precond_options)
    A = _interop.as_sparse(A, "A")
    b = torch.as_tensor(b)
    damp = _check_damp(damp, A, b)
    monitor, callback_x = _callbacks(callback, monitor, A.is_batched, b.dim)
    progress = _progress.Progress("solve", verbose, monitor, maxiter)
    opts = _options(A, method, precond, rtol, atol, maxiter, restart, x0, M, raise_on_failure,
                    progress.callback, check_every, history, ordering)
    opts.update(_precond_options(precond_options))
    if callback_x is not None:
        opts["callback_x"] = callback_x
    if damp:
        opts["damp"] = damp

    def run(bf, x0f, batch):
        m = A._m if batch == A.batch_shape or not batch else A.expand(batch)._m
        o = dict(opts)
        if x0f is not None:
            o["x0"] = x0f
        return _C.solve(m, bf, o)

    x, info = _solve_batched(A.shape, run, b, opts.pop("x0", None))
    progress.done(info)
    _report(info, raise_on_failure)
    return (x, info) if return_info else x


def _is_matrix_list(A):
    """A list (or tuple) of matrices — not a (matvec, rmatvec) pair nor nested lists of numbers."""
    if isinstance(A, list) and len(A) == 0:
        return True  # _solve_list names the empty list
    return isinstance(A, (list, tuple)) and len(A) > 0 and all(
        is_sparse_tensor(M) or _interop._is_scipy_sparse(M)
        or (isinstance(M, torch.Tensor) and M.dim() == 2) for M in A)


def _solve_list(As, bs, x0=None, M=None, return_info=False, **kw):
    """solve() on a list of matrices: one solve of their block-diagonal assembly."""
    from ._algebra import block_diag

    if len(As) == 0:
        raise ValueError("dsla: argument 'A': the list of matrices is empty")
    if M is not None:
        raise TypeError("dsla: argument 'M': a list of matrices is solved as one block-diagonal "
                        "system; pass precond= (a preconditioner kind) instead of M")
    if not isinstance(bs, (list, tuple)) or len(bs) != len(As):
        got = f"a list of {len(bs)}" if isinstance(bs, (list, tuple)) else type(bs).__name__
        raise TypeError(f"dsla: argument 'b': with a list of {len(As)} matrices, b must be a list "
                        f"of {len(As)} right-hand sides (b[i] for A[i]), got {got}")
    mats = [_interop.as_sparse(Ai, f"A[{i}]") for i, Ai in enumerate(As)]
    bs = [torch.as_tensor(bi) for bi in bs]
    for i, (Ai, bi) in enumerate(zip(mats, bs)):
        if Ai.is_batched:
            raise ValueError(f"dsla: argument 'A[{i}]': is batched; a list takes unbatched "
                             "matrices (its members are the batch)")
        if bi.dim() not in (1, 2) or bi.shape[0] != Ai.shape[-2]:
            raise ValueError(f"dsla: argument 'b[{i}]': has shape {tuple(bi.shape)}; expected "
                             f"[{Ai.shape[-2]}] or [{Ai.shape[-2]}, k] (the rows of A[{i}])")
        if bi.shape[1:] != bs[0].shape[1:]:
            raise ValueError(f"dsla: argument 'b[{i}]': has shape {tuple(bi.shape)} but b[0] has "
                             f"{tuple(bs[0].shape)}; every b[i] needs the same number of columns")
    A = block_diag(mats)
    b = torch.cat(bs, 0)
    if isinstance(x0, (list, tuple)):
        if len(x0) != len(mats):
            raise ValueError(f"dsla: argument 'x0': a list of {len(x0)} guesses for "
                             f"{len(mats)} matrices")
        x0 = torch.cat([torch.as_tensor(x) for x in x0], 0)
    x, info = solve(A, b, x0=x0, return_info=True, **kw)
    xs = list(torch.split(x, [Ai.shape[-1] for Ai in mats], 0))
    return (xs, info) if return_info else xs


class Solver:
    """A solve prepared once for ``A`` (factorization or preconditioner kept)::

        S = dsla.Solver(A, method="cholesky")
        x = S.solve(b)            # differentiable in A.values and b
        y = S.solve_adjoint(c)    # Aᴴ y = c with the same factorization
        S.refactor(new_values)    # same pattern: numeric phase only

    Options as for :func:`dsla.solve`, with its defaults from ``dsla.config`` scopes in force
    when the Solver is made (explicit keywords win). ``S.info`` is the SolveInfo of the last
    solve. With a distributed matrix (``dsla.distributed``) this builds a
    ``dsla.distributed.Solver``.
    """

    def __new__(cls, A=None, *args, **kw):
        if getattr(A, "_is_distributed", False):
            if args:
                raise TypeError("dsla: a distributed Solver takes its options by keyword")
            kw.pop("ordering", None), kw.pop("verbose", None)
            return A._solver(**kw)
        return super().__new__(cls)

    @functools.partial(_config.configurable, name="dsla.Solver")
    def __init__(self, A, method="auto", precond=None, rtol=1e-8, atol=0.0, maxiter=None,
                 restart=30, x0=None, M=None, raise_on_failure=False, callback=None,
                 check_every=None, history=False, ordering="auto", verbose=False, monitor=None,
                 damp=0.0, precond_options=None):
        A = _interop.as_sparse(A, "A")
        self._shape = A.shape
        self._raise = raise_on_failure
        self._damp = _check_damp(damp, A, torch.empty(0))
        self._A = A
        self._bdim = 1
        monitor, callback_x = _callbacks(callback, monitor, A.is_batched, lambda: self._bdim)
        self._progress = _progress.Progress("Solver", verbose, monitor, bar=False)
        opts = _options(A, method, precond, rtol, atol, maxiter, restart, x0, M,
                        raise_on_failure, self._progress.callback, check_every, history,
                        ordering)
        opts.update(_precond_options(precond_options))
        if callback_x is not None:
            opts["callback_x"] = callback_x
        if self._damp:
            opts["damp"] = self._damp
        self._s = _C.Solver(A._m, opts)
        _progress.report("Solver setup", f"{self._s.method}, {self._s.setup_time:.3g} s")
        self.info = None

    def _run(self, f, b, what):
        shape = getattr(self, "_shape", None)
        b = torch.as_tensor(b)
        if shape is None:  # a Solver wrapped around a prepared _C.Solver (flat batch)
            return f(b)
        if what.endswith("adjoint()"):
            shape = shape[:-2] + (shape[-1], shape[-2])

        def run(bf, x0f, batch):
            if batch and batch != shape[:-2]:
                raise ValueError(f"dsla: {what}: argument 'b' has batch shape that broadcasts "
                                 f"A's batch shape {shape[:-2]} to {batch}; a Solver holds "
                                 "one preparation per member of A: expand A before making the "
                                 "Solver, or give b A's batch shape")
            return f(bf)

        return _solve_batched(shape, run, b, None, what)

    def solve(self, b, return_info=False):
        """x with ``A x = b``; b as for :func:`dsla.solve` (its batch must broadcast to A's
        batch shape without enlarging it)."""
        b = torch.as_tensor(b)
        self._bdim = b.dim()
        if getattr(self, "_damp", 0.0):
            _check_damp(self._damp, self._A, b)
        x, self.info = self._run(self._s.solve, b, "Solver.solve()")
        self._progress.done(self.info)
        _report(self.info, self._raise)
        return (x, self.info) if return_info else x

    def solve_adjoint(self, b, return_info=False):
        b = torch.as_tensor(b)
        self._bdim = b.dim()
        if getattr(self, "_damp", 0.0):
            _check_damp(self._damp, self._A, b)
        x, self.info = self._run(self._s.solve_adjoint, b, "Solver.solve_adjoint()")
        self._progress.done(self.info)
        _report(self.info, self._raise)
        return (x, self.info) if return_info else x

    solve_transpose = solve_adjoint

    @classmethod
    def _wrap(cls, s, raise_on_failure=False):
        """A Solver around a prepared ``_C.Solver``."""
        self = cls.__new__(cls)
        self._raise, self._s, self.info = raise_on_failure, s, None
        return self

    def refactor(self, values):
        """New values (same pattern, shape, dtype; ``[..., nnz]`` with A's batch shape):
        redoes only the numeric phase."""
        v = values.values if hasattr(values, "_m") else torch.as_tensor(values)
        self._s.refactor(v.reshape(-1, v.shape[-1]) if v.dim() > 2 else v)

    @property
    def method(self):
        return self._s.method

    @property
    def preconditioner(self):
        return self._s.preconditioner

    @property
    def factorization(self):
        """The direct factorization behind a direct method ("" for iterative ones), e.g.
        ``"cholmod-supernodal-llt(amd)"`` or ``"cholmod-supernodal-llt(nd, split)"``: large
        real SPD matrices on the CPU are factored as two halves of a nested dissection on two
        threads and a dense separator (``DSLA_CHOLMOD_SPLIT_MIN_ROWS``, default 131072)."""
        return self._s.factorization

    @property
    def setup_time(self):
        return self._s.setup_time

    def __repr__(self):
        return f"dsla.Solver(method={self.method!r}, preconditioner={self.preconditioner!r})"


# __new__ (the distributed dispatch) would otherwise be what inspect.signature and help() show.
Solver.__signature__ = inspect.signature(Solver.__init__).replace(
    parameters=list(inspect.signature(Solver.__init__).parameters.values())[1:])
