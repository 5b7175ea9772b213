// dist::read_mtx on P threads as P ranks (P = 1..4): the gathered matrix equals the one-process
// read_mtx for general, symmetric, pattern, integer, complex and Hermitian files, read by byte
// ranges and streamed by rank 0 (a .gz written by dsla's writer, array files, a plain file forced
// through the stream in small pieces); more ranks than rows; and a malformed file raises the
// one-process reader's message on every rank, whichever rank reads the bad line.
#include <dsla/dist.h>
#include <dsla/io.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dist/read_mtx.h"
#include "dist_harness.h"

namespace {

using dsla::SparseMatrix;
using dsla::dist::Comm;
using dsla::dist::detail::MtxReadOptions;
using dsla_test::run_ranks;

std::string data(const std::string& name) {
  return std::string(DSLA_DATA_DIR) + "/" + name;
}

std::string temp_file(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / "dsla_dist_read_mtx";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

void expect_same(const SparseMatrix& A, const SparseMatrix& G) {
  ASSERT_EQ(A.rows(), G.rows());
  ASSERT_EQ(A.nnz(), G.nnz());
  EXPECT_EQ(A.dtype(), G.dtype());
  EXPECT_TRUE(at::equal(A.row_indices().to(at::kLong), G.row_indices().to(at::kLong)));
  EXPECT_TRUE(at::equal(A.col_indices().to(at::kLong), G.col_indices().to(at::kLong)));
  EXPECT_TRUE(at::equal(A.values(), G.values()));
}

// Reads `path` on P ranks and checks every rank's rows and the gathered matrix.
void expect_read(const std::string& path, int P, const MtxReadOptions& opt = {},
                 at::ScalarType dtype = at::kDouble) {
  const SparseMatrix G = dsla::read_mtx(path, dtype);
  run_ranks(P, [&](const Comm& c) {
    dsla::MtxInfo info;
    auto A = dsla::dist::detail::read_mtx(c, path, dtype, &info, opt);
    const auto [lo, hi] = dsla::dist::contiguous_range(G.rows(), c.rank(), P);
    EXPECT_EQ(A.n_owned(), hi - lo);
    EXPECT_TRUE(at::equal(std::get<0>(at::sort(A.owned())), at::arange(lo, hi, at::kLong)));
    EXPECT_EQ(info.rows, G.rows());
    expect_same(A.gather_matrix(), G);
  });
}

TEST(DistReadMtx, ByteRangesMatchOneProcess) {
  DSLA_SKIP_WITHOUT_GLOO();
  // general real, symmetric real, symmetric pattern, symmetric integer, complex general,
  // complex Hermitian
  for (const char* name :
       {"arc130.mtx", "bcsstk03.mtx", "G51.mtx", "gr_30_30.mtx", "young1c.mtx", "mhd1280b.mtx"}) {
    if (!std::filesystem::exists(data(name))) continue;
    for (int P = 1; P <= 4; ++P) {
      SCOPED_TRACE(std::string(name) + " P=" + std::to_string(P));
      expect_read(data(name), P);
    }
  }
  SCOPED_TRACE("float32");
  expect_read(data("bcsstk03.mtx"), 3, {}, at::kFloat);
}

TEST(DistReadMtx, StreamedByRankZeroMatchesOneProcess) {
  DSLA_SKIP_WITHOUT_GLOO();
  MtxReadOptions stream;
  stream.stream = true;
  stream.piece = 97;  // many rounds
  for (const char* name : {"bcsstk03.mtx", "young1c.mtx", "G51.mtx"}) {
    for (int P : {1, 3}) {
      SCOPED_TRACE(std::string(name) + " P=" + std::to_string(P));
      expect_read(data(name), P, stream);
    }
  }
  // A compressed file (written by dsla) streams without being asked.
  const auto dir = std::filesystem::temp_directory_path() / "dsla_dist_read_mtx";
  std::filesystem::create_directories(dir);
  const std::string gz = (dir / "bcsstk03.mtx.gz").string();
  dsla::write_mtx(dsla::read_mtx(data("bcsstk03.mtx")), gz, "symmetric");
  MtxReadOptions small;
  small.piece = 64;
  for (int P = 1; P <= 4; ++P) expect_read(gz, P, small);
  expect_read(gz, 2);
  // An array file (symmetric storage: the lower triangle, column-major).
  const std::string arr = temp_file("array.mtx",
                                    "%%MatrixMarket matrix array real symmetric\n3 3\n"
                                    "4\n-1\n0\n4\n-1\n4\n");
  for (int P = 1; P <= 4; ++P) expect_read(arr, P);
}

TEST(DistReadMtx, MoreRanksThanRows) {
  DSLA_SKIP_WITHOUT_GLOO();
  const std::string path = temp_file("tiny.mtx",
                                     "%%MatrixMarket matrix coordinate real symmetric\n"
                                     "% a comment\n3 3 4\n1 1 2\n\n2 1 -1\n2 2 2\n3 3 2");
  MtxReadOptions stream;
  stream.stream = true;
  expect_read(path, 4);
  expect_read(path, 4, stream);
}

// Every rank's message (backtrace cut off).
std::vector<std::string> errors(int P, const std::string& path, const MtxReadOptions& opt = {},
                                at::ScalarType dtype = at::kDouble) {
  auto msgs = dsla_test::run_ranks_errors(
      P, [&](const Comm& c) { dsla::dist::detail::read_mtx(c, path, dtype, nullptr, opt); },
      std::chrono::seconds(20));
  for (auto& m : msgs) m = m.substr(0, m.find("\nException raised"));
  return msgs;
}

std::string one_process_error(const std::string& path, at::ScalarType dtype = at::kDouble) {
  try {
    dsla::read_mtx(path, dtype);
  } catch (const c10::ValueError& e) {
    return e.what_without_backtrace();
  }
  return "(no error)";
}

// A general n x n file with one entry per line "i i v" (+ off-diagonals), `bad` replacing line k.
std::string general_file(int n, int64_t declared, int bad_entry, const std::string& bad) {
  std::ostringstream s;
  s << "%%MatrixMarket matrix coordinate real general\n% comment\n"
    << n << " " << n << " " << declared << "\n";
  for (int k = 0; k < n; ++k) {
    if (k == n / 2) s << "% a comment line inside the entries\n\n";
    s << (k == bad_entry ? bad : std::to_string(k + 1) + " " + std::to_string(k + 1) + " 4.5")
      << "\n";
  }
  return s.str();
}

void expect_one_process_error_everywhere(const std::string& path, const std::string& expect_in,
                                         at::ScalarType dtype = at::kDouble) {
  const std::string ref = one_process_error(path, dtype);
  ASSERT_NE(ref.find(expect_in), std::string::npos) << ref;
  MtxReadOptions stream;
  stream.stream = true;
  stream.piece = 5;
  for (int P = 1; P <= 4; ++P) {
    for (bool streamed : {false, true}) {
      SCOPED_TRACE("P=" + std::to_string(P) + (streamed ? " streamed" : " ranges"));
      const auto msgs = errors(P, path, streamed ? stream : MtxReadOptions{}, dtype);
      for (int r = 0; r < P; ++r) EXPECT_EQ(msgs[r], ref) << "rank " << r;
    }
  }
}

TEST(DistReadMtx, ABadLineRaisesTheOneProcessErrorOnEveryRank) {
  DSLA_SKIP_WITHOUT_GLOO();
  // The bad line near the end: only the last rank's range holds it.
  expect_one_process_error_everywhere(
      temp_file("bad_token.mtx", general_file(40, 40, 37, "38 38 x")), "line 43");
  expect_one_process_error_everywhere(temp_file("bad_index.mtx", general_file(40, 40, 3, "0 1 1")),
                                      "1-based");
  // Two bad lines: the first in file order wins.
  std::string two = general_file(40, 40, 30, "31 31 1 1");
  two.replace(two.find("\n3 3 4.5\n"), 9, "\n3 3 nan\n");
  expect_one_process_error_everywhere(temp_file("two_bad.mtx", two), "not finite");
  // Fewer and more entries than declared.
  expect_one_process_error_everywhere(temp_file("short.mtx", general_file(40, 45, -1, "")),
                                      "ends after 40 of the 45");
  expect_one_process_error_everywhere(temp_file("long.mtx", general_file(40, 30, -1, "")),
                                      "more entries than the 30");
  // A surplus line that is also malformed: the surplus is reported (the line is not parsed).
  expect_one_process_error_everywhere(temp_file("long_bad.mtx", general_file(40, 30, 30, "zz")),
                                      "more entries than the 30");
  // Symmetric storage with entries on both sides of the diagonal, far apart.
  std::ostringstream sym;
  sym << "%%MatrixMarket matrix coordinate real symmetric\n40 40 41\n";
  for (int k = 1; k <= 40; ++k) sym << k << " " << k << " 2\n";
  sym << "3 5 -1\n";
  std::string s = sym.str();
  s.replace(s.find("\n2 2 2\n"), 7, "\n5 3 -1\n");
  expect_one_process_error_everywhere(temp_file("both_sides.mtx", s), "one triangle only");
  // A value beyond float32, asked for as float32: reported after the parse found nothing wrong.
  expect_one_process_error_everywhere(temp_file("big.mtx", general_file(40, 40, 35, "36 36 1e300")),
                                      "beyond the float32 range", at::kFloat);
}

TEST(DistReadMtx, BadArgumentsAndFilesRaiseOnEveryRank) {
  DSLA_SKIP_WITHOUT_GLOO();
  for (const auto& m : errors(3, "/nonexistent/file.mtx")) {
    EXPECT_NE(m.find("cannot open the file"), std::string::npos) << m;
  }
  const std::string rect =
      temp_file("rect.mtx", "%%MatrixMarket matrix coordinate real general\n2 3 1\n1 3 1\n");
  for (const auto& m : errors(2, rect)) {
    EXPECT_NE(m.find("a distributed matrix is square"), std::string::npos) << m;
    EXPECT_NE(m.find("line 2"), std::string::npos) << m;
  }
  for (const auto& m : errors(2, data("bcsstk03.mtx"), {}, at::kInt)) {
    EXPECT_NE(m.find("argument 'dtype'"), std::string::npos) << m;
  }
}

}  // namespace
