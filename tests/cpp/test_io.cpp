// read_mtx / write_mtx / read_mtx_info: the torch side (dtype choice, expansion into a
// SparseMatrix, errors as c10::ValueError). The format itself is tested torch-free in
// tests/cpp/io/test_mtx_format.cpp.
#include <gtest/gtest.h>

#include <dsla/io.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>

namespace {

std::string data(const std::string& name) {
  return std::string(DSLA_DATA_DIR) + "/" + name;
}

std::string tmp(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "dsla_io_tests";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = tmp(name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(IO, ReadsSymmetricRealExpanded) {
  dsla::MtxInfo info;
  const dsla::SparseMatrix A = dsla::read_mtx(data("bcsstk03.mtx"), at::kDouble, &info);
  EXPECT_EQ(A.rows(), 112);
  EXPECT_EQ(A.cols(), 112);
  EXPECT_EQ(A.nnz(), 640);
  EXPECT_EQ(A.dtype(), at::kDouble);
  EXPECT_EQ(info.symmetry, "symmetric");
  EXPECT_EQ(info.entries, 376);
  const at::Tensor D = A.to_dense();
  EXPECT_TRUE(at::equal(D, D.t()));
}

TEST(IO, DtypeRules) {
  EXPECT_EQ(dsla::read_mtx(data("bcsstk03.mtx"), at::kFloat).dtype(), at::kFloat);
  EXPECT_EQ(dsla::read_mtx(data("young1c.mtx")).dtype(), at::kComplexDouble);
  EXPECT_EQ(dsla::read_mtx(data("young1c.mtx"), at::kFloat).dtype(), at::kComplexFloat);
  EXPECT_EQ(dsla::read_mtx(data("G51.mtx")).nnz(), 11818);
  EXPECT_THROW(dsla::read_mtx(data("bcsstk03.mtx"), at::kInt), c10::ValueError);
}

TEST(IO, HermitianIsExpandedConjugated) {
  const at::Tensor D = dsla::read_mtx(data("mhd1280b.mtx")).to_dense();
  EXPECT_TRUE(at::equal(D, D.conj().t().resolve_conj()));
}

TEST(IO, RoundTripPlainAndGzip) {
  for (const char* name : {"bcsstk03.mtx", "young1c.mtx", "zenios.mtx"}) {
    const dsla::SparseMatrix A = dsla::read_mtx(data(name));
    for (const char* suffix : {".mtx", ".mtx.gz"}) {
      const std::string out = tmp(std::string("rt_") + name + suffix);
      dsla::write_mtx(A, out);
      const dsla::SparseMatrix B = dsla::read_mtx(out);
      EXPECT_EQ(B.nnz(), A.nnz()) << name;
      EXPECT_TRUE(at::equal(B.to_dense(), A.to_dense())) << name << suffix;
    }
  }
  const dsla::SparseMatrix S = dsla::read_mtx(data("bcsstk03.mtx"));
  const std::string sym = tmp("sym.mtx");
  dsla::write_mtx(S, sym, "symmetric");
  EXPECT_EQ(dsla::read_mtx_info(sym).entries, 376);
  EXPECT_TRUE(at::equal(dsla::read_mtx(sym).to_dense(), S.to_dense()));
}

TEST(IO, ErrorsAreValueErrorsWithTheLine) {
  const std::string bad =
      write_text("bad.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n1 9 1\n");
  try {
    dsla::read_mtx(bad);
    ADD_FAILURE();
  } catch (const c10::ValueError& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("line 4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bad.mtx"), std::string::npos) << msg;
  }
  EXPECT_THROW(dsla::read_mtx(tmp("missing.mtx")), c10::ValueError);
  EXPECT_THROW(dsla::read_mtx_info(tmp("missing.mtx")), c10::ValueError);
  const dsla::SparseMatrix N = dsla::read_mtx(data("hor_131.mtx"));
  EXPECT_THROW(dsla::write_mtx(N, tmp("n.mtx"), "symmetric"), c10::ValueError);
  EXPECT_THROW(dsla::write_mtx(N, tmp("n.mtx"), "upper"), c10::ValueError);
  const auto row = at::tensor({0, 1}, at::kLong), col = at::tensor({0, 1}, at::kLong);
  const auto batched =
      dsla::SparseMatrix::from_coo(row, col, at::ones({3, 2}, at::kDouble), {2, 2});
  EXPECT_THROW(dsla::write_mtx(batched, tmp("b.mtx")), c10::ValueError);
}

TEST(IO, HugeDeclaredShapeWithFewEntries) {
  // Valid: 10^7 x 10^7 with 3 entries builds its row pointer and nothing else of that length.
  const std::string ok =
      write_text("huge_ok.mtx",
                 "%%MatrixMarket matrix coordinate real general\n10000000 10000000 3\n"
                 "1 1 1\n10000000 10000000 2\n5 1 3\n");
  const dsla::SparseMatrix A = dsla::read_mtx(ok);
  EXPECT_EQ(A.rows(), 10000000);
  EXPECT_EQ(A.nnz(), 3);
  EXPECT_EQ(A.crow_indices()[4].item<int64_t>(), 1);
  EXPECT_EQ(A.crow_indices()[5].item<int64_t>(), 2);
  EXPECT_EQ(A.crow_indices()[10000000].item<int64_t>(), 3);
  EXPECT_EQ(A.col_indices()[1].item<int64_t>(), 0);
  // 10^12 rows need 8 TB of row pointer: refused before any allocation, naming the file and the
  // size line, as a ValueError (torch's allocator message named neither).
  const std::string huge = write_text("huge_no.mtx",
                                      "%%MatrixMarket matrix coordinate real general\n% c\n"
                                      "1000000000000 1000000000000 1\n1 1 1\n");
  try {
    dsla::read_mtx(huge);
    ADD_FAILURE();
  } catch (const c10::ValueError& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("huge_no.mtx', line 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("row pointer"), std::string::npos) << msg;
  }
  // What `dsla info` reads of it is only the header.
  EXPECT_EQ(dsla::read_mtx_info(huge).rows, 1000000000000);
}

TEST(IO, DirectoriesAndOddNames) {
  try {
    dsla::read_mtx(std::filesystem::temp_directory_path().string());
    ADD_FAILURE();
  } catch (const c10::ValueError& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("is a directory"), std::string::npos)
        << e.what_without_backtrace();
  }
  // A file name that is not UTF-8 round-trips; errors show it escaped.
  const dsla::SparseMatrix A = dsla::read_mtx(data("bcsstk03.mtx"));
  const std::string odd = tmp("m\xff\xfe.mtx.gz");
  dsla::write_mtx(A, odd);
  EXPECT_TRUE(at::equal(dsla::read_mtx(odd).to_dense(), A.to_dense()));
  const std::string bad = write_text("b\xff.mtx", "%%MatrixMarket matrix coordinate real x\xff\n");
  try {
    dsla::read_mtx(bad);
    ADD_FAILURE();
  } catch (const c10::ValueError& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("b\\xff.mtx', line 1: unknown symmetry 'x\\xff'"), std::string::npos) << msg;
  }
}
