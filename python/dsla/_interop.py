"""Matrices as users already have them, turned into what dsla's entry points take.

Every function that takes a matrix (``solve``, ``Solver``, ``eigsh``, ``eigs``, ``svds``,
``norm2``, ``cond``, ``det``/``logdet``/``slogdet``, ``amg``, Newton's ``jacobian``) passes its
argument through :func:`as_sparse`, which accepts

- a :class:`dsla.SparseTensor` (returned as it is);
- a ``torch.sparse_coo`` / ``torch.sparse_csr`` tensor (its values keep their autograd graph);
- a dense (strided) ``[n, m]`` (or ``[..., n, m]``) tensor: its nonzero entries
  (differentiable in the tensor, on that pattern; a batch on the union pattern);
- a ``scipy.sparse`` matrix or array (integer/bool values become float64).

``dsla.solve`` also takes a matrix-free operator (:func:`is_operator`): a callable ``x -> A x``
on vectors, a pair ``(matvec, rmatvec)`` whose second callable applies ``Aᴴ``, or a
``scipy.sparse.linalg.LinearOperator`` (NumPy in and out, CPU). Krylov methods run on it
(GMRES by default); ``x`` is differentiable in ``b`` when the adjoint is known (the pair form,
a LinearOperator with ``rmatvec``, or ``method="cg"``/``"minres"``, whose operators are
Hermitian). Gradients do not reach tensors captured inside the callables: for those, assemble a
SparseTensor. Methods that need the entries (direct solves, preconditioners by name, eigen
solvers, determinants, AMG) refuse operators with a message.

This module does not import sparse_tensor (which imports the functional modules that import
this one); sparse_tensor registers its class here at import.
"""
import torch

from . import _C
from ._sparse_base import is_sparse_tensor, matrix_from_scipy

_SPARSE_TENSOR = []  # [dsla.SparseTensor], set by sparse_tensor.py


def register_sparse_tensor(cls):
    _SPARSE_TENSOR[:] = [cls]


def _wrap(m, batch_shape=None):
    return _SPARSE_TENSOR[0]._wrap(m, batch_shape)


def _is_scipy_sparse(A):
    return type(A).__module__.startswith("scipy.sparse") and hasattr(A, "tocoo")


def _is_scipy_operator(A):
    return type(A).__module__.startswith("scipy.sparse.linalg") and hasattr(A, "matvec")


_ACCEPTED = ("a dsla.SparseTensor, a torch.sparse_coo / torch.sparse_csr tensor, a dense 2-D "
             "torch.Tensor or a scipy.sparse matrix")


def as_sparse(A, name="A"):
    """``A`` as a dsla.SparseTensor (see the module docstring); a TypeError naming the argument
    and the accepted types otherwise."""
    if is_sparse_tensor(A):
        return A
    if getattr(A, "_is_bsr", False):  # a dsla.BlockSparseTensor: its scalar matrix
        return A.to_sparse()
    if isinstance(A, _C.SparseMatrix):
        return _wrap(A)
    if isinstance(A, torch.Tensor):
        if A.layout in (torch.sparse_coo, torch.sparse_csr):
            if A.dim() != 2:
                raise ValueError(f"dsla: argument '{name}': expected a 2-D sparse tensor, got "
                                 f"{A.dim()} dimensions (shape {tuple(A.shape)})")
            t = A.coalesce() if A.layout == torch.sparse_coo else A
            return _wrap(_C.SparseMatrix.from_torch(t))
        if A.layout != torch.strided:
            raise TypeError(f"dsla: argument '{name}': unsupported layout {A.layout}; "
                            f"expected {_ACCEPTED}")
        if A.dim() < 2:
            raise ValueError(f"dsla: argument '{name}': expected a matrix [n, m] (or a batch "
                             f"[..., n, m]), got a tensor of shape {tuple(A.shape)}")
        return _SPARSE_TENSOR[0].from_dense(A)
    if _is_scipy_sparse(A):
        return _wrap(matrix_from_scipy(A))
    if is_operator(A):
        raise TypeError(f"dsla: argument '{name}': this function needs the matrix's entries, "
                        f"not a matrix-free operator ({type(A).__name__}); pass {_ACCEPTED} "
                        "(dsla.solve takes operators with its Krylov methods)")
    raise TypeError(f"dsla: argument '{name}': expected {_ACCEPTED}, got {type(A).__name__}")


def is_operator(A):
    """A matrix-free operator: a callable, a (matvec, rmatvec) pair, or an object with matvec
    (scipy.sparse.linalg.LinearOperator); not a matrix of any kind."""
    if is_sparse_tensor(A) or isinstance(A, (torch.Tensor, _C.SparseMatrix)) or _is_scipy_sparse(A):
        return False
    if isinstance(A, tuple) and len(A) == 2 and all(f is None or callable(f) for f in A):
        return callable(A[0])
    return _is_scipy_operator(A) or hasattr(A, "matvec") or callable(A)


class _Operator:
    """Vector callables (``apply``, ``adjoint`` or None) lifted to the ``[n, k]`` blocks that
    ``_C.operator_solve`` applies, with the output checked."""

    def __init__(self, A, b):
        self.numpy = False
        if isinstance(A, tuple):
            self.apply, self.adjoint = A
        elif _is_scipy_operator(A) or hasattr(A, "matvec"):
            if tuple(getattr(A, "shape", (b.shape[0],) * 2)) != (b.shape[0],) * 2:
                raise ValueError(f"dsla: argument 'A': the operator has shape {tuple(A.shape)} "
                                 f"but b has {b.shape[0]} rows (a square operator is needed)")
            self.numpy = _is_scipy_operator(A)
            self.apply = A.matvec
            self.adjoint = getattr(A, "rmatvec", None)
        else:
            self.apply, self.adjoint = A, None

    def _call(self, f, v, what):
        if self.numpy:
            z = torch.from_numpy(f(v.detach().cpu().numpy()).reshape(-1)).to(v.device)
        else:
            z = f(v)
            if not isinstance(z, torch.Tensor):
                raise TypeError(f"dsla: argument 'A': the {what} returned "
                                f"{type(z).__name__}; it must return a torch.Tensor")
        if z.shape != v.shape:
            raise ValueError(f"dsla: argument 'A': the {what} returned shape {tuple(z.shape)} "
                             f"for a vector of shape {tuple(v.shape)}; it must keep the shape")
        return z.to(v.dtype)

    def block(self, f, what):
        def g(X):
            with torch.no_grad():
                return torch.stack([self._call(f, X[:, j], what) for j in range(X.shape[1])], 1)
        return g


_ITERATIVE = ("auto", "cg", "bicgstab", "gmres", "fgmres", "minres", "lsqr", "lsmr")
_HERMITIAN = ("cg", "minres")


def _solve_once(apply_block, rhs, opts):
    return _C.operator_solve(apply_block, rhs, opts)


class _OperatorSolve(torch.autograd.Function):
    """x = A⁻¹ b on an operator; backward solves Aᴴ λ = g with the adjoint and returns λ."""

    @staticmethod
    def forward(ctx, b, op, opts, adjoint_block, out):
        x, info = _solve_once(op, b, opts)
        out.append(info)
        ctx.adjoint_block, ctx.opts = adjoint_block, {k: v for k, v in opts.items() if k != "x0"}
        return x

    @staticmethod
    def backward(ctx, g):
        lam, _ = _solve_once(ctx.adjoint_block, g.contiguous(), ctx.opts)
        return lam, None, None, None, None


def operator_solve(A, b, method, precond, rtol, atol, maxiter, restart, x0, M,
                   raise_on_failure):
    """``dsla.solve`` on a matrix-free operator: ``(x, info)``."""
    b = torch.as_tensor(b)
    if b.dim() not in (1, 2):
        raise ValueError(f"dsla: argument 'b': a matrix-free operator takes b of shape [n] or "
                         f"[n, k], got {tuple(b.shape)}")
    method = "auto" if method is None else str(method).lower()
    if method not in _ITERATIVE:
        raise ValueError(f"dsla: argument 'method': {method!r} needs the matrix's entries; a "
                         f"matrix-free operator takes {', '.join(_ITERATIVE)}")
    if precond not in (None, "none", "auto"):
        raise ValueError(f"dsla: argument 'precond': {precond!r} is built from the matrix's "
                         "entries; with a matrix-free operator pass M=callable instead")
    op = _Operator(A, b)
    opts = dict(method="gmres" if method == "auto" else method, rtol=float(rtol),
                atol=float(atol), restart=int(restart), raise_on_failure=bool(raise_on_failure))
    if maxiter is not None:
        opts["maxiter"] = int(maxiter)
    if x0 is not None:
        opts["x0"] = torch.as_tensor(x0)
    if M is not None:
        if not callable(M):
            raise TypeError("dsla: argument 'M': with a matrix-free A, M must be a callable "
                            f"r -> M r, got {type(M).__name__}")
        opts["M"] = _Operator(M, b).block(M, "preconditioner")
    adjoint = op.adjoint
    if adjoint is None and opts["method"] in _HERMITIAN:
        adjoint = op.apply
    apply_block = op.block(op.apply, "operator")
    if not (b.requires_grad and torch.is_grad_enabled()):
        return _solve_once(apply_block, b.detach(), opts)
    if adjoint is None:
        raise ValueError("dsla: argument 'A': b requires grad, and the gradient of a matrix-free "
                         "solve needs the adjoint: pass A as (matvec, rmatvec), a "
                         "LinearOperator with rmatvec, or use method='cg'/'minres' for a "
                         "Hermitian operator")
    out = []
    x = _OperatorSolve.apply(b, apply_block, opts, op.block(adjoint, "adjoint"), out)
    return x, out[0]


def operator_eigsh(A, k, which, M, sigma, precond, tol, maxiter, block, X0, seed,
                   raise_on_failure):
    """``dsla.eigsh`` on a matrix-free Hermitian operator: ``(lam, U, info)`` by LOBPCG."""
    if M is not None:
        raise ValueError("dsla: argument 'M': a generalized problem A x = λ M x needs the "
                         "matrices' entries; pass A (and M) as dsla.SparseTensor or scipy.sparse")
    if sigma is not None:
        raise ValueError("dsla: argument 'sigma': shift-invert factors A − σI, which needs the "
                         "matrix's entries; pass a dsla.SparseTensor or a scipy.sparse matrix")
    if X0 is not None:
        X0 = torch.as_tensor(X0)
        if X0.dim() != 2:
            raise ValueError(f"dsla: argument 'X0': expected a start block [n, b], got shape "
                             f"{tuple(X0.shape)}")
        n, dtype, device = X0.shape[0], X0.dtype, X0.device
    elif getattr(A, "shape", None) is not None:
        shape = tuple(A.shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"dsla: argument 'A': eigsh needs a square operator, got shape "
                             f"{shape}")
        n, device = shape[0], torch.device("cpu")
        dtype = torch.float64
        if getattr(A, "dtype", None) is not None:
            try:
                import numpy as np

                dtype = torch.from_numpy(np.empty(0, dtype=A.dtype)).dtype
            except (TypeError, ImportError):
                dtype = A.dtype if isinstance(A.dtype, torch.dtype) else torch.float64
        if dtype not in (torch.float32, torch.float64, torch.complex64, torch.complex128):
            dtype = torch.float64
    else:
        raise TypeError("dsla: argument 'A': a bare callable has no size; pass X0 (a start "
                        "block [n, b] in the dtype and on the device to work in), or a "
                        "scipy LinearOperator / an object with .shape and .matvec")
    like = torch.empty(n, 0, dtype=dtype, device=device)
    op = _Operator(A, torch.empty(n))
    T = None
    if precond not in (None, "none", "auto"):
        if not callable(precond):
            raise ValueError(f"dsla: argument 'precond': {precond!r} is built from the matrix's "
                             "entries; with a matrix-free operator pass a callable r -> T r "
                             "approximating A⁻¹")
        T = _Operator(precond, torch.empty(n)).block(precond, "preconditioner")
    opts = dict(which=which, tol=float(tol), maxiter=maxiter, block=block, X0=X0,
                seed=int(seed), raise_on_failure=bool(raise_on_failure))
    return _C.operator_eigsh(op.block(op.apply, "operator"), like, int(k), opts, T)
