"""dsla.distributed.partition on its own (no process group): recursive coordinate bisection and
the Hilbert-curve partition — balance, every row in exactly one part, determinism, locality
(edge cut against a random partition and the ideal boxes), the curve's adjacency — and bad
input. The distributed solves with these partitions are in test_distributed.py."""
import pytest
import torch

import dsla
from dsla import distributed as dd


def grid(nx, ny, nz=None, dtype=torch.float64):
    """Coordinates of the rows of dsla.poisson2d(n) / poisson3d(n) (lexicographic, x fastest)."""
    if nz is None:
        y, x = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
        return torch.stack([x.reshape(-1), y.reshape(-1)], 1).to(dtype)
    z, y, x = torch.meshgrid(torch.arange(nz), torch.arange(ny), torch.arange(nx), indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1), z.reshape(-1)], 1).to(dtype)


def edge_cut(A, parts):
    r, c = A.row.long(), A.col.long()
    return int((parts[r] != parts[c]).sum()) // 2


def check_balanced(parts, n, P):
    assert parts.dtype == torch.int64 and parts.shape == (n,)
    counts = torch.bincount(parts, minlength=P)
    assert counts.numel() == P  # ids in [0, P)
    assert int(counts.min()) >= n // P and int(counts.max()) <= -(-n // P)
    assert int(counts.sum()) == n  # every row in exactly one part


@pytest.mark.parametrize("kind", ["rcb", "hilbert"])
@pytest.mark.parametrize("P", [1, 2, 3, 5, 8, 13])
def test_balanced_and_deterministic(kind, P):
    g = torch.Generator().manual_seed(P)
    pts = torch.rand(1000, 3, generator=g, dtype=torch.float64)
    parts = dd.partition(kind, P, coords=pts)
    check_balanced(parts, 1000, P)
    assert torch.equal(parts, dd.partition(kind, P, coords=pts.clone()))
    # float32 and integer coordinates are taken as they are (converted to float64).
    check_balanced(dd.partition(kind, P, coords=pts.float()), 1000, P)
    check_balanced(dd.partition(kind, P, coords=(pts * 100).long()), 1000, P)


@pytest.mark.parametrize("kind", ["rcb", "hilbert"])
def test_locality_on_meshes(kind):
    n = 32
    A = dsla.poisson2d(n)
    xy = grid(n, n)
    for P in (2, 4, 8, 16):
        parts = dd.partition(kind, P, coords=xy)
        check_balanced(parts, n * n, P)
        cut = edge_cut(A, parts)
        rand = torch.randint(P, (n * n,), generator=torch.Generator().manual_seed(0))
        # Far below a random partition; within 2x of the ideal boxes (~ n * (sqrt(P) - 1) * 2).
        assert cut < edge_cut(A, rand) / 5
        ideal = 2 * n * (P ** 0.5 - 1)
        assert cut <= 2.0 * ideal + n, (P, cut, ideal)
    # 3-D.
    m = 12
    A3, xyz = dsla.poisson3d(m), grid(m, m, m)
    for P in (2, 4, 8):
        parts = dd.partition(kind, P, coords=xyz)
        check_balanced(parts, m ** 3, P)
        assert edge_cut(A3, parts) <= 2.2 * m * m * (P ** (1 / 3) - 1) * 3 + m * m


def test_rcb_quadrants_and_thin_domains():
    parts = dd.partition("rcb", 4, coords=grid(16, 16))
    q = parts.view(16, 16)
    for block in (q[:8, :8], q[:8, 8:], q[8:, :8], q[8:, 8:]):
        assert torch.all(block == block[0, 0])
    assert len(set(q[::15, ::15].reshape(-1).tolist())) == 4
    # A thin strip is cut across its length (the longest side of the box).
    strip = grid(64, 2)
    parts = dd.partition("rcb", 4, coords=strip)
    assert torch.equal(parts.view(2, 64)[0], parts.view(2, 64)[1])
    assert torch.all(parts.view(2, 64)[0].diff() >= 0)


def test_hilbert_order_steps_to_neighbours():
    for pts in (grid(16, 16), grid(8, 8, 8)):
        order = dd.hilbert_order(pts)
        assert torch.equal(order.sort().values, torch.arange(pts.shape[0]))
        steps = (pts[order[1:]] - pts[order[:-1]]).abs().sum(1)
        assert torch.all(steps == 1)  # consecutive points of the curve are grid neighbours
    # One dimension: the order of the axis (ties by index).
    assert dd.hilbert_order(torch.tensor([3.0, -1.0, 2.0, 2.0])).tolist() == [1, 2, 3, 0]


def test_edge_cases():
    for kind in ("rcb", "hilbert"):
        assert dd.partition(kind, 3, coords=torch.zeros(0, 2)).shape == (0,)
        check_balanced(dd.partition(kind, 4, coords=torch.ones(1, 3)), 1, 4)
        # More parts than points: parts of 0 or 1 points.
        check_balanced(dd.partition(kind, 9, coords=torch.rand(5, 2)), 5, 9)
        # All points equal: ties by index keep the partition balanced and contiguous.
        assert dd.partition(kind, 2, coords=torch.ones(6, 2)).tolist() == [0, 0, 0, 1, 1, 1]
        # 1-D coordinates as [N].
        check_balanced(dd.partition(kind, 3, coords=torch.rand(10)), 10, 3)
    G = dsla.poisson2d(5)
    assert dd.partition("contiguous", 2, G).tolist() == [0] * 13 + [1] * 12
    assert dd.partition("contiguous", 2, coords=torch.rand(5, 2)).tolist() == [0, 0, 0, 1, 1]
    if dsla.features["metis"]:
        check_balanced(dd.partition("metis", 1, G), 25, 1)
        assert set(dd.partition("metis", 3, G).tolist()) == {0, 1, 2}


def test_bad_input():
    xy = grid(4, 4)
    with pytest.raises(ValueError, match="argument 'kind': unknown partition 'kd'"):
        dd.partition("kd", 2, coords=xy)
    with pytest.raises(ValueError, match="argument 'coords': partition='rcb' needs"):
        dd.partition("rcb", 2)
    with pytest.raises(ValueError, match="argument 'coords': has 16 points but G has 25 rows"):
        dd.partition("hilbert", 2, dsla.poisson2d(5), coords=xy)
    with pytest.raises(ValueError, match="argument 'coords': contains NaN"):
        dd.partition("rcb", 2, coords=torch.tensor([[0.0, float("nan")], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="argument 'coords': contains NaN or Inf"):
        dd.hilbert_order(torch.tensor([0.0, float("inf")]))
    with pytest.raises(TypeError, match=r"argument 'coords': must be real.*torch.float64"):
        dd.partition("rcb", 2, coords=torch.ones(3, 2, dtype=torch.complex128))
    with pytest.raises(TypeError, match="argument 'coords': must be real"):
        dd.partition("hilbert", 2, coords=torch.ones(3, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"argument 'coords': must have shape \[N, d\]"):
        dd.partition("rcb", 2, coords=torch.ones(3, 2, 2))
    with pytest.raises(ValueError, match="1 to 64 dimensions"):
        dd.partition("rcb", 2, coords=torch.ones(3, 65))
    with pytest.raises(ValueError, match="argument 'parts': must be >= 1"):
        dd.partition("rcb", 0, coords=xy)
    with pytest.raises(TypeError, match="argument 'parts'"):
        dd.partition("rcb", 2.0, coords=xy)
    with pytest.raises(ValueError, match="argument 'G'"):
        dd.partition("metis", 2)
    with pytest.raises(ValueError, match="argument 'G'"):
        dd.partition("contiguous", 2)
