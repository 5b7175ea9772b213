"""Matrix Market IO against scipy.io.mmread: every shared matrix, dtypes, write -> read round
trips (plain and gzip, general and symmetric), interoperability, and malformed files."""
import glob
import gzip
import os
import pathlib

import numpy as np
import pytest
import scipy.io
import scipy.sparse
import torch

import dsla

DATA = pathlib.Path(os.environ.get("DSLA_DATA_DIR",
                                  pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))
FILES = sorted(glob.glob(str(DATA / "*.mtx")))
DENSE_MAX = 2100  # compare densely up to this size (35 MB of float64)


def scipy_coo(path):
    """scipy's reading, duplicates summed (our reader sums them too), explicit zeros kept."""
    B = scipy.sparse.coo_matrix(scipy.io.mmread(str(path)))
    B.sum_duplicates()
    return B


def test_data_directory_is_there():
    assert len(FILES) >= 28, DATA


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_matches_scipy(path):
    A = dsla.read_mtx(path)
    B = scipy_coo(path)
    assert tuple(A.shape) == B.shape
    assert A.nnz == B.nnz  # symmetric storage expanded, stored zeros kept
    info = dsla.read_mtx_info(path)
    assert (info["rows"], info["cols"]) == B.shape
    if max(B.shape) <= DENSE_MAX:
        D = A.to_dense()
        assert D.dtype == (torch.complex128 if np.iscomplexobj(B.data) else torch.float64)
        assert torch.equal(D, torch.from_numpy(B.toarray()).to(D.dtype))  # bit-exact


def test_expected_sizes_from_index():
    for name, n, nnz in [("bcsstk03.mtx", 112, 640), ("zenios.mtx", 2873, 27191),
                         ("mhd1280b.mtx", 1280, 22778), ("G51.mtx", 1000, 11818),
                         ("young1c.mtx", 841, 4089), ("bcsstk16.mtx", 4884, 290378)]:
        A = dsla.read_mtx(DATA / name)  # a pathlib.Path is accepted
        assert tuple(A.shape) == (n, n) and A.nnz == nnz, name


def test_info():
    info = dsla.read_mtx_info(DATA / "mhd1280b.mtx")
    assert info == {"object": "matrix", "format": "coordinate", "field": "complex",
                    "symmetry": "hermitian", "rows": 1280, "cols": 1280, "entries": 12029}


def test_pattern_values_are_one():
    D = dsla.read_mtx(DATA / "G51.mtx").to_dense()
    assert set(torch.unique(D).tolist()) == {0.0, 1.0}
    assert torch.equal(D, D.T)


def test_dtypes():
    assert dsla.read_mtx(DATA / "bcsstk03.mtx", dtype=torch.float32).to_dense().dtype == torch.float32
    assert dsla.read_mtx(DATA / "bcsstk03.mtx", dtype=torch.complex128).to_dense().dtype == torch.complex128
    assert dsla.read_mtx(DATA / "young1c.mtx").to_dense().dtype == torch.complex128
    assert dsla.read_mtx(DATA / "young1c.mtx", dtype=torch.float32).to_dense().dtype == torch.complex64
    with pytest.raises(ValueError, match="dtype"):
        dsla.read_mtx(DATA / "bcsstk03.mtx", dtype=torch.int64)
    with pytest.raises(TypeError, match="dtype"):
        dsla.read_mtx(DATA / "bcsstk03.mtx", dtype=torch.bool)


def test_float32_overflow_is_refused(tmp_path):
    p = tmp_path / "big.mtx"
    p.write_text("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1e300\n")
    assert dsla.read_mtx(p).to_dense()[0, 0] == 1e300
    with pytest.raises(ValueError, match="float32"):
        dsla.read_mtx(p, dtype=torch.float32)


@pytest.mark.parametrize("name", ["bcsstk03.mtx", "young1c.mtx", "mhd1280b.mtx", "G51.mtx",
                                  "zenios.mtx", "gr_30_30.mtx"])
@pytest.mark.parametrize("suffix", [".mtx", ".mtx.gz"])
def test_round_trip(tmp_path, name, suffix):
    A = dsla.read_mtx(DATA / name)
    out = tmp_path / ("out" + suffix)
    dsla.write_mtx(A, out)
    if suffix.endswith(".gz"):
        with gzip.open(out, "rb") as f:
            assert f.read(14) == b"%%MatrixMarket"
    B = dsla.read_mtx(out)
    assert B.nnz == A.nnz  # stored zeros survive
    assert torch.equal(B.to_dense(), A.to_dense())
    # Another reader agrees with what we wrote.
    assert np.array_equal(scipy.io.mmread(str(out)).toarray(), A.to_dense().numpy())


@pytest.mark.parametrize("name,symmetry", [("bcsstk03.mtx", "symmetric"),
                                           ("mhd1280b.mtx", "hermitian"),
                                           ("G51.mtx", "symmetric")])
def test_symmetric_write_stores_one_triangle(tmp_path, name, symmetry):
    A = dsla.read_mtx(DATA / name)
    out = tmp_path / "sym.mtx"
    dsla.write_mtx(A, out, symmetry=symmetry)
    info = dsla.read_mtx_info(out)
    assert info["symmetry"] == symmetry
    assert info["entries"] == dsla.read_mtx_info(DATA / name)["entries"]
    assert torch.equal(dsla.read_mtx(out).to_dense(), A.to_dense())


def test_write_refuses_false_symmetry(tmp_path):
    A = dsla.read_mtx(DATA / "hor_131.mtx")  # nonsymmetric
    with pytest.raises(ValueError, match="not symmetric"):
        dsla.write_mtx(A, tmp_path / "x.mtx", symmetry="symmetric")
    with pytest.raises(ValueError, match="symmetry"):
        dsla.write_mtx(A, tmp_path / "x.mtx", symmetry="lower")
    with pytest.raises(TypeError):
        dsla.write_mtx(torch.eye(3), tmp_path / "x.mtx")


def test_skew_symmetric_file(tmp_path):
    p = tmp_path / "skew.mtx"
    p.write_text("%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 3\n3 2 -1.5\n")
    D = dsla.read_mtx(p).to_dense()
    assert torch.equal(D, -D.T)
    assert torch.equal(D, torch.from_numpy(scipy.io.mmread(str(p)).toarray()))


def test_array_file(tmp_path):
    p = tmp_path / "array.mtx"
    p.write_text("%%MatrixMarket matrix array real general\n2 3\n1\n2\n3\n4\n0\n6\n")
    A = dsla.read_mtx(p)
    assert torch.equal(A.to_dense(), torch.tensor([[1.0, 3, 0], [2, 4, 6]]))
    assert A.nnz == 6  # every array value is stored, zeros included


@pytest.mark.parametrize("text,line,phrase", [
    ("%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n", 3, "ends after 1 of"),
    ("%%MatrixMarket matrix coordinate real general\n3 3 1\n4 1 1\n", 3, "out of range"),
    ("%%MatrixMarket matrix coordinate real general\n3 3 1\n1 1 nan\n", 3, "not finite"),
    ("%%MatrixMarket matrix coordinate real general\n% c\n3 3 1\n1 1 x\n", 4, "got 'x'"),
    ("%%MatrixMarket matrix coordinate real symmetric\n2 3 0\n", 2, "square"),
    ("%%MatrixMarket matrix array pattern general\n1 1\n", 1, "array pattern"),
    ("%%MatrixMarket matrix coordinate real genera1\n1 1 0\n", 1, "unknown symmetry"),
])
def test_malformed_file_names_the_line(tmp_path, text, line, phrase):
    p = tmp_path / "bad.mtx"
    p.write_text(text)
    with pytest.raises(ValueError, match=f"line {line}") as e:
        dsla.read_mtx(p)
    assert phrase in str(e.value) and "bad.mtx" in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        dsla.read_mtx(tmp_path / "nope.mtx")
