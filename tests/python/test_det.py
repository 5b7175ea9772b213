"""dsla.slogdet / logdet / det against torch.linalg and SciPy, gradcheck in float64."""
import os
import pathlib
import sys

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
dsla = pytest.importorskip("dsla")
if not dict(dsla._C.features).get("suitesparse", True):
    pytest.skip("dsla built without SuiteSparse", allow_module_level=True)

from dsla.det import det, logdet, slogdet  # noqa: E402

DATA = pathlib.Path(os.environ.get("DSLA_DATA_DIR", ROOT.parent / "shared" / "data"))


def random_spd(n, density, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, n, generator=g) < density
    r = torch.randn(n, n, generator=g, dtype=torch.float64)
    if dtype.is_complex:
        r = torch.complex(r, torch.randn(n, n, generator=g, dtype=torch.float64))
    r = (r * mask).to(dtype)
    s = r + r.conj().T
    return s + torch.diag(s.abs().sum(1) + 1).to(dtype)


def random_general(n, density, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, n, generator=g) < density
    r = torch.randn(n, n, generator=g, dtype=torch.float64)
    if dtype.is_complex:
        r = torch.complex(r, torch.randn(n, n, generator=g, dtype=torch.float64))
    r = (r * mask).to(dtype)
    return r + torch.diag(r.abs().sum(1) + 1).to(dtype)


@pytest.mark.parametrize("make", [random_spd, random_general])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128, torch.float32])
def test_slogdet_matches_torch(make, dtype):
    D = make(60, 0.08, 1, dtype)
    A = dsla.SparseTensor.from_dense(D)
    s, l = slogdet(A)
    rs, rl = torch.linalg.slogdet(D.to(torch.complex128 if dtype.is_complex else torch.float64))
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    assert l.dtype == (torch.float32 if dtype == torch.float32 else torch.float64)
    assert abs(l.item() - rl.item()) <= tol * max(1.0, abs(rl.item()))
    assert abs(complex(s.item()) - complex(rs.item())) < 1e-6


def test_logdet_det_semantics():
    S = random_spd(20, 0.2, 2)
    P = S[torch.tensor([1, 0] + list(range(2, 20)))]  # det < 0
    A = dsla.SparseTensor.from_dense(P)
    assert torch.isnan(logdet(A))
    assert torch.allclose(det(A), torch.det(P), rtol=1e-10)
    B = dsla.SparseTensor.from_dense(S)
    assert torch.allclose(logdet(B), torch.logdet(S), rtol=1e-12)


def transpose_perm(A):
    """Position of entry (c, r) for each stored (r, c)."""
    rows, cols = A.row.tolist(), A.col.tolist()
    where = {(r, c): k for k, (r, c) in enumerate(zip(rows, cols))}
    return torch.tensor([where[(c, r)] for r, c in zip(rows, cols)])


@pytest.mark.parametrize("method", ["auto", "cholesky", "ldlt", "lu"])
def test_gradcheck_spd(method):
    D = random_spd(12, 0.3, 3)
    A = dsla.SparseTensor.from_dense(D)
    v = A.values.detach().clone().requires_grad_(True)
    perm = transpose_perm(A)

    def f(vals):
        # Cholesky / LDLᵀ refuse nonsymmetric values: gradcheck's one-entry perturbations are
        # symmetrized first (auto and lu also see the unsymmetrized ones in test_gradcheck_general).
        return logdet(A.with_values(0.5 * (vals + vals[perm])), method=method)

    assert torch.autograd.gradcheck(f, (v,), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_gradcheck_general(dtype):
    D = random_general(10, 0.3, 4, dtype)
    A = dsla.SparseTensor.from_dense(D)
    v = A.values.detach().clone().requires_grad_(True)

    def f(vals):
        s, l = slogdet(A.with_values(vals))
        return (l, s.real, s.imag) if dtype.is_complex else l

    assert torch.autograd.gradcheck(f, (v,), eps=1e-6, atol=1e-7)


def test_gradient_matches_dense_autograd_hermitian():
    D = random_spd(30, 0.1, 5, torch.complex128)
    A = dsla.SparseTensor.from_dense(D)
    v = A.values.detach().clone().requires_grad_(True)
    slogdet(A.with_values(v))[1].backward()
    Dd = D.clone().requires_grad_(True)
    torch.linalg.slogdet(Dd)[1].backward()
    ref = Dd.grad[A.row.long(), A.col.long()]
    assert torch.allclose(v.grad, ref, rtol=1e-9, atol=1e-12)


def test_batched():
    D = random_spd(25, 0.15, 6)
    A = dsla.SparseTensor.from_dense(D)
    vals = torch.stack([A.values, 2 * A.values]).requires_grad_(True)
    l = logdet(A.with_values(vals))
    assert l.shape == (2,)
    assert torch.allclose(l, torch.stack([torch.logdet(D), torch.logdet(2 * D)]), rtol=1e-12)
    l.sum().backward()
    assert vals.grad.shape == vals.shape


def test_scipy_reference():
    scipy_io = pytest.importorskip("scipy.io")
    splu = pytest.importorskip("scipy.sparse.linalg").splu
    path = DATA / "orsirr_1.mtx"
    if not path.exists():
        pytest.skip(f"missing {path}")
    S = scipy_io.mmread(str(path)).tocsc()
    lu = splu(S)
    ref = float(sum(torch.log(torch.from_numpy(abs(lu.U.diagonal()))).tolist()))
    A = dsla.SparseTensor.from_scipy(S)
    _, l = slogdet(A)
    assert abs(l.item() - ref) <= 1e-9 * abs(ref)


def test_singular_and_bad_input():
    D = random_general(10, 0.3, 7)
    D[3] = 0
    s, l = slogdet(dsla.SparseTensor.from_dense(D))
    assert s.item() == 0 and l.item() == float("-inf")
    s2, l2 = slogdet(D)  # a dense tensor is accepted too (issue #16: tests/python/test_interop.py)
    assert s2.item() == 0 and l2.item() == float("-inf")
    with pytest.raises(TypeError, match="argument 'A'"):
        slogdet(D.tolist())
    with pytest.raises(ValueError):
        slogdet(dsla.SparseTensor.from_dense(torch.randn(3, 4, dtype=torch.float64)))
    S = random_spd(10, 0.3, 8)
    S[0, 0] = -100
    with pytest.raises(dsla.SingularMatrixError):
        slogdet(dsla.SparseTensor.from_dense(S), method="cholesky")
