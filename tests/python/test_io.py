"""Matrix Market IO against scipy.io.mmread: every shared matrix, dtypes, write -> read round
trips (plain and gzip, general and symmetric), interoperability, and malformed files."""
import glob
import gzip
import json
import os
import pathlib
import subprocess
import sys

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
ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("DSLA_CLI", ROOT / "build" / "bin" / "dsla"))
BANNER = "%%MatrixMarket matrix coordinate real general\n"


def scipy_coo(path):
    """scipy's reading, duplicates summed (our reader sums them too), explicit zeros kept."""
    B = scipy.sparse.coo_matrix(scipy.io.mmread(str(path)))
    B.sum_duplicates()
    return B


def test_data_directory_is_there():
    # At least the matrices the repository ships (data/); more where ../shared/data is merged in.
    shipped = list((pathlib.Path(__file__).resolve().parents[2] / "data").glob("*.mtx"))
    assert len(shipped) >= 16 and len(FILES) >= len(shipped), DATA


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
        if not (DATA / name).exists():
            continue  # not shipped in data/ (bcsstk16): checked where ../shared/data is there
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


# ---------------------------------------------------------------- files that lie, odd names


def _rss_growth_mb(code):
    """Runs `code` (given `dsla`, `torch` and `p`, a file name) in a fresh Python that has imported
    dsla; returns (peak RSS growth in MB over the import, "ok" or "ExceptionType: message")."""
    script = (
        "import resource, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'python')!r})\n"
        "import dsla, torch\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    exec(sys.argv[1])\n"
        "    out = 'ok'\n"
        "except Exception as e:\n"
        "    out = type(e).__name__ + ': ' + str(e)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)\n"
        "print(out)\n")
    r = subprocess.run([sys.executable, "-c", script, code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    mb, out = r.stdout.strip().split("\n", 1)
    return float(mb), out


def test_lying_size_line_fails_fast_in_bounded_memory(tmp_path):
    # 10^12 x 10^12 with 10^15 entries declared, two present: a message naming the file and the
    # line where it ends, after reading those lines, whatever was declared.
    p = tmp_path / "lying.mtx"
    p.write_text(BANNER + "1000000000000 1000000000000 1000000000000000\n1 1 1\n2 2 1\n")
    for path in (p, os.fsencode(p)):
        with pytest.raises(ValueError, match="line 4: the file ends after 2 of the "
                                             "1000000000000000 entries") as e:
            dsla.read_mtx(path)
        assert "lying.mtx" in str(e.value)
    grew, out = _rss_growth_mb(f"dsla.read_mtx({str(p)!r})")
    assert out.startswith("ValueError") and "line 4" in out, out
    assert grew < 30, f"{grew:.0f} MB to read a 100-byte file"
    # An array file: rows * cols values declared (10^18), checked against the lines there.
    q = tmp_path / "lying_array.mtx"
    q.write_text("%%MatrixMarket matrix array real general\n1000000000 1000000000\n1\n2\n")
    grew, out = _rss_growth_mb(f"dsla.read_mtx({str(q)!r})")
    assert "lying_array.mtx', line 4: the file ends after 2 of the 1000000000000000000 values" \
        in out, out
    assert grew < 30, f"{grew:.0f} MB to read a 70-byte file"
    q.write_text("%%MatrixMarket matrix array real general\n9000000000 9000000000\n1\n")
    with pytest.raises(ValueError, match="line 2: the matrix is too large"):  # rows*cols > 2^63
        dsla.read_mtx(q)


def test_huge_declared_shape_costs_its_row_pointer_only(tmp_path):
    # Valid: 5*10^7 rows, 3 entries. The row pointer (int32: 200 MB) is the one array of length
    # rows; the CSR build used to add two int64 arrays of that length (and `dsla info` five).
    p = tmp_path / "huge.mtx"
    p.write_text(BANNER + "50000000 50000000 3\n1 1 1\n2 2 1\n50000000 1 2\n")
    grew, out = _rss_growth_mb(f"A = dsla.read_mtx({str(p)!r}); assert A.nnz == 3")
    assert out == "ok", out
    assert grew < 350, f"{grew:.0f} MB for 5*10^7 rows and 3 entries"
    # 10^12 rows: 8 TB of row pointer, refused before allocating, naming the file and size line.
    q = tmp_path / "huger.mtx"
    q.write_text(BANNER + "1000000000000 1000000000000 1\n1 1 1\n")
    with pytest.raises(ValueError, match=r"huger.mtx', line 2: the size line declares "
                                         r"1000000000000 rows: the CSR row pointer"):
        dsla.read_mtx(q)


def test_gzip_is_inflated_as_it_is_read(tmp_path):
    # 60 MB of text (comments, then a 3 x 3 matrix) in a 0.3 MB gzip: reading it must not hold
    # the inflated text.
    p = tmp_path / "big.mtx.gz"
    with gzip.open(p, "wb", compresslevel=1) as f:
        f.write(BANNER.encode())
        block = (b"% " + b"c" * 97 + b"\n") * 10000
        for _ in range(60):
            f.write(block)
        f.write(b"3 3 3\n1 1 1\n2 2 2\n3 3 3\n")
    assert os.path.getsize(p) < 2_000_000
    grew, out = _rss_growth_mb(f"A = dsla.read_mtx({str(p)!r}); assert A.nnz == 3")
    assert out == "ok", out
    assert grew < 25, f"{grew:.0f} MB to read 60 MB of gzip-compressed text"


def test_non_utf8_banner_gives_a_readable_message(tmp_path):
    p = tmp_path / "banner.mtx"
    p.write_bytes(b"%%MatrixMarket matrix coordinate real gen\xffral\n1 1 0\n")
    with pytest.raises(ValueError) as e:
        dsla.read_mtx(p)
    assert "banner.mtx', line 1: unknown symmetry 'gen\\xffral'" in str(e.value)
    p.write_bytes(b"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 \xe9\n")
    with pytest.raises(ValueError, match=r"line 3: expected the value \(a number\), got '\\xe9'"):
        dsla.read_mtx(p)


def test_directory_is_named_as_such(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        dsla.read_mtx(tmp_path)
    with pytest.raises(IsADirectoryError):
        dsla.read_mtx_info(tmp_path)
    with pytest.raises(ValueError, match="is a directory"):  # the C++ side says so too
        dsla._C.read_mtx(os.fsencode(tmp_path), "")


def test_non_utf8_file_names(tmp_path):
    A = dsla.read_mtx(DATA / "bcsstk03.mtx")
    name = os.fsencode(tmp_path) + b"/m\xff\xfe.mtx.gz"
    dsla.write_mtx(A, name)
    for path in (name, os.fsdecode(name), pathlib.Path(os.fsdecode(name))):
        assert torch.equal(dsla.read_mtx(path).to_dense(), A.to_dense())
        assert dsla.read_mtx_info(path)["entries"] == 640
    bad = os.fsencode(tmp_path) + b"/bad\xff.mtx"
    with open(bad, "wb") as f:
        f.write(b"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 x\n")
    with pytest.raises(ValueError, match=r"bad\\xff.mtx', line 3"):
        dsla.read_mtx(os.fsdecode(bad))
    with pytest.raises(FileNotFoundError, match=r"gone\\xff.mtx"):
        dsla.read_mtx(os.fsencode(tmp_path) + b"/gone\xff.mtx")
    with pytest.raises(TypeError, match="path"):
        dsla.read_mtx(3)
    with pytest.raises(ValueError, match="NUL"):
        dsla.write_mtx(A, str(tmp_path / "a\0b.mtx"))


# ---------------------------------------------------------------- the CLI's `dsla info`

needs_cli = pytest.mark.skipif(not CLI.exists(), reason=f"CLI not built at {CLI} (set DSLA_CLI)")


def _cli(*args):
    r = subprocess.run([str(CLI), *args], capture_output=True, timeout=300)
    return r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8")  # always UTF-8


@needs_cli
@pytest.mark.parametrize("name", ["bcsstk03.mtx", "young1c.mtx", "mhd1280b.mtx", "G51.mtx",
                                  "hor_131.mtx"])
def test_cli_info_figures(name):
    rc, out, err = _cli("info", str(DATA / name), "--json")
    assert rc == 0, err
    got = json.loads(out)
    B = scipy_coo(DATA / name).tocsr()
    B.sort_indices()
    n = B.shape[0]
    counts = np.diff(B.indptr)
    assert (got["rows"], got["cols"], got["nnz"]) == (n, B.shape[1], B.nnz)
    assert (got["row_nnz_min"], got["row_nnz_max"]) == (counts.min(), counts.max())
    d = np.abs(B.diagonal())
    off = np.asarray(abs(B).sum(axis=1)).ravel() - d
    assert got["diag_dominant_rows"] == int(np.sum(d >= off * (1 - 1e-14)))
    assert got["zero_diagonals"] == int(np.sum(d == 0))
    H = B.conj().T
    assert got["symmetric"] == (abs(B - H).max() <= 1e-12 * abs(B).max())
    C = B.tocoo()
    stored = set(zip(C.row.tolist(), C.col.tolist()))  # explicit zeros included
    assert got["pattern_symmetric"] == (stored == {(j, i) for i, j in stored})
    assert got["norm_fro"] == pytest.approx(scipy.sparse.linalg.norm(B), rel=1e-12)


@needs_cli
def test_cli_info_on_a_huge_declared_shape(tmp_path):
    # 10^8 rows, 3 entries: it cost 5.6 GB (five O(rows) temporaries); now what the entries cost.
    p = tmp_path / "huge.mtx"
    p.write_text(BANNER + "100000000 100000000 3\n1 1 1\n2 2 1\n3 3 1\n")
    script = ("import resource, subprocess, sys\n"
              "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
              "sys.stdout.write(r.stdout.decode())\n")
    r = subprocess.run([sys.executable, "-c", script, str(CLI), "info", str(p), "--json"],
                       capture_output=True, text=True, timeout=300)
    peak, out = r.stdout.split("\n", 1)
    got = json.loads(out)
    assert (got["rows"], got["nnz"], got["zero_diagonals"]) == (10**8, 3, 10**8 - 3)
    assert int(peak) < 500, f"dsla info peaked at {peak} MB"  # libtorch alone is ~170 MB


@needs_cli
def test_cli_info_escapes_names_and_content(tmp_path):
    d = os.fsencode(tmp_path)
    good = d + b"/ok\xfe.mtx"
    with open(good, "wb") as f:
        f.write(b"%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 2\n")
    rc, out, err = _cli("info", os.fsdecode(good), "--json")
    assert rc == 0, err
    assert json.loads(out)["matrix"].endswith("/ok\\xfe.mtx")
    bad = d + b"/bad\xfe.mtx"
    with open(bad, "wb") as f:
        f.write(b"%%MatrixMarket matrix coordinate real gen\xffral\n1 1 0\n")
    rc, out, err = _cli("info", os.fsdecode(bad))
    assert rc == 1
    assert "bad\\xfe.mtx', line 1: unknown symmetry 'gen\\xffral'" in err
    rc, out, err = _cli("info", str(tmp_path))
    assert rc == 1 and "is a directory" in err, err
