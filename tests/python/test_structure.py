"""dsla.connected_components / split_components against scipy.sparse.csgraph, is_positive_definite
against dense torch.linalg.eigvalsh, detect_matrix_type on every type, edge cases (empty, 1x1,
batches, float32, complex, int64 indices, torch / SciPy inputs) and bad input."""
import pathlib

import numpy as np
import pytest
import torch

import dsla

sp = pytest.importorskip("scipy.sparse")
csgraph = pytest.importorskip("scipy.sparse.csgraph")

HAVE_SS = bool(dsla.features.get("suitesparse", False))
FACTORIZATIONS = ["auto", "dense"] + (["sparse"] if HAVE_SS else [])
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def canonical(labels):
    """Labels renumbered by first occurrence (SciPy's numbering may differ from dsla's)."""
    labels = np.asarray(labels)
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))
    return order[np.searchsorted(np.unique(labels), labels)]


def random_pattern(n, density, seed, directed=True):
    S = sp.random(n, n, density=density, random_state=np.random.default_rng(seed), format="csr")
    S.data[:] = 1.0
    return S if directed else (S + S.T).tocsr()


# ------------------------------------------------------------------------------ components
@pytest.mark.parametrize("connection", ["weak", "strong"])
@pytest.mark.parametrize("seed", range(6))
def test_components_match_scipy(connection, seed):
    n = [1, 5, 40, 200, 500, 1000][seed]
    S = random_pattern(n, min(1.0, 1.5 / n), seed)
    count, labels = dsla.connected_components(dsla.SparseTensor.from_scipy(S),
                                              connection=connection)
    ref_count, ref_labels = csgraph.connected_components(S, directed=True, connection=connection)
    assert count == ref_count
    assert labels.dtype == torch.int64 and labels.shape == (n,)
    np.testing.assert_array_equal(canonical(labels.numpy()), canonical(ref_labels))
    # dsla numbers components by their smallest row.
    firsts = [int(torch.nonzero(labels == c)[0]) for c in range(count)]
    assert firsts == sorted(firsts)


def test_components_undirected_and_labels_flag():
    S = random_pattern(300, 0.004, 7)
    A = dsla.SparseTensor.from_scipy(S)
    ref = csgraph.connected_components(S, directed=False)
    assert dsla.connected_components(A, directed=False)[0] == ref[0]
    assert dsla.connected_components(A, directed=False, connection="strong")[0] == ref[0]
    assert dsla.connected_components(A, return_labels=False) == ref[0]


def test_components_are_of_the_pattern():
    """An explicit zero is an edge (the analysis is structural, shared by the batch)."""
    A = dsla.SparseTensor(torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64),
                          torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]), (2, 2))
    assert dsla.connected_components(A)[0] == 1
    B = A.with_values(torch.rand(3, A.nnz, dtype=torch.float64))
    assert dsla.connected_components(B)[0] == 1


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.complex128])
def test_components_index_and_value_dtypes(index_dtype, dtype):
    S = random_pattern(120, 0.01, 3).tocoo()
    m = dsla._C.SparseMatrix.from_coo(torch.from_numpy(S.row.astype("int64")),
                                      torch.from_numpy(S.col.astype("int64")),
                                      torch.from_numpy(S.data).to(dtype), 120, 120, True, True,
                                      index_dtype)
    A = dsla.SparseTensor._wrap(m)
    assert A.index_dtype == getattr(torch, index_dtype)
    count, labels = dsla.connected_components(A, connection="strong")
    ref = csgraph.connected_components(S.tocsr(), connection="strong")
    assert count == ref[0]
    np.testing.assert_array_equal(canonical(labels.numpy()), canonical(ref[1]))


def test_components_edge_cases_and_inputs():
    E = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (0, 0))
    count, labels = dsla.connected_components(E)
    assert count == 0 and labels.shape == (0,)
    assert dsla.split_components(E) == []
    one = dsla.SparseTensor(torch.ones(1, dtype=torch.float64), [0], [0], (1, 1))
    assert dsla.connected_components(one)[0] == 1
    # A 1 x 1 matrix with no entry is one component too (the vertex exists).
    none = torch.zeros(0, dtype=torch.long)
    empty1 = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), none, none, (1, 1))
    assert dsla.connected_components(empty1)[0] == 1
    # torch sparse, dense and SciPy inputs.
    D = torch.tensor([[1.0, 0, 0], [0, 1, 1], [0, 1, 1]], dtype=torch.float64)
    for M in (D, D.to_sparse(), D.to_sparse_csr(), sp.csr_matrix(D.numpy())):
        assert dsla.connected_components(M)[0] == 2


def test_components_bad_input():
    R = dsla.SparseTensor(torch.ones(1, dtype=torch.float64), [0], [2], (2, 3))
    with pytest.raises(ValueError, match="argument 'A'.*square.*bipartite"):
        dsla.connected_components(R)
    with pytest.raises(ValueError, match="argument 'A'.*square"):
        dsla.split_components(R)
    A = dsla.poisson2d(3)
    with pytest.raises(ValueError, match="argument 'connection'"):
        dsla.connected_components(A, connection="strongly")
    with pytest.raises(TypeError, match="argument 'directed'"):
        dsla.connected_components(A, directed="yes")
    with pytest.raises(TypeError, match="argument 'A'"):
        dsla.connected_components([[1, 0], [0, 1]])


def block_matrix(seed=0, blocks=(4, 1, 6, 3), dtype=torch.float64):
    """A random block-diagonal matrix, rows shuffled symmetrically, as a SparseTensor and the
    list of its blocks' row sets."""
    g = torch.Generator().manual_seed(seed)
    n = sum(blocks)
    perm = torch.randperm(n, generator=g)
    rows, cols, sets, start = [], [], [], 0
    for b in blocks:
        idx = perm[start:start + b]
        sets.append(sorted(idx.tolist()))
        r, c = torch.meshgrid(idx, idx, indexing="ij")
        rows.append(r.reshape(-1))
        cols.append(c.reshape(-1))
        start += b
    row, col = torch.cat(rows), torch.cat(cols)
    vals = torch.randn(row.numel(), generator=g, dtype=torch.float64).to(dtype)
    vals = vals + 5.0 * (row == col).to(dtype)
    return dsla.SparseTensor(vals, row, col, (n, n)), sets


def test_split_components_blocks():
    A, sets = block_matrix()
    parts = dsla.split_components(A)
    assert sorted(p.index.tolist() for p in parts) == sorted(sets)
    firsts = [int(p.index[0]) for p in parts]
    assert firsts == sorted(firsts)  # the order of connected_components
    D = A.to_dense()
    total = torch.zeros_like(D)
    for index, block in parts:
        assert isinstance(block, dsla.SparseTensor)
        assert index.dtype == torch.int64 and bool((index[1:] > index[:-1]).all())
        torch.testing.assert_close(block.to_dense(), D[index][:, index], rtol=0, atol=0)
        total[index.unsqueeze(1), index.unsqueeze(0)] += block.to_dense()
    torch.testing.assert_close(total, D, rtol=0, atol=0)  # every entry exactly once
    assert sum(p.matrix.nnz for p in parts) == A.nnz


def test_split_components_solve_and_gradients():
    A, _ = block_matrix(seed=2)
    A.requires_grad_()
    b = torch.arange(A.shape[0], dtype=torch.float64) + 1
    x = torch.empty_like(b)
    parts = dsla.split_components(A)
    pieces = []
    for index, block in parts:
        xi = dsla.solve(block, b[index], method="gmres", precond="none", rtol=1e-13)
        pieces.append((index, xi))
    x = torch.zeros_like(b).index_put((torch.cat([i for i, _ in pieces]),),
                                      torch.cat([v for _, v in pieces]))
    ref = torch.linalg.solve(A.to_dense().detach(), b)
    torch.testing.assert_close(x, ref, rtol=1e-10, atol=1e-12)
    x.pow(2).sum().backward()
    g = A.values.grad.clone()
    A.values.grad = None
    dsla.solve(A, b, method="gmres", precond="none", rtol=1e-13).pow(2).sum().backward()
    torch.testing.assert_close(g, A.values.grad, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64, torch.complex128])
def test_split_components_batched_and_dtypes(dtype):
    A, sets = block_matrix(seed=3, dtype=dtype)
    B = A.with_values(torch.stack([A.values, 2 * A.values, -A.values]))
    parts = dsla.split_components(B)
    assert len(parts) == len(sets)
    D = B.to_dense()
    for index, block in parts:
        assert block.values.shape[0] == 3 and block.dtype == dtype
        torch.testing.assert_close(block.to_dense(), D[:, index][:, :, index], rtol=0, atol=0)


# ---------------------------------------------------------------------------- definiteness
def eig_pd(D):
    """The reference: positive definite iff Hermitian and the smallest eigenvalue > 0."""
    if not torch.allclose(D, D.mH, rtol=0, atol=0):
        return False
    return bool(torch.linalg.eigvalsh(D).min() > 0)


def spd_dense(n, seed, dtype=torch.float64, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    R = torch.randn(n, n, generator=g, dtype=torch.float64) * (torch.rand(n, n, generator=g) < 0.2)
    if dtype.is_complex:
        R = torch.complex(R, torch.randn(n, n, generator=g, dtype=torch.float64) * (R != 0))
    S = R @ R.mH + 0.5 * torch.eye(n, dtype=R.dtype)
    lmin = torch.linalg.eigvalsh(S).min().real
    return (S - (lmin + shift) * torch.eye(n, dtype=S.dtype)).to(dtype)


@pytest.mark.parametrize("factorization", FACTORIZATIONS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("shift", [-0.3, -1e-4, 1e-4, 0.3])
def test_positive_definite_matches_eigenvalues(factorization, dtype, shift):
    # shift < 0: the smallest eigenvalue is -shift > 0 (definite); shift > 0: indefinite.
    for seed in range(3):
        D = spd_dense(40, seed, dtype, shift)
        D = (D + D.mH) / 2
        A = dsla.SparseTensor.from_dense(D)
        assert dsla.is_positive_definite(A, factorization=factorization) == eig_pd(D), (seed, shift)


def test_positive_definite_real_matrices(data_dir):
    """The SPD matrices of data/ and ../shared/data are definite; sherman1 (symmetric indefinite)
    is not; the nonsymmetric ones are not. Each against dense eigvalsh."""
    checked = 0
    for name in ("bcsstk03", "bcsstk08", "494_bus", "662_bus", "gr_30_30", "sherman1",
                 "sherman5", "orsirr_1"):
        path = pathlib.Path(data_dir) / f"{name}.mtx"
        if not path.exists():
            continue
        A = dsla.read_mtx(str(path))
        D = A.to_dense()
        want = eig_pd((D + D.mT) / 2) if A.is_symmetric() else False
        assert dsla.is_positive_definite(A) == want, name
        assert dsla.is_positive_definite(A, factorization="dense") == want, name
        checked += 1
    assert checked >= 5


def test_positive_definite_semidefinite_and_tolerance():
    # A pure Neumann Laplacian: semidefinite (constants in the null space): not definite.
    P = dsla.poisson2d(8)
    D = P.to_dense()
    N = D - torch.diag(D.sum(1))
    assert not dsla.is_positive_definite(dsla.SparseTensor.from_dense(N))
    # Nearly singular but definite: smallest / largest pivot ~1e-10 passes the default 1e-14,
    # fails pivot_tolerance=1e-6.
    E = torch.diag(torch.tensor([1.0, 1.0, 1e-10], dtype=torch.float64))
    A = dsla.SparseTensor.from_dense(E)
    assert dsla.is_positive_definite(A)
    assert not dsla.is_positive_definite(A, pivot_tolerance=1e-6)
    for f in FACTORIZATIONS:
        assert not dsla.is_positive_definite(A, pivot_tolerance=1e-6, factorization=f)
        assert dsla.is_positive_definite(A, pivot_tolerance=0.0, factorization=f)


def test_positive_definite_edge_cases():
    P = dsla.poisson2d(5)
    assert dsla.is_positive_definite(P) is True and P.is_positive_definite() is True
    assert dsla.is_positive_definite(P.float())
    assert dsla.is_positive_definite(P.to(dtype=torch.complex64))
    assert not dsla.is_positive_definite(-P)
    # 0 x 0 (as torch.linalg.cholesky), 1 x 1, rectangular.
    E = dsla.SparseTensor(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long),
                          torch.zeros(0, dtype=torch.long), (0, 0))
    assert dsla.is_positive_definite(E)
    for v, want in ((2.0, True), (-2.0, False), (0.0, False)):
        one = dsla.SparseTensor(torch.tensor([v], dtype=torch.float64), [0], [0], (1, 1))
        assert dsla.is_positive_definite(one) is want
    R = dsla.SparseTensor(torch.ones(1, dtype=torch.float64), [0], [0], (2, 3))
    assert dsla.is_positive_definite(R) is False
    # A missing diagonal entry is a zero; a nonsymmetric matrix is not definite (even with a
    # positive definite symmetric part).
    M = dsla.SparseTensor(torch.tensor([1.0, 1.0], dtype=torch.float64), [0, 0], [0, 1], (2, 2))
    assert not dsla.is_positive_definite(M)
    K = torch.tensor([[2.0, 1.0], [-1.0, 2.0]], dtype=torch.float64)
    assert not dsla.is_positive_definite(K)
    # Symmetric within the tolerance: the Hermitian part is factored.
    S = torch.tensor([[2.0, 1.0], [1.0 + 1e-9, 2.0]], dtype=torch.float64)
    assert not dsla.is_positive_definite(S)
    assert dsla.is_positive_definite(S, rtol=1e-6)
    # Values symmetric on an unsymmetric pattern (an explicit zero on one side).
    U = dsla.SparseTensor(torch.tensor([2.0, 0.0, 2.0], dtype=torch.float64), [0, 0, 1],
                          [0, 1, 1], (2, 2))
    assert dsla.is_positive_definite(U)
    # torch and SciPy inputs; int64 indices.
    assert dsla.is_positive_definite(P.to_dense())
    assert dsla.is_positive_definite(P.to_scipy())
    m = dsla._C.SparseMatrix.from_coo(P.row.long(), P.col.long(), P.values, 25, 25, True, True,
                                      "int64")
    P64 = dsla.SparseTensor._wrap(m)
    assert P64.index_dtype == torch.int64
    assert dsla.is_positive_definite(P64) and not dsla.is_positive_definite(-P64)
    assert dsla.detect_matrix_type(P64) == "spd"


def test_positive_definite_batched():
    P = dsla.poisson2d(4)
    B = P.with_values(torch.stack([P.values, -P.values, 2 * P.values]))
    for f in FACTORIZATIONS:
        r = dsla.is_positive_definite(B, factorization=f)
        assert r.dtype == torch.bool and r.tolist() == [True, False, True]
    assert dsla.detect_matrix_type(B) == "symmetric"
    assert dsla.detect_matrix_type(P.with_values(torch.stack([P.values, 2 * P.values]))) == "spd"


def test_positive_definite_does_not_build_a_graph():
    P = dsla.poisson2d(4).requires_grad_()
    assert dsla.is_positive_definite(P) and P.values.grad is None


def test_positive_definite_bad_input():
    P = dsla.poisson2d(3)
    bad = P.values.clone()
    bad[2] = float("nan")
    with pytest.raises(ValueError, match="argument 'A'.*NaN"):
        dsla.is_positive_definite(P.with_values(bad))
    with pytest.raises(ValueError, match="argument 'factorization'"):
        dsla.is_positive_definite(P, factorization="qr")
    with pytest.raises(ValueError, match="argument 'pivot_tolerance'"):
        dsla.is_positive_definite(P, pivot_tolerance=-1.0)
    with pytest.raises(TypeError, match="argument 'rtol'"):
        dsla.is_positive_definite(P, rtol="tight")
    with pytest.raises(ValueError, match="argument 'dense_max_rows'"):
        dsla.is_positive_definite(P, dense_max_rows=-1)


@pytest.mark.skipif(HAVE_SS, reason="the build has SuiteSparse: no dense fallback on the CPU")
def test_positive_definite_without_sparse_cholesky_says_what_to_install():
    P = dsla.poisson2d(70)  # 4900 rows > dense_max_rows
    with pytest.raises(NotImplementedError, match="SuiteSparse"):
        dsla.is_positive_definite(P)
    with pytest.raises(NotImplementedError, match="SuiteSparse"):
        dsla.is_positive_definite(dsla.poisson2d(3), factorization="sparse")
    assert dsla.is_positive_definite(dsla.poisson2d(20))  # dense fallback


# ------------------------------------------------------------------------------ matrix type
def _c(D):
    return dsla.SparseTensor.from_dense(D)


def test_detect_matrix_type_each_type():
    P = dsla.poisson2d(4)
    assert dsla.detect_matrix_type(P) == "spd" == P.detect_matrix_type()
    assert dsla.detect_matrix_type(-P) == "symmetric"
    assert dsla.detect_matrix_type(P, definite=False) == "symmetric"
    assert dsla.detect_matrix_type(dsla.convdiff2d(4, 3.0)) == "general"
    K = torch.tensor([[0.0, 2.0, 0.0], [-2.0, 0.0, 1.0], [0.0, -1.0, 0.0]], dtype=torch.float64)
    assert dsla.detect_matrix_type(_c(K)) == "skew-symmetric"
    Pc = P.to(dtype=torch.complex128)
    assert dsla.detect_matrix_type(Pc) == "hpd"
    H = spd_dense(6, 1, torch.complex128, shift=0.5)
    H = (H + H.mH) / 2
    assert dsla.detect_matrix_type(_c(H)) == "hermitian"
    assert dsla.detect_matrix_type(_c(H + 10 * torch.eye(6)), definite=False) == "hermitian"
    Cs = torch.tensor([[1 + 1j, 2j], [2j, 3.0]], dtype=torch.complex128)
    assert dsla.detect_matrix_type(_c(Cs)) == "symmetric"
    Sh = torch.tensor([[1j, 2 + 1j], [-2 + 1j, 0]], dtype=torch.complex128)
    assert dsla.detect_matrix_type(_c(Sh)) == "skew-hermitian"
    Ks = torch.tensor([[0, 2 + 1j], [-2 - 1j, 0]], dtype=torch.complex128)
    assert dsla.detect_matrix_type(_c(Ks)) == "skew-symmetric"
    R = dsla.SparseTensor(torch.ones(1, dtype=torch.float64), [0], [0], (2, 3))
    assert dsla.detect_matrix_type(R) == "general"
    Z = dsla.SparseTensor(torch.zeros(2, dtype=torch.float64), [0, 1], [1, 0], (2, 2))
    assert dsla.detect_matrix_type(Z) == "symmetric"  # zero: symmetric, not skew, not definite
    assert dsla.detect_matrix_type(P.float()) == "spd"


def test_detect_matrix_type_tolerance_is_named():
    D = dsla.poisson2d(4).to_dense()
    D[0, 1] += 1e-9  # an assembly asymmetry of 1e-9 relative
    A = _c(D)
    assert dsla.detect_matrix_type(A) == "general"
    assert dsla.detect_matrix_type(A, rtol=1e-6) == "spd"
    assert dsla.detect_matrix_type(A, atol=1e-8) == "spd"
    with pytest.raises(ValueError, match="argument 'atol'"):
        dsla.detect_matrix_type(A, atol=-1)
    with pytest.raises(TypeError, match="argument 'definite'"):
        dsla.detect_matrix_type(A, definite=1)


@cuda
def test_structure_on_cuda():
    P = dsla.poisson2d(6).cuda()
    count, labels = dsla.connected_components(P)
    assert count == 1 and labels.device.type == "cuda"
    parts = dsla.split_components(P)
    assert parts[0].matrix.device.type == "cuda" and parts[0].index.device.type == "cuda"
    assert dsla.is_positive_definite(P) and not dsla.is_positive_definite(-P)
    assert dsla.is_positive_definite(P, factorization="dense")
    assert dsla.detect_matrix_type(P) == "spd"
