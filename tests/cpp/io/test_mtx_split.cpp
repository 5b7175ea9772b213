// The byte-range pieces of the parallel read (io/mtx_split.h), torch-free: splitting a file's
// entry section at every byte hands each line to exactly one range, the ranges' entries in order
// are the one-process parse's, local line numbers add up to the file's, the header knows where
// the entries start, and pieces handed to a sink concatenate to the whole parse.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/mtx_format.h"
#include "io/mtx_split.h"

namespace fs = std::filesystem;
using dsla::mtx::Coo;

namespace {

std::string write(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / "dsla_mtx_split_tests";
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

void append(Coo& to, const Coo& from) {
  to.row.insert(to.row.end(), from.row.begin(), from.row.end());
  to.col.insert(to.col.end(), from.col.begin(), from.col.end());
  to.re.insert(to.re.end(), from.re.begin(), from.re.end());
  to.im.insert(to.im.end(), from.im.begin(), from.im.end());
}

void expect_same(const Coo& a, const Coo& b) {
  EXPECT_EQ(a.row, b.row);
  EXPECT_EQ(a.col, b.col);
  EXPECT_EQ(a.re, b.re);
  EXPECT_EQ(a.im, b.im);
}

// Comments, blank lines, CRLF, a long line, and no newline at the end.
const char* kText =
    "%%MatrixMarket matrix coordinate complex hermitian\r\n% c\n\n4 4 6\n1 1 2 0\n% inside\n"
    "2 1 -1.5 0.25\r\n\n3 2    7e-3   -1\n3 3 1 0\n4 1 0.125 0.5\n   4 4 9 0";

TEST(MtxSplit, EverySplitPointGivesEachLineToOneRange) {
  const std::string path = write("split.mtx", kText);
  const Coo whole = dsla::mtx::read_file(path);
  const auto fi = dsla::mtx::read_file_info(path);
  EXPECT_FALSE(fi.compressed);
  EXPECT_EQ(fi.header.size_line, 4);
  EXPECT_EQ(std::string(kText).substr(fi.header.body_offset, 8), "1 1 2 0\n");
  const int64_t size = fi.size, body = fi.header.body_offset;
  for (int64_t cut1 = body; cut1 <= size; ++cut1) {
    for (int64_t cut2 = cut1; cut2 <= size; cut2 += 3) {
      Coo all;
      int64_t lines = 0, data = 0;
      for (auto [b, e] : {std::pair{body, cut1}, std::pair{cut1, cut2}, std::pair{cut2, size}}) {
        const auto r = dsla::mtx::parse_file_range(path, fi.header, b, e);
        EXPECT_EQ(r.error_line, -1) << r.error;
        append(all, r.entries);
        lines += r.lines;
        data += r.data;
      }
      SCOPED_TRACE("cuts " + std::to_string(cut1) + " " + std::to_string(cut2));
      expect_same(all, whole);
      EXPECT_EQ(lines, 8);  // the lines after the size line
      EXPECT_EQ(data, 6);
    }
  }
}

TEST(MtxSplit, LocalLinesErrorsAndSides) {
  const std::string text =
      "%%MatrixMarket matrix coordinate real symmetric\n3 3 4\n2 1 1\n% c\n\n3 3 x\n1 2 1\n";
  const std::string path = write("sides.mtx", text);
  const auto fi = dsla::mtx::read_file_info(path);
  const auto r = dsla::mtx::parse_file_range(path, fi.header, fi.header.body_offset, fi.size);
  EXPECT_EQ(r.lines, 5);
  EXPECT_EQ(r.data, 3);
  EXPECT_EQ(r.error_line, 4);
  EXPECT_EQ(r.error_data, 1);
  EXPECT_NE(r.error.find("'x'"), std::string::npos) << r.error;
  EXPECT_EQ(r.below.line, 1);   // before the error: recorded
  EXPECT_EQ(r.above.line, -1);  // after it: counted only
  EXPECT_EQ(r.line_of(0), 1);
  EXPECT_EQ(r.line_of(1), 4);
  EXPECT_EQ(r.line_of(2), 5);
  EXPECT_THROW(dsla::mtx::parse_file_range(path, fi.header, 0, fi.size), std::invalid_argument);
}

TEST(MtxSplit, PiecesConcatenateToTheWholeParse) {
  const std::string path = write("pieces.mtx", kText);
  const Coo whole = dsla::mtx::read_file(path);
  for (size_t piece : {1, 2, 5, 100}) {
    Coo all;
    int calls = 0;
    dsla::mtx::read_file_chunks(path, piece, [&](Coo& c) {
      EXPECT_LE(c.nnz(), piece + 1);
      append(all, c);
      ++calls;
    });
    expect_same(all, whole);
    EXPECT_GE(calls, 1);
  }
  // An error after some pieces were handed over still throws the one-process error.
  const std::string bad = write("pieces_bad.mtx",
                                "%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n"
                                "2 2 1\n1 2 q\n");
  EXPECT_THROW(dsla::mtx::read_file_chunks(bad, 1, [](Coo&) {}), dsla::mtx::MtxError);
}

}  // namespace
