// `dsla info`'s torch-free report (kernels/cpu/coo_summary, cli/info_report): figures on small
// matrices by hand, a huge declared shape with three entries (no O(rows) work or memory), the
// float32 rules, and printing of any name and any size.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "cli/info_report.h"
#include "cli/text.h"
#include "io/mtx_format.h"
#include "kernels/cpu/coo_summary.h"

namespace {

const char* kBanner = "%%MatrixMarket matrix coordinate real general\n";

dsla::cli::InfoReport report(const std::string& text, bool single = false) {
  return dsla::cli::info_report(dsla::mtx::parse(text, "t.mtx"), single, "t.mtx");
}

}  // namespace

TEST(InfoReport, FiguresOfASmallMatrix) {
  // [[4, -1, 0], [-1, 4, -3], [0, -1, 0]] with (1, 1) given as 3 + 1 (duplicates are summed).
  const auto r = report(std::string(kBanner) +
                        "3 3 8\n1 1 3\n1 2 -1\n2 1 -1\n2 2 4\n2 3 -3\n3 2 -1\n1 1 1\n3 3 0\n");
  const auto& s = r.summary;
  EXPECT_EQ(s.nnz, 7);  // the stored zero counts
  EXPECT_EQ(s.row_nnz_min, 2);
  EXPECT_EQ(s.row_nnz_max, 3);
  EXPECT_TRUE(s.pattern_symmetric);
  EXPECT_FALSE(s.symmetric);  // a_23 = -3, a_32 = -1
  EXPECT_EQ(s.dominant_rows, 2);
  EXPECT_EQ(s.strictly_dominant_rows, 1);
  EXPECT_EQ(s.zero_diagonals, 1);
  EXPECT_DOUBLE_EQ(s.norm_fro, std::sqrt(16.0 + 1 + 1 + 16 + 9 + 1));
  EXPECT_EQ(r.dtype, "torch.float64");
  EXPECT_FALSE(r.index64);
}

TEST(InfoReport, HermitianIsSymmetricAndPatternsAreOnes) {
  const auto h = report(
      "%%MatrixMarket matrix coordinate complex hermitian\n2 2 2\n1 1 2 0\n2 1 1 -1\n", true);
  EXPECT_TRUE(h.summary.symmetric);
  EXPECT_EQ(h.dtype, "torch.complex64");
  EXPECT_EQ(h.value_bytes, 8);
  const auto p = report("%%MatrixMarket matrix coordinate pattern general\n2 3 2\n1 3\n2 2\n");
  EXPECT_FALSE(p.summary.pattern_symmetric);  // not square
  EXPECT_EQ(p.summary.dominant_rows, 0);      // no diagonal figures for a rectangle
  EXPECT_DOUBLE_EQ(p.summary.norm_fro, std::sqrt(2.0));
}

TEST(InfoReport, HugeDeclaredShapeCostsItsEntriesOnly) {
  // 10^12 x 10^12 with three entries: the figures for 10^12 rows, computed in microseconds (an
  // O(rows) pass or array would take hours and terabytes).
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = report(std::string(kBanner) +
                        "1000000000000 1000000000000 3\n1 1 1\n2 2 -2\n1000000000000 1 5\n");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
  const auto& s = r.summary;
  EXPECT_EQ(s.nnz, 3);
  EXPECT_EQ(s.row_nnz_min, 0);
  EXPECT_EQ(s.row_nnz_max, 1);
  EXPECT_EQ(s.dominant_rows, 1000000000000 - 1);  // the last row: 0 >= 5 fails
  EXPECT_EQ(s.strictly_dominant_rows, 2);
  EXPECT_EQ(s.zero_diagonals, 1000000000000 - 2);
  EXPECT_FALSE(s.pattern_symmetric);
  EXPECT_TRUE(r.index64);
  const std::string text = dsla::cli::format_info(r, "huge.mtx", false);
  EXPECT_NE(text.find("shape       1000000000000 x 1000000000000"), std::string::npos) << text;
  EXPECT_NE(text.find("memory      8000000.0 MB (CSR)"), std::string::npos) << text;
}

TEST(InfoReport, AnySizeAndAnyNamePrintValidJson) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  dsla::cli::InfoReport r;
  r.rows = r.cols = big;  // (rows + 1) * 8 bytes overflows int64: printed as a number anyway
  r.dtype = "torch.float64";
  r.index64 = true;
  r.summary.norm_fro = std::numeric_limits<double>::infinity();
  const std::string json = dsla::cli::format_info(r, std::string("a\xff\"b\n", 5), true);
  EXPECT_NE(json.find("\"matrix\": \"a\\\\xff\\\"b\\n\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"norm_fro\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"bytes\": 7378697629483820"), std::string::npos) << json;  // 8 * 2^63
  EXPECT_EQ(json.find('\n'), json.size() - 1);
  EXPECT_EQ(dsla::mtx::printable(json, true), json);
  EXPECT_EQ(dsla::cli::shown("x\xfe"), "x\\xfe");
}

TEST(InfoReport, Float32RangeIsCheckedAsReadMtxChecksIt) {
  const std::string text = std::string(kBanner) + "2 2 1\n1 1 1e300\n";
  EXPECT_DOUBLE_EQ(report(text).summary.norm_fro, 1e300);
  try {
    report(text, true);
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("float32"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("t.mtx"), std::string::npos) << e.what();
  }
  // Values that only overflow once squared still give a finite norm.
  const auto r = report(std::string(kBanner) + "2 2 2\n1 1 1e200\n2 2 1e200\n");
  EXPECT_DOUBLE_EQ(r.summary.norm_fro, std::sqrt(2.0) * 1e200);
}
