"""Distributed sparse matrices over ``torch.distributed`` (domain decomposition).

The rows of a square matrix are split over the ranks of a process group; each rank keeps its
rows (a diagonal block over the columns it owns and an off-diagonal block over "ghost" columns
owned elsewhere) and a halo plan. Vectors are **owned slices**: ``x[i]`` belongs to global row
``A.owned[i]``, so ``b_local = b[A.owned]`` takes this rank's part of a global vector::

    import torch, torch.distributed as dist, dsla
    dist.init_process_group("gloo")                      # torchrun, or spawn with file://
    A = dsla.distributed.poisson2d(256)                  # only this rank's box is built
    b = torch.ones(A.n_owned, dtype=torch.float64)
    x, info = dsla.solve(A, b, method="cg", precond="jacobi", return_info=True)
    print(A.gather(x)[:4], info)                         # the whole vector, on every rank

Every function and method here is a **collective**: all ranks of the group call it, in the
same order. Errors found on one rank (bad input, a failed local setup) are raised on every rank;
a rank that dies makes the others raise within the group's timeout. ``info`` (iterations,
residual, status) is global and identical on every rank.

Solves are differentiable in ``A.values`` and ``b``; backward is itself collective, so the loss
must be global (reduce it with :func:`global_sum`) and every rank must call ``backward()``.
No array of global length exists on any rank, except in :meth:`DistTensor.gather` and the
input of :func:`from_global`.
"""
import functools
import os

import torch

from . import _C, _config
from ._sparse_base import as_matrix
from ._util import as_int, dtype_name

METHODS = ("auto", "cg", "bicgstab", "gmres", "fgmres", "minres", "lsqr", "lsmr")

_comms = {}


def _dist():
    import torch.distributed as dist

    if not dist.is_available():
        raise RuntimeError("dsla: torch.distributed is not available in this PyTorch build")
    if not dist.is_initialized():
        raise RuntimeError("dsla: torch.distributed is not initialized; call "
                           "torch.distributed.init_process_group('gloo') first (torchrun sets "
                           "the environment it reads)")
    return dist


def _comm(group=None):
    """The _C.DistComm of a process group (default: the default group), cached per group."""
    dist = _dist()
    if group is None:
        group = dist.distributed_c10d._get_default_group()
    key = id(group)
    c = _comms.get(key)
    if c is None or c[0] is not group:
        try:
            comm = _C.DistComm(group)
        except TypeError as e:  # pybind11 could not see torch's ProcessGroup type
            raise TypeError("dsla: argument 'group': expected a torch.distributed "
                            f"ProcessGroup, got {type(group).__name__} ({e})") from None
        c = (group, comm)
        _comms[key] = c
    return c[1]


class DistTensor:
    """A square sparse matrix with its rows distributed over a process group.

    Build one with :func:`from_global`, :func:`from_local` or a generator
    (:func:`poisson2d`, :func:`poisson3d`, :func:`aniso2d`, :func:`convdiff2d`).
    """

    _is_distributed = True

    def __init__(self, m, group=None):
        self._m = m
        self._group = group

    # ------------------------------------------------------------------ properties
    @property
    def shape(self):
        """The global shape ``(N, N)`` (``(B, N, N)`` with batched values)."""
        n = self._m.rows
        return (self._m.batch_size, n, n) if self._m.is_batched else (n, n)

    @property
    def nnz(self):
        """Stored entries over all ranks."""
        return self._m.nnz

    @property
    def owned(self):
        """Global ids of the rows this rank owns (LongTensor ``[n_owned]``), in local order:
        rows with no ghost column first, then boundary rows. ``b[A.owned]`` is this rank's
        slice of a global vector ``b``."""
        return self._m.owned

    @property
    def ghost(self):
        """Global ids of the columns this rank needs from other ranks, grouped by owner."""
        return self._m.ghost

    @property
    def n_owned(self):
        return self._m.n_owned

    @property
    def n_interior(self):
        return self._m.n_interior

    @property
    def n_ghost(self):
        return self._m.n_ghost

    @property
    def values(self):
        """This rank's values ``[nnz_local]`` (``[B, nnz_local]``): the diagonal block's, then
        the off-diagonal block's, in their CSR orders. Differentiable."""
        return self._m.values

    @property
    def local(self):
        """This rank's rows as a ``dsla.SparseTensor`` ``[n_owned, n_owned + n_ghost]``: owned
        columns first (in ``owned`` order), then ghost columns (in ``ghost`` order).
        Differentiable in the values."""
        from .sparse_tensor import SparseTensor

        d, o = self._m.diag, self._m.offd
        n, ni = self._m.n_owned, self._m.n_interior
        row = torch.cat([d.row_indices().long(), o.row_indices().long() + ni])
        col = torch.cat([d.col_indices().long(), o.col_indices().long() + n])
        return SparseTensor(self.values, row, col, (n, n + self._m.n_ghost))

    @property
    def dtype(self):
        return self._m.values.dtype

    @property
    def device(self):
        return self._m.values.device

    @property
    def rank(self):
        return self._m.comm.rank

    @property
    def world_size(self):
        return self._m.comm.size

    def halo_summary(self):
        """This rank's halo plan in words (neighbours, entries per exchange)."""
        return self._m.plan_summary()

    def redistribute(self, parts):
        """The same global matrix under another row distribution: ``parts`` ``[n_owned]``
        (integer) is the new rank of each owned row (in ``owned`` order). One all-to-all of the
        entries, then a new halo plan. Values detached. Collective."""
        return DistTensor(self._m.redistribute(torch.as_tensor(parts)), self._group)

    def partition_quality(self):
        """How good this distribution is, the same dict on every rank (collective):
        ``cut_entries`` (stored entries whose row and column are owned by different ranks: the
        halo's work; for a symmetric pattern the graph's edge cut is half of it),
        ``cut_fraction`` (of the off-diagonal entries), ``imbalance`` (largest owned row count
        over the mean; 1 is perfect), ``nnz_imbalance`` (the same for stored entries),
        ``max_ghosts``, ``total_ghosts`` and ``max_neighbours`` (ranks a rank receives from).
        """
        m = self._m
        P = m.comm.size
        d, o = m.diag, m.offd
        dr, dc = d.row_indices().long(), d.col_indices().long()
        off_diag_local = int((dr != dc).sum()) + o.nnz
        sums = torch.tensor([o.nnz, off_diag_local, m.n_owned, d.nnz + o.nnz, m.n_ghost],
                            dtype=torch.float64)
        maxes = torch.tensor([m.n_owned, d.nnz + o.nnz, m.n_ghost, m.n_neighbours],
                             dtype=torch.float64)
        m.comm.allreduce_sum_(sums)
        m.comm.allreduce_max_(maxes)
        cut, off, rows, nnz, ghosts = (float(v) for v in sums)
        return dict(cut_entries=int(cut), cut_fraction=cut / max(off, 1.0),
                    imbalance=float(maxes[0]) / max(rows / P, 1e-300),
                    nnz_imbalance=float(maxes[1]) / max(nnz / P, 1e-300),
                    max_ghosts=int(maxes[2]), total_ghosts=int(ghosts),
                    max_neighbours=int(maxes[3]))

    def __repr__(self):
        return (f"dsla.DistTensor(shape={self.shape}, nnz={self.nnz}, rank {self.rank}/"
                f"{self.world_size}: n_owned={self.n_owned}, n_ghost={self.n_ghost}, "
                f"dtype={self.dtype})")

    # ------------------------------------------------------------------ operations
    def with_values(self, values):
        """The same distribution and halo plan with new local values (``values``'s layout)."""
        return DistTensor(self._m.with_values(values), self._group)

    def add_diag(self, d):
        """``A + diag(d)`` with ``d`` this rank's owned slice ``[n_owned]``, in the same
        distribution (``with_values``: a prepared solver of A only refactors) — e.g. a Newton
        Jacobian ``A.add_diag(-lam * torch.exp(u))``. Needs every owned diagonal entry stored
        (a bad ``d`` or a missing entry on one rank raises on every rank). Differentiable in
        ``A.values`` and ``d``."""
        m = self._m
        dg = m.diag
        r, c = dg.row_indices().long(), dg.col_indices().long()
        on = r == c
        d = torch.as_tensor(d)
        err = None
        if d.dim() != 1 or d.shape[0] != self.n_owned:
            err = ValueError(f"dsla: argument 'd': must be this rank's owned slice "
                             f"[{self.n_owned}], got shape {tuple(d.shape)}")
        elif int(on.sum()) != self.n_owned:
            err = ValueError("dsla: argument 'A': add_diag needs every owned diagonal entry "
                             "stored; this rank's diagonal block lacks "
                             f"{self.n_owned - int(on.sum())}")
        _agree(m.comm, err, "add_diag")
        v = self.values
        nd = dg.nnz
        shift = torch.where(on, d.to(v.dtype)[r], torch.zeros((), dtype=v.dtype))
        return self.with_values(torch.cat([v[..., :nd] + shift, v[..., nd:]], -1))

    def to(self, device):
        """The same distribution on ``device`` (``"cuda"``, ``"cuda:1"``, ``torch.device``, or
        ``"cpu"``). Collective: every rank calls it with the same device type (the index may
        differ: ``cuda:<local rank>``). Differentiable in the values (gradients flow back to the
        source matrix's values)."""
        if isinstance(device, torch.dtype):
            raise TypeError("dsla: DistTensor.to: argument 'device': got a dtype; a distributed "
                            "matrix keeps the dtype it was built with (build it with dtype=)")
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
        return DistTensor(self._m.to_device(str(dev)), self._group)

    def cuda(self, device=None):
        """``to(device)``; by default the current CUDA device."""
        return self.to("cuda" if device is None else torch.device("cuda", device)
                       if isinstance(device, int) else device)

    def cpu(self):
        return self.to("cpu")

    def __matmul__(self, x):
        """``A @ x`` on owned slices ``[n_owned]`` / ``[n_owned, k]``: one halo exchange,
        overlapped with the diagonal block's product. Differentiable in ``A.values`` and
        ``x``."""
        x = torch.as_tensor(x)
        if x.requires_grad or self.values.requires_grad:
            return _MatmulFn.apply(self.values, x, self)
        return self._m.matmul(x)

    def matmul(self, x):
        return self @ x

    def gather(self, x):
        """The whole vector (``[N]`` or ``[N, k]``) on every rank from owned slices. For tests
        and small N: it is the one global-length array this module makes. Not differentiable."""
        return self._m.gather(torch.as_tensor(x))

    def gather_matrix(self):
        """The whole matrix as a ``dsla.SparseTensor`` on every rank (tests, small N)."""
        from .sparse_tensor import SparseTensor

        return SparseTensor._wrap(self._m.gather_matrix())

    def solve(self, b, **kw):
        """``dsla.distributed.solve(self, b, **kw)``."""
        return solve(self, b, **kw)

    def _eigsh(self, k, **kw):
        """``dsla.eigsh(self, k, ...)``: :func:`dsla.distributed.eigsh`."""
        return eigsh(self, k, **kw)

    def _solver(self, **kw):
        """``dsla.Solver(self, **kw)``: a :class:`dsla.distributed.Solver`."""
        return Solver(self, **kw)


class _MatmulFn(torch.autograd.Function):
    """y = A x with gradients x̄ = Aᴴ ȳ (the reverse halo exchange) and
    v̄[q] = ȳ[row q] · conj(x[col q]) (x's ghosts through one halo exchange). Collective in
    backward too."""

    @staticmethod
    def forward(ctx, values, x, A):
        ctx.A = A
        ctx.save_for_backward(x)
        return A._m.matmul(x.detach())

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        A = ctx.A
        gx = A._m.matmul_adjoint(gy.contiguous()) if ctx.needs_input_grad[1] else None
        gv = A._m.values_grad(gy.contiguous(), x.detach()) if ctx.needs_input_grad[0] else None
        return gv, gx, None


def from_local(values, row, col, shape, owned, group=None):
    """A distributed matrix from this rank's entries in global coordinates.

    values ``[nnz]`` or ``[B, nnz]`` (float32/64, complex64/128; differentiable), row/col
    integer ``[nnz]`` global ids (every row in ``owned``; duplicates summed), shape the global
    ``(N, N)`` (the same on every rank), owned LongTensor: the global ids of the rows this rank
    owns (together the ranks' ``owned`` partition ``range(N)``; a rank may own none).
    """
    comm = _comm(group)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2:
        raise ValueError(f"dsla: argument 'shape': expected the global (N, N), got {shape}")
    values = torch.as_tensor(values)
    row, col = torch.as_tensor(row), torch.as_tensor(col)
    owned = torch.as_tensor(owned)
    n = shape[0] if shape[0] == shape[1] else -1  # refused (on every rank) by the C++ side
    return DistTensor(_C.DistMatrix.from_local_coo(comm, row, col, values, n, owned), group)


PARTITIONS = ("contiguous", "metis", "rcb", "hilbert")


def partition(kind, parts, G=None, coords=None):
    """Part ids ``[N]`` (``torch.int64``, CPU) splitting ``N`` rows into ``parts`` parts, as
    :func:`from_global` uses them (pass the result as its ``partition=``). Needs no process
    group: it runs on its own, e.g. to inspect a partition or to reuse one.

    kind:

    - ``"contiguous"``: row blocks, row ``i`` in part ``floor(i · parts / N)`` (N from G or
      coords);
    - ``"metis"``: METIS k-way on the graph of ``G + Gᵀ`` (needs ``dsla.features['metis']``);
    - ``"rcb"``: recursive coordinate bisection of the rows' points ``coords`` ``[N, d]``
      (or ``[N]``): each cut is perpendicular to the longest side of the current set's bounding
      box and splits the points in proportion to the parts on each side;
    - ``"hilbert"``: the points sorted along a Hilbert curve over their bounding cube (the same
      cell size in every dimension) and cut into consecutive runs.

    coords: the coordinates of the point of each row (mesh nodes, or cell centres for a
    finite-volume matrix), real or integer, finite, ``1 <= d <= 64`` columns; row ``i`` of
    ``coords`` belongs to row ``i`` of G. Every part of ``"contiguous"``, ``"rcb"`` and
    ``"hilbert"`` holds ``floor(N / parts)`` or ``ceil(N / parts)`` rows; all four are
    deterministic (ties between equal coordinates go by row index), so every rank computing one
    gets the same ids. The coordinate partitions look only at coords, not at G's entries: they
    keep neighbouring points together, which for a mesh matrix keeps the halo small.
    """
    if not isinstance(kind, str) or kind.lower() not in PARTITIONS:
        raise ValueError(f"dsla: argument 'kind': unknown partition {kind!r}; use one of "
                         f"{', '.join(repr(k) for k in PARTITIONS)}")
    kind = kind.lower()
    P = as_int(parts, "parts", 1)
    if G is not None:
        as_matrix(G, "G")
        if G.shape[-1] != G.shape[-2]:
            raise ValueError(f"dsla: argument 'G': partitions are of a square matrix's rows, "
                             f"got shape {tuple(G.shape)}")
    if kind in ("rcb", "hilbert"):
        if coords is None:
            raise ValueError(f"dsla: argument 'coords': partition={kind!r} needs the "
                             "coordinates of the rows' points, a tensor [N, d] (row i of "
                             "coords is the point of row i)")
        coords = torch.as_tensor(coords)
        if coords.dim() not in (1, 2):
            raise ValueError(f"dsla: argument 'coords': must have shape [N, d] (or [N]), got "
                             f"{tuple(coords.shape)}")
        if G is not None and coords.shape[0] != G.shape[-1]:
            raise ValueError(f"dsla: argument 'coords': has {coords.shape[0]} points but G has "
                             f"{G.shape[-1]} rows; give one point per row")
        f = _C.rcb_parts if kind == "rcb" else _C.hilbert_parts
        return f(coords, P)
    if kind == "metis":
        if G is None:
            raise ValueError("dsla: argument 'G': partition='metis' partitions the graph of a "
                             "matrix; pass G")
        return _C.metis_parts(G._m, P)
    if G is not None:
        n = G.shape[-1]
    elif coords is not None:
        n = torch.as_tensor(coords).shape[0]
    else:
        raise ValueError("dsla: argument 'G': partition='contiguous' needs the row count: pass "
                         "G (or coords)")
    return torch.div(torch.arange(n, dtype=torch.long) * P, max(n, 1),
                     rounding_mode="floor").clamp_max(P - 1)


def hilbert_order(coords):
    """The points ``coords`` ``[N, d]`` (or ``[N]``) in the order of a Hilbert curve over their
    bounding cube: a ``torch.int64`` permutation ``[N]`` (position -> point; ties by index).
    Renumbering a mesh's unknowns this way keeps neighbours close in memory; ``partition=
    "hilbert"`` cuts this order into runs. No process group needed."""
    return _C.hilbert_order(torch.as_tensor(coords))


def _agree(comm, error, what="from_global"):
    """Raises on every rank when ``error`` (an exception or None) is set on any: the failing
    ranks raise their own, the others a RuntimeError saying another rank failed."""
    flag = torch.tensor([0.0 if error is None else 1.0], dtype=torch.float64)
    comm.allreduce_max_(flag)
    if error is not None:
        raise error
    if flag.item() > 0:
        raise RuntimeError(f"dsla: {what} failed on another rank (its error names the "
                           "argument); every rank raised")


def _parts(G, partition, P, group, comm, coords):
    """Part ids ``[N]`` of a global matrix (the same on every rank)."""
    n = G.shape[-1]
    if isinstance(partition, str):
        kind = partition.lower()
        if kind not in PARTITIONS:
            raise ValueError(f"dsla: argument 'partition': unknown partition {partition!r}; use "
                             f"one of {', '.join(repr(k) for k in PARTITIONS)} or a LongTensor "
                             "of part ids [N]")
        if coords is not None and kind in ("contiguous", "metis"):
            raise ValueError(f"dsla: argument 'coords': is only read by partition='rcb' or "
                             f"'hilbert', not by partition={kind!r}")
        if kind == "contiguous":
            return _partition_ids("contiguous", P, G)
        error, parts = None, None
        try:  # coords may be wrong on one rank only: every rank must raise, none must hang
            parts = _partition_ids(kind, P, G, coords)
        except (ValueError, TypeError, NotImplementedError) as e:
            error = e
        _agree(comm, error)
        # Deterministic, but take rank 0's so every rank surely holds the same.
        _dist().broadcast(parts, 0, group=group)
        return parts
    if coords is not None:
        raise ValueError("dsla: argument 'coords': is only read by partition='rcb' or "
                         "'hilbert', but partition is given as part ids")
    parts = torch.as_tensor(partition)
    if parts.dtype != torch.long or parts.shape != (n,):
        raise ValueError(f"dsla: argument 'partition': part ids must be a torch.int64 tensor of "
                         f"shape [{n}], got {parts.dtype} {tuple(parts.shape)}")
    if n and (int(parts.min()) < 0 or int(parts.max()) >= P):
        raise ValueError(f"dsla: argument 'partition': part ids must be in [0, {P}) (one per "
                         f"rank), got values in [{int(parts.min())}, {int(parts.max())}]")
    return parts.cpu()


# from_global's and _parts's argument `partition` hides the function of that name inside them.
_partition_ids = partition


def _check_same_matrix(G, comm):
    """Refuses, on every rank, a G that differs across ranks (shape, nnz, a checksum of the
    pattern and of the values): each rank would otherwise keep rows of a different matrix."""
    r, c = G.row.long().cpu(), G.col.long().cpu()
    v = G.values.detach().cpu().to(torch.complex128 if G.values.is_complex() else torch.float64)
    n = G.shape[-1]
    key = (r * 1000003 + c * 97 + 1) % 2147483647
    w7 = torch.arange(len(key)) % 7 + 1
    w5 = torch.arange(v.shape[-1]) % 5 + 1
    fp = torch.tensor([float(n), float(G.nnz), float((key * w7).sum()), float(v.abs().sum()),
                       float((v.abs() * w5).sum())], dtype=torch.float64)
    # The max of fp and of -fp over the ranks: they meet iff every rank has the same fp (and
    # then every rank sees it; otherwise every rank sees them differ and raises).
    both = torch.cat([fp, -fp])
    comm.allreduce_max_(both)
    if not torch.equal(both[:5], -both[5:]):
        raise ValueError("dsla: argument 'G': the matrix differs across ranks (shape, pattern or "
                         "values); from_global needs the same G on every rank (or G on one rank "
                         "with root=)")


def from_global(G, partition="contiguous", root=None, group=None, coords=None):
    """Distributes a global ``dsla.SparseTensor`` ``G`` (square): each rank keeps its rows.

    G: the same matrix on every rank (or, with ``root=r``, only on rank ``r``; the others pass
    ``None`` and receive their rows). partition: ``"contiguous"`` (balanced row blocks),
    ``"metis"`` (METIS k-way on the graph of G; needs ``dsla.features['metis']``), ``"rcb"``
    (recursive coordinate bisection of ``coords``), ``"hilbert"`` (a Hilbert curve through
    ``coords``) or a LongTensor of part ids ``[N]`` (rank of each row; ranks may own no rows);
    see :func:`partition`. coords: ``[N, d]`` (or ``[N]``) coordinates of the rows' points, for
    ``"rcb"`` and ``"hilbert"`` (on every rank, or with ``root=`` on the root only). A bad
    ``coords`` on any rank raises on every rank.

    Gradients flow back to ``G.values`` (with G on every rank): each rank's ``G.values.grad``
    holds the gradient of the entries it owns, and their sum over ranks is the one-process
    gradient.
    """
    dist = _dist()
    comm = _comm(group)
    P, rank = comm.size, comm.rank
    if root is not None:
        root = as_int(root, "root", 0)
        if root >= P:
            raise ValueError(f"dsla: argument 'root': must be a rank in [0, {P}), got {root}")
        obj = [None]
        if rank == root:
            as_matrix(G, "G")
            if G.values.requires_grad:
                raise NotImplementedError(
                    "dsla: from_global(root=...) does not carry gradients to G.values; pass G on "
                    "every rank (root=None) to differentiate through it")
            obj = [(G.row.long(), G.col.long(), G.values.detach(), G.shape,
                    None if coords is None else torch.as_tensor(coords).cpu())]
        dist.broadcast_object_list(obj, src=root, group=group)
        row, col, vals, shape, coords = obj[0]
        from .sparse_tensor import SparseTensor

        G = SparseTensor(vals, row, col, shape[-2:])
    as_matrix(G, "G")
    if G.shape[-1] != G.shape[-2]:
        raise ValueError(f"dsla: argument 'G': a distributed matrix is square, got shape "
                         f"{tuple(G.shape)}")
    _check_same_matrix(G, comm)
    parts = _parts(G, partition, P, group, comm, coords)
    owned = torch.nonzero(parts == rank).view(-1)
    r, c = G.row.long().cpu(), G.col.long().cpu()
    keep = torch.nonzero(parts.index_select(0, r) == rank).view(-1)
    vals = G.values.index_select(-1, keep.to(G.values.device))
    m = _C.DistMatrix.from_local_coo(comm, r[keep], c[keep], vals, G.shape[-1], owned)
    return DistTensor(m, group)


def _generator(kind, n, epsilon, dtype, group):
    comm = _comm(group)
    n = as_int(n, "n", 1)
    return DistTensor(_C.DistMatrix.generate(comm, kind, n, float(epsilon), dtype_name(dtype)),
                      group)


def twin(kind, n, rank, ranks, dtype=torch.float64, device=None, epsilon=1e-2, group=None):
    """A weak-scaling twin for benchmarks on one process: the share rank ``rank`` of ``ranks``
    would own of ``dsla.distributed.<kind>(n)`` over that many ranks — its box, ghost layer and
    halo plan, built directly on ``device`` (e.g. one GPU holds one GPU's share of a multi-GPU
    run) — with the halo exchanged with itself (what it sends to a neighbour lands in the
    ghosts it receives from that neighbour: the bytes per exchange of the real run, moved device
    to device). Products and solves run the real rank's kernels; the ghost values are not the
    real ones, so ``gather`` refuses. ``dsla.amg`` takes a twin (``gather_size`` below its
    global size): the AMG of the twin's own operator — each ghost coupling lands on the
    mirrored boundary row — with the real rank's fine-level work and halo exchanges; its coarse
    levels have no halo. A twin of one rank (``ranks=1``) is the real matrix.
    kind: ``"poisson2d"``, ``"poisson3d"``, ``"aniso2d"``.
    The group (default: the default one) must have one process.
    """
    comm = _comm(group)
    if kind not in ("poisson2d", "poisson3d", "aniso2d"):
        raise ValueError(f"dsla: argument 'kind': a twin needs poisson2d, poisson3d or aniso2d, "
                         f"got {kind!r}")
    n = as_int(n, "n", 1)
    ranks = as_int(ranks, "ranks", 1)
    rank = as_int(rank, "rank", 0)
    dev = torch.device("cpu" if device is None else device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return DistTensor(_C.DistMatrix.twin(comm, kind, n, rank, ranks, dtype_name(dtype), str(dev),
                                         float(epsilon)), group)


def _match_round(n, r, c, w, sweeps=4):
    """One round of heavy-edge matching on a local graph (edges r -> c with weights w, both
    directions present): in each sweep, every unmatched node picks its heaviest edge to an
    unmatched neighbour — ties broken by a hash of the edge, the same from both ends — and edges
    picked from both ends (locally dominant) pair up. Returns the aggregate of each node (the
    smaller index of a pair, itself when unmatched)."""
    agg = torch.arange(n)
    if r.numel() == 0:
        return agg
    lo, hi = torch.minimum(r, c), torch.maximum(r, c)
    h = ((lo * 2654435761 + hi * 40503) % 1000003).to(torch.float64) / 1000003.0
    key = w / w.abs().max().clamp_min(1e-300) + 1e-6 * h  # symmetric edge priority
    matched = torch.zeros(n, dtype=torch.bool)
    i = torch.arange(n)
    for _ in range(sweeps):
        live = ~matched[r] & ~matched[c]
        if not bool(live.any()):
            break
        rr, cc, kk = r[live], c[live], key[live]
        order = torch.argsort(-kk, stable=True)
        order = order[torch.argsort(rr[order], stable=True)]
        rs, cs = rr[order], cc[order]
        first = torch.ones_like(rs, dtype=torch.bool)
        first[1:] = rs[1:] != rs[:-1]
        choice = torch.full((n,), -1, dtype=torch.long)
        choice[rs[first]] = cs[first]
        has = choice >= 0
        mutual = has & (choice[choice.clamp_min(0)] == i)
        agg[mutual] = torch.minimum(i[mutual], choice[mutual])
        matched |= mutual
    return agg


def _coarsen_local(n, r, c, w, rounds):
    """Aggregates of this rank's rows by `rounds` rounds of heavy-edge matching on its diagonal
    block's graph (aggregates never cross ranks). Returns (aggregate id of each row in
    [0, count), count)."""
    agg = torch.arange(n)
    cur_n, cr, cc, cw = n, r, c, w
    for _ in range(rounds):
        a = _match_round(cur_n, cr, cc, cw)
        ids, a = torch.unique(a, return_inverse=True)
        agg = a[agg]
        keep = a[cr] != a[cc]
        key = a[cr][keep] * ids.numel() + a[cc][keep]
        key, inv = torch.unique(key, return_inverse=True)
        cw = torch.zeros(key.numel(), dtype=cw.dtype).index_add_(0, inv, cw[keep])
        cr, cc = key // ids.numel(), key % ids.numel()
        cur_n = ids.numel()
    return agg, cur_n


def repartition(A, method="metis", rounds=None, coarse_rows=200000):
    """A better row distribution of a distributed matrix without gathering it: each rank
    coarsens its own rows by rounds of heavy-edge matching on its diagonal block (aggregates of
    up to ``2**rounds`` rows that never cross ranks), the coarse graph — every aggregate's
    connections, ghost columns mapped through one halo exchange of aggregate ids — is gathered
    on every rank (it is ``2**rounds`` times smaller), partitioned (``method="metis"``, the
    aggregates weighted by their rows; needs ``dsla.features['metis']``), and the parts are projected back to the rows, which then move
    (:meth:`DistTensor.redistribute`: one all-to-all). ``rounds`` defaults to as many as bring
    the coarse graph under ``coarse_rows`` (at most 10).

    Returns ``(B, report)``: the redistributed matrix (values detached) and a dict with the
    :meth:`DistTensor.partition_quality` before and after, the coarse size and the rounds.
    Collective. For matrices small enough to gather, ``from_global(G, partition="metis")``
    partitions the fine graph directly."""
    if not getattr(A, "_is_distributed", False):
        raise TypeError(f"dsla: argument 'A': expected a DistTensor, got {type(A).__name__}")
    if method != "metis":
        raise ValueError(f"dsla: argument 'method': repartition supports 'metis', got {method!r}")
    if not dict(_C.features).get("metis"):
        raise NotImplementedError("dsla: repartition(method='metis') needs METIS in this build "
                                  "(dsla.features['metis'] is False)")
    m = A._m
    comm = m.comm
    P, rank = comm.size, comm.rank
    n = m.n_owned
    N = A.shape[-1]
    before = A.partition_quality()
    if rounds is None:
        rounds = 0
        while rounds < 10 and N / 2 ** rounds > coarse_rows:
            rounds += 1
    rounds = as_int(rounds, "rounds", 0)
    d = m.diag
    dr, dc = d.row_indices().long().cpu(), d.col_indices().long().cpu()
    dv = d.values.detach()
    dv = (dv if dv.dim() == 1 else dv[0]).abs().to(torch.float64).cpu()
    off = dr != dc
    # Symmetrized local graph (both directions), |a_ij| weights.
    r = torch.cat([dr[off], dc[off]])
    c = torch.cat([dc[off], dr[off]])
    w = torch.cat([dv[off], dv[off]])
    agg, na = _coarsen_local(n, r, c, w, rounds)
    # Global aggregate ids: this rank's offset among every rank's counts.
    counts = torch.zeros(P, dtype=torch.float64)
    counts[rank] = na
    comm.allreduce_sum_(counts)
    offset = int(counts[:rank].sum())
    nc = int(counts.sum())
    gagg = agg + offset  # [n_owned], local order
    # Coarse edges: local ones, and the ones through ghost columns (their aggregates by halo).
    ea = [gagg[r], gagg[c]]
    o = m.offd
    ghost_agg = m.halo(gagg.to(torch.float64).view(1, -1, 1).to(A.device)).view(-1).cpu()
    if o.nnz > 0:
        orr = o.row_indices().long().cpu() + m.n_interior
        occ = o.col_indices().long().cpu()
        ea[0] = torch.cat([ea[0], gagg[orr]])
        ea[1] = torch.cat([ea[1], ghost_agg[occ].round().long()])
    er, ec = ea
    keep = er != ec
    key = torch.unique(er[keep] * nc + ec[keep])
    vw = torch.zeros(na, dtype=torch.float64).index_add_(0, agg, torch.ones(n, dtype=torch.float64))
    # Every rank gathers the coarse graph (small by construction).
    pieces = [None] * P
    _dist().all_gather_object(pieces, (key, vw), group=A._group)
    allkey = torch.unique(torch.cat([p[0] for p in pieces]))
    cr, cc = allkey // nc, allkey % nc
    both = torch.cat([torch.stack([cr, cc]), torch.stack([cc, cr])], 1)
    both = torch.unique(both[0] * nc + both[1])
    from .sparse_tensor import SparseTensor

    Gc = SparseTensor(torch.ones(both.numel(), dtype=torch.float64), both // nc, both % nc,
                      (nc, nc))
    # METIS balances the rows the aggregates stand for; the same parts on every rank (seeded).
    weights = torch.cat([p[1] for p in pieces]).round().long()
    coarse_parts = _C.metis_parts(Gc._m, P, weights)
    new_rank = coarse_parts[gagg]
    B = DistTensor(m.redistribute(new_rank), A._group)
    after = B.partition_quality()
    return B, dict(before=before, after=after, coarse_rows=nc, rounds=rounds)


def read_mtx(path, dtype=None, group=None):
    """Reads a square Matrix Market file into a :class:`DistTensor` with contiguous row blocks
    (rank ``r`` of ``P`` owns rows ``N r // P`` to ``N (r + 1) // P - 1``). Collective.

    The matrix, its dtype and its errors are those of :func:`dsla.read_mtx`: ``A.gather_matrix()``
    equals ``dsla.read_mtx(path, dtype)``, symmetric / skew-symmetric / Hermitian storage is
    expanded, duplicates are summed, and a malformed file raises ``dsla.read_mtx``'s
    ``ValueError`` (file, line, what was expected) on every rank, whichever rank read the bad line.

    A plain coordinate file is read in parallel: each rank parses the lines that start in its
    share of the file's bytes and sends every entry to the rank that owns its row. A
    gzip-compressed file (recognised by its content) or an array file is parsed by rank 0 alone,
    a piece at a time, each piece sent to its owners before the next is read: rank 0 never holds
    the whole file. No rank holds more of the matrix than its own rows.

    Args:
        path: a ``.mtx`` / ``.mtx.gz`` file that every rank can see (``str``, ``bytes`` or
            ``os.PathLike``), the same on every rank.
        dtype: as for :func:`dsla.read_mtx`: ``torch.float64`` (default), ``torch.float32``,
            ``torch.complex128`` or ``torch.complex64``; complex files stay complex.
        group: the process group (default: the default group).

    Raises:
        FileNotFoundError / IsADirectoryError: ``path`` is missing or a directory (on every rank
            when it is so on any).
        ValueError: a malformed file, a non-square matrix, or a bad ``dtype``.

    Example:
        >>> A = dsla.distributed.read_mtx("bcsstk03.mtx")     # under torchrun, any P
        >>> x = dsla.solve(A, torch.ones(A.n_owned, dtype=torch.float64), method="cg")
    """
    from .io import _fsencoded, _shown

    comm = _comm(group)
    p = _fsencoded(path)
    error = None
    if not os.path.exists(p):
        error = FileNotFoundError(f"dsla: Matrix Market file '{_shown(p)}' does not exist")
    elif os.path.isdir(p):
        error = IsADirectoryError(f"dsla: Matrix Market file '{_shown(p)}' is a directory, not "
                                  f"a file")
    _agree(comm, error, "read_mtx")
    return DistTensor(_C.DistMatrix.read_mtx(comm, p, dtype_name(dtype)), group)


def poisson2d(n, dtype=torch.float64, group=None):
    """5-point Laplacian on an n x n grid (as :func:`dsla.poisson2d`), each rank building only
    its box of a near-square process grid."""
    return _generator("poisson2d", n, 0.0, dtype, group)


def poisson3d(n, dtype=torch.float64, group=None):
    """7-point Laplacian on n³ (as :func:`dsla.poisson3d`), boxes of a near-cubic process
    grid."""
    return _generator("poisson3d", n, 0.0, dtype, group)


def aniso2d(n, eps=1e-3, dtype=torch.float64, group=None):
    """Anisotropic diffusion on n x n (as :func:`dsla.aniso2d`), per-rank boxes."""
    return _generator("aniso2d", n, eps, dtype, group)


def convdiff2d(n, pe=10.0, dtype=torch.float64, group=None):
    """Upwind convection-diffusion on n x n (as :func:`dsla.convdiff2d`; nonsymmetric),
    per-rank boxes."""
    return _generator("convdiff2d", n, pe, dtype, group)


class _GlobalSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t, comm):
        ctx.shape = t.shape
        s = t.detach().sum().clone()
        comm.allreduce_sum_(s)
        return s

    @staticmethod
    def backward(ctx, g):
        # Every rank holds the same global loss and calls backward with the same g: the
        # gradient of Σ_ranks sum(t_r) with respect to this rank's t is g everywhere.
        return g.expand(ctx.shape).clone(), None


def global_sum(t, group=None):
    """``Σ over ranks of t.sum()``, the same scalar on every rank; differentiable (a global
    loss: every rank then calls ``backward()``, which distributed solves need)."""
    return _GlobalSum.apply(torch.as_tensor(t), _comm(group))


def _options(method, precond, rtol, atol, maxiter, restart, raise_on_failure, callback,
             check_every, history, x0=None, M=None, n_owned=None):
    method = "auto" if method is None else str(method).lower()
    if method not in METHODS:
        raise ValueError(f"dsla: argument 'method': {method!r} is not available for distributed "
                         f"matrices; use one of {', '.join(METHODS)}")
    d = dict(method=method, precond="auto" if precond is None else str(precond).lower(),
             rtol=float(rtol), atol=float(atol), restart=as_int(restart, "restart", 1),
             raise_on_failure=bool(raise_on_failure), warn=False, history=bool(history))
    if maxiter is not None:
        d["maxiter"] = as_int(maxiter, "maxiter", 0)
    if check_every is not None:
        d["check_every"] = as_int(check_every, "check_every", 1)
    if callback is not None:
        d["callback"] = callback
    if x0 is not None:
        d["x0"] = torch.as_tensor(x0)
    if M is not None and getattr(M, "_is_distributed_amg", False):
        d["M"] = M._dist_h  # the C++ hierarchy: its cycle is a collective of its own
    elif M is not None:
        from .solve import _as_callable

        # M acts on this rank's owned slices (n_owned x n_owned); it may communicate, since
        # every rank calls it in step.
        d["M"], d["M_adjoint"] = _as_callable(M, n_owned)
    return d


def _report(info, rank, raise_on_failure):
    import warnings

    if not info.converged and not raise_on_failure and rank == 0:
        from .solve import SolveWarning

        warnings.warn(f"dsla: {info.message}", SolveWarning, stacklevel=3)


class Solver:
    """A distributed solve prepared once (``dsla.Solver(A, ...)`` with a :class:`DistTensor`
    builds one): the preconditioner is set up once; ``solve`` and ``solve_adjoint`` are
    differentiable in ``A.values`` and ``b``; ``refactor(values)`` redoes only the numeric
    setup (halo plan and analysis kept). Every call is a collective."""

    @functools.partial(_config.configurable, name="dsla.distributed.Solver")
    def __init__(self, A, method="auto", precond=None, rtol=1e-8, atol=0.0, maxiter=None,
                 restart=30, raise_on_failure=False, callback=None, check_every=None,
                 history=False, x0=None, M=None, monitor=None):
        if not getattr(A, "_is_distributed", False):
            raise TypeError(f"dsla: argument 'A': expected a dsla.distributed.DistTensor, got "
                            f"{type(A).__name__}")
        self._A = A
        self._raise = bool(raise_on_failure)
        self._bdim = 1
        from .solve import _callbacks

        monitor, callback_x = _callbacks(callback, monitor, A._m.is_batched, lambda: self._bdim)
        d = _options(method, precond, rtol, atol, maxiter, restart, raise_on_failure, monitor,
                     check_every, history, x0, M, A.n_owned)
        if callback_x is not None:
            d["callback_x"] = callback_x
        self._s = _C.DistSolver(A._m, d)
        self.info = None

    def solve(self, b, return_info=False):
        b = torch.as_tensor(b)
        self._bdim = b.dim()
        x, self.info = self._s.solve(b, False)
        _report(self.info, self._A.rank, self._raise)
        return (x, self.info) if return_info else x

    def solve_adjoint(self, b, return_info=False):
        b = torch.as_tensor(b)
        self._bdim = b.dim()
        x, self.info = self._s.solve(b, True)
        _report(self.info, self._A.rank, self._raise)
        return (x, self.info) if return_info else x

    def refactor(self, values):
        self._s.refactor(torch.as_tensor(values))

    @property
    def method(self):
        return self._s.method

    @property
    def preconditioner(self):
        return self._s.preconditioner

    @property
    def setup_time(self):
        return self._s.setup_time

    def __repr__(self):
        return (f"dsla.distributed.Solver(method={self.method!r}, "
                f"preconditioner={self.preconditioner!r})")


@functools.partial(_config.configurable, name="dsla.distributed.solve")
def solve(A, b, method="auto", precond=None, rtol=1e-8, atol=0.0, maxiter=None, restart=30,
          return_info=False, raise_on_failure=False, callback=None, check_every=None,
          history=False, x0=None, M=None, monitor=None):
    """Solve ``A x = b`` for a :class:`DistTensor` (``dsla.solve`` dispatches here).

    b: this rank's owned slice ``[n_owned]`` or ``[n_owned, k]`` (``b_global[A.owned]``).
    method: ``"auto"`` (CG when A is Hermitian with a positive diagonal, probed once, else
    GMRES), ``"cg"``, ``"bicgstab"``, ``"gmres"``, ``"fgmres"``, ``"minres"``, ``"lsqr"``,
    ``"lsmr"``. precond: ``None``/``"auto"`` (Jacobi where the diagonal allows it), ``"none"``,
    ``"jacobi"``, ``"chebyshev"`` (the polynomial preconditioner across ranks: its spectral
    estimate and products are collective; degree 3), ``"amg"`` (distributed smoothed-aggregation
    AMG with default options; ``M=dsla.amg(A, ...)`` for others), ``"block_jacobi"`` (ILU(0) of each rank's
    diagonal block, no communication) or
    ``"block_jacobi:<kind>"`` with any local kind (``ilu0``, ``ic0``, ``ssor``, ``sgs``,
    ``amg``, ...), ``"ras"`` / ``"ras:<kind>"`` (restricted additive Schwarz with overlap 1:
    the local kind, ILU(0) by default, on each rank's rows and its ghost rows, fetched once;
    one halo exchange per apply; not symmetric, so for GMRES / BiCGStab, refused with CG and
    MINRES). x0: an initial guess, this rank's owned slice in b's shape (forward solves;
    not differentiated). M: a user preconditioner ``z = M r`` on owned slices (a SparseTensor
    ``[n_owned, n_owned]``, a callable on vectors of length ``n_owned``, or an object with
    ``matvec``); it overrides ``precond``, may communicate (every rank calls it in step), and an
    exception in it on one rank makes every rank raise. callback(xk) receives this rank's
    owned slice of the iterate at each check, monitor(iteration, residual) the global figures
    (as :func:`dsla.solve`). Returns ``x`` (owned slice,
    differentiable in ``A.values`` and ``b``) or ``(x, info)``; info is the same on every rank.
    Keyword defaults come from ``dsla.config`` scopes in force (explicit keywords win); every
    rank must be under the same scopes.
    """

    if not getattr(A, "_is_distributed", False):
        raise TypeError(f"dsla: argument 'A': expected a dsla.distributed.DistTensor, got "
                        f"{type(A).__name__}")
    from .solve import _callbacks

    b = torch.as_tensor(b)
    monitor, callback_x = _callbacks(callback, monitor, A._m.is_batched, b.dim)
    d = _options(method, precond, rtol, atol, maxiter, restart, raise_on_failure, monitor,
                 check_every, history, x0, M, A.n_owned)
    if callback_x is not None:
        d["callback_x"] = callback_x
    x, info = _C.dist_solve(A._m, b, d)
    _report(info, A.rank, raise_on_failure)
    return (x, info) if return_info else x


class _EigshFn(torch.autograd.Function):
    """Eigenvalues of a distributed Hermitian A with ∂λ_j/∂values[q] = u_j[row q] conj(u_j[col q])
    (one halo exchange of U in backward; a collective)."""

    @staticmethod
    def forward(ctx, values, A, k, d, out):
        lam, U, info = _C.dist_eigsh(A._m, k, d)
        out.append(info)
        ctx.A = A
        ctx.save_for_backward(U)
        ctx.mark_non_differentiable(U)
        return lam, U

    @staticmethod
    def backward(ctx, glam, gU):
        (U,) = ctx.saved_tensors
        A = ctx.A
        gy = (U * glam.to(U.dtype).unsqueeze(0)).contiguous()
        gv = A._m.values_grad(gy, U.contiguous())
        return gv, None, None, None, None


def eigsh(A, k=6, which="SA", precond=None, tol=1e-8, maxiter=None, block=None, X0=None, seed=0,
          return_info=False, raise_on_failure=False, sigma=None, solver=None):
    """The k smallest (``which="SA"``), largest (``"LA"``), largest-magnitude (``"LM"``: both
    ends) or nearest-``sigma`` eigenpairs of a Hermitian :class:`DistTensor` by LOBPCG over the
    ranks (every Gram matrix one all-reduce).

    sigma (or ``which="SM"``, sigma = 0): shift-invert — LOBPCG on ``(A − σI)⁻¹`` applied by a
    distributed Krylov solve (CG + Jacobi when Gershgorin's discs put ``A − σI`` positive
    definite, else MINRES; rtol ≤ 1e-10; ``solver`` = a method name or a dict of
    method / precond / rtol / maxiter overrides), the same algorithm as one process; the k eigenvalues nearest σ.

    precond: ``None``/``"auto"`` (Jacobi when every owned diagonal entry is positive),
    ``"jacobi"``, ``"amg"`` (one distributed AMG cycle per block; with sigma, the inner solves of
    a definite ``A − σI`` use AMG) or ``"none"``. X0: this rank's rows of a start block ``[n_owned, >= k]``
    (default: random, drawn by global offset). Returns ``(values [k] ascending, the same on
    every rank; vectors [n_owned, k], this rank's rows, orthonormal over all ranks, each
    column's sign arbitrary)`` (+ info). The eigenvalues are differentiable in ``A.values``
    (backward is a collective: every rank calls it). ``dsla.eigsh`` dispatches here.
    """
    if not getattr(A, "_is_distributed", False):
        raise TypeError(f"dsla: argument 'A': expected a dsla.distributed.DistTensor, got "
                        f"{type(A).__name__}")
    k = as_int(k, "k", 1)
    d = dict(which=str(which).upper(), tol=float(tol), seed=int(seed), warn=True,
             raise_on_failure=bool(raise_on_failure),
             precond="auto" if precond is None else str(precond).lower())
    if maxiter is not None:
        d["maxiter"] = as_int(maxiter, "maxiter", 1)
    if block is not None:
        d["block"] = as_int(block, "block", 1)
    if X0 is not None:
        d["X0"] = torch.as_tensor(X0)
    if sigma is not None:
        d["sigma"] = float(sigma)
    if solver is not None:
        if isinstance(solver, str):
            solver = {"method": solver}
        for key in ("method", "precond", "rtol", "maxiter"):
            if key in solver:
                d["solver_" + key] = solver[key]
    out = []
    lam, U = _EigshFn.apply(A.values, A, k, d, out)
    return (lam, U, out[0]) if return_info else (lam, U)


__all__ = ["DistTensor", "from_global", "from_local", "poisson2d", "poisson3d", "aniso2d",
           "convdiff2d", "twin", "repartition", "global_sum", "solve", "Solver", "eigsh", "save", "load", "partition",
           "hilbert_order", "PARTITIONS", "read_mtx"]


# ---------------------------------------------------------------------------------- files
# A partitioned matrix on disk: a directory with manifest.json and one safetensors file per
# rank (8 bytes of little-endian header length, a JSON header, raw little-endian arrays; readable
# by the `safetensors` package). Each rank file holds the rank's owned global ids and its
# entries as global COO (row, col int64; values, complex as a trailing real/imaginary pair).
_ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
_ST_TORCH = {v: k for k, v in _ST_DTYPES.items()}


def _write_safetensors(path, tensors, metadata):
    import json
    import struct

    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def _read_safetensors(path):
    import json
    import struct

    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        dt = _ST_TORCH[h["dtype"]]
        out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=dt).reshape(h["shape"]) \
            if e > b else torch.zeros(h["shape"], dtype=dt)
    return out, meta


def save(A, path):
    """Writes a distributed matrix as ``path/manifest.json`` plus ``path/rank_XXXXX.safetensors``
    (one per rank; no file holds anything of global length). Collective."""
    import json

    dist = _dist()
    m = A._m
    d, o = m.diag, m.offd
    owned, ghost = m.owned, m.ghost
    row = torch.cat([owned[d.row_indices().long()], owned[o.row_indices().long() + m.n_interior]])
    col = torch.cat([owned[d.col_indices().long()], ghost[o.col_indices().long()]])
    vals = A.values.detach().cpu()
    cplx = vals.is_complex()
    if cplx:
        vals = torch.view_as_real(vals)
    rank, P = A.rank, A.world_size
    os.makedirs(path, exist_ok=True)
    _write_safetensors(os.path.join(path, f"rank_{rank:05d}.safetensors"),
                       {"owned": owned, "row": row, "col": col, "values": vals},
                       {"complex": str(cplx)})
    stats = [None] * P
    dist.all_gather_object(stats, dict(n_owned=m.n_owned, n_ghost=m.n_ghost, nnz=m.local_nnz),
                           group=A._group)
    if rank == 0:
        manifest = dict(format="dsla-distributed", version=1, n=m.rows, nnz=m.nnz, ranks=P,
                        dtype=str(A.dtype).replace("torch.", ""),
                        batch=m.batch_size if m.is_batched else None,
                        files=[dict(file=f"rank_{r:05d}.safetensors", **s)
                               for r, s in enumerate(stats)])
        with open(os.path.join(path, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
    dist.barrier(group=A._group)


def load(path, group=None, repartition=False):
    """Reads a matrix written by :func:`save`. On the rank count it was written with, rank r
    takes file r (the same partition); on another rank count the rows are repartitioned in
    contiguous blocks (each rank scans every file and keeps its rows). ``repartition=True``
    then improves that distribution with :func:`repartition` (coarsened METIS, no gather).
    Collective."""
    import json

    comm = _comm(group)
    with open(os.path.join(path, "manifest.json")) as f:
        man = json.load(f)
    if man.get("format") != "dsla-distributed":
        raise ValueError(f"dsla: argument 'path': {path} has no dsla distributed manifest")
    n, P, rank = man["n"], comm.size, comm.rank

    def read(i):
        t, meta = _read_safetensors(os.path.join(path, man["files"][i]["file"]))
        v = t["values"]
        if meta.get("complex") == "True":
            v = torch.view_as_complex(v.contiguous())
        return t, v

    # The module's repartition() (this function's argument of that name shadows it).
    improve = globals()["repartition"] if repartition else (lambda A: (A, None))
    if man["ranks"] == P:
        t, v = read(rank)
        m = _C.DistMatrix.from_local_coo(comm, t["row"], t["col"], v, n, t["owned"])
        return improve(DistTensor(m, group))[0]
    lo, hi = (n * rank) // P, (n * (rank + 1)) // P
    rows, cols, vals = [], [], []
    for i in range(man["ranks"]):
        t, v = read(i)
        keep = torch.nonzero((t["row"] >= lo) & (t["row"] < hi)).view(-1)
        rows.append(t["row"][keep])
        cols.append(t["col"][keep])
        vals.append(v.index_select(-1, keep))
    m = _C.DistMatrix.from_local_coo(comm, torch.cat(rows), torch.cat(cols), torch.cat(vals, -1),
                                     n, torch.arange(lo, hi))
    return improve(DistTensor(m, group))[0]
