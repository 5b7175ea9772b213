// Matrix Market parser and writer (torch-free): the real matrices under DSLA_DATA_DIR, symmetric
// expansion, array storage, write -> read round trips, and a malformed file per error path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <tuple>
#include <utility>

#include <zlib.h>

#include "../../fuzz/mtx_properties.h"  // ChunkedText
#include "io/mtx_format.h"

namespace fs = std::filesystem;
using dsla::mtx::Coo;
using dsla::mtx::Field;
using dsla::mtx::Format;
using dsla::mtx::MtxError;
using dsla::mtx::Symmetry;

namespace {

std::string data(const std::string& name) {
  return std::string(DSLA_DATA_DIR) + "/" + name;
}

std::string tmp(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "dsla_mtx_tests";
  fs::create_directories(dir);
  return (dir / name).string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The MtxError that `f` throws (a failure when it throws none).
template <class F>
MtxError error_of(F&& f) {
  try {
    f();
  } catch (const MtxError& e) {
    return e;
  }
  ADD_FAILURE() << "no MtxError";
  return MtxError("", 0, "");
}

// Entries as sorted (row, col, re, im) tuples: order-independent comparison.
using Entry = std::tuple<int64_t, int64_t, double, double>;
std::vector<Entry> sorted(const Coo& a) {
  std::vector<Entry> e;
  for (size_t k = 0; k < a.nnz(); ++k) {
    e.emplace_back(a.row[k], a.col[k], a.re.empty() ? 1.0 : a.re[k], a.im.empty() ? 0.0 : a.im[k]);
  }
  std::sort(e.begin(), e.end());
  return e;
}

// The error `text` raises, checked for its line and a phrase of its message.
void expect_error(const std::string& text, int64_t line, const std::string& phrase) {
  try {
    dsla::mtx::parse(text, "bad.mtx");
    ADD_FAILURE() << "no error for:\n" << text;
  } catch (const MtxError& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos)
        << "message: " << e.what() << "\nwanted: " << phrase;
    EXPECT_NE(std::string(e.what()).find("bad.mtx"), std::string::npos) << e.what();
    if (line > 0) {
      EXPECT_NE(std::string(e.what()).find("line " + std::to_string(line)), std::string::npos)
          << e.what();
    }
  }
}

const char* kBanner = "%%MatrixMarket matrix coordinate real general\n";

}  // namespace

// ------------------------------------------------------------------ the shared real matrices

struct DataCase {
  const char* file;
  int64_t rows, cols, expanded;
  Field field;
  Symmetry symmetry;
};

class MtxData : public ::testing::TestWithParam<DataCase> {};

TEST_P(MtxData, ParsesWithIndexSizes) {
  const DataCase& c = GetParam();
  if (!fs::exists(data(c.file))) GTEST_SKIP() << c.file << " is not in " << DSLA_DATA_DIR;
  const Coo a = dsla::mtx::read_file(data(c.file));
  EXPECT_EQ(a.header.rows, c.rows);
  EXPECT_EQ(a.header.cols, c.cols);
  EXPECT_EQ(static_cast<int64_t>(a.nnz()), c.expanded);
  EXPECT_EQ(a.header.field, c.field);
  EXPECT_EQ(a.header.symmetry, c.symmetry);
  ASSERT_EQ(a.col.size(), a.nnz());
  EXPECT_EQ(a.re.size(), c.field == Field::kPattern ? 0u : a.nnz());
  EXPECT_EQ(a.im.size(), c.field == Field::kComplex ? a.nnz() : 0u);
  for (size_t k = 0; k < a.nnz(); ++k) {
    ASSERT_TRUE(a.row[k] >= 0 && a.row[k] < c.rows && a.col[k] >= 0 && a.col[k] < c.cols);
  }
  // The header-only reader agrees with the full one.
  const dsla::mtx::Header h = dsla::mtx::read_header(data(c.file));
  EXPECT_EQ(h.rows, c.rows);
  EXPECT_EQ(h.entries, a.header.entries);
}

TEST_P(MtxData, WriteReadRoundTripIsExact) {
  const DataCase& c = GetParam();
  if (!fs::exists(data(c.file))) GTEST_SKIP() << c.file << " is not in " << DSLA_DATA_DIR;
  const Coo a = dsla::mtx::read_file(data(c.file));
  dsla::mtx::WriteOptions opt;
  opt.field = c.field == Field::kInteger ? Field::kReal : c.field;
  const Coo b = dsla::mtx::parse(
      dsla::mtx::format(a.header.rows, a.header.cols, a.row, a.col, a.re, a.im, opt));
  EXPECT_EQ(a.row, b.row);
  EXPECT_EQ(a.col, b.col);
  EXPECT_EQ(a.re, b.re);  // bit-exact: the writer prints round-trip digits
  EXPECT_EQ(a.im, b.im);
  if (c.symmetry != Symmetry::kGeneral) {
    // Written back with its own symmetry: the lower triangle only, same expanded matrix.
    opt.symmetry = c.symmetry;
    const std::string text =
        dsla::mtx::format(a.header.rows, a.header.cols, a.row, a.col, a.re, a.im, opt);
    const Coo s = dsla::mtx::parse(text);
    EXPECT_EQ(s.header.entries, a.header.entries);
    EXPECT_EQ(sorted(s), sorted(a));
  }
}

INSTANTIATE_TEST_SUITE_P(
    SharedData, MtxData,
    ::testing::Values(
        DataCase{"bcsstk03.mtx", 112, 112, 640, Field::kReal, Symmetry::kSymmetric},
        DataCase{"gr_30_30.mtx", 900, 900, 7744, Field::kInteger, Symmetry::kSymmetric},
        DataCase{"sherman1.mtx", 1000, 1000, 3750, Field::kReal, Symmetry::kSymmetric},
        DataCase{"hor_131.mtx", 434, 434, 4710, Field::kReal, Symmetry::kGeneral},
        DataCase{"orsirr_1.mtx", 1030, 1030, 6858, Field::kReal, Symmetry::kGeneral},
        DataCase{"sherman5.mtx", 3312, 3312, 20793, Field::kReal, Symmetry::kGeneral},
        DataCase{"neumann_poisson4009.mtx", 4009, 4009, 66697, Field::kReal, Symmetry::kSymmetric},
        DataCase{"neumann_aniso3d7816.mtx", 7816, 7816, 105364, Field::kReal, Symmetry::kGeneral},
        DataCase{"494_bus.mtx", 494, 494, 1666, Field::kReal, Symmetry::kSymmetric},
        DataCase{"662_bus.mtx", 662, 662, 2474, Field::kReal, Symmetry::kSymmetric},
        DataCase{"bcsstk08.mtx", 1074, 1074, 12960, Field::kReal, Symmetry::kSymmetric},
        DataCase{"bcsstk09.mtx", 1083, 1083, 18437, Field::kReal, Symmetry::kSymmetric},
        DataCase{"bcsstk13.mtx", 2003, 2003, 83883, Field::kReal, Symmetry::kSymmetric},
        DataCase{"bcsstk16.mtx", 4884, 4884, 290378, Field::kReal, Symmetry::kSymmetric},
        DataCase{"tumorAntiAngiogenesis_2.mtx", 305, 305, 2699, Field::kReal, Symmetry::kSymmetric},
        DataCase{"hangGlider_2.mtx", 1647, 1647, 14754, Field::kReal, Symmetry::kSymmetric},
        DataCase{"zenios.mtx", 2873, 2873, 27191, Field::kReal, Symmetry::kSymmetric},
        DataCase{"arc130.mtx", 130, 130, 1282, Field::kReal, Symmetry::kGeneral},
        DataCase{"impcol_a.mtx", 207, 207, 572, Field::kReal, Symmetry::kGeneral},
        DataCase{"olm1000.mtx", 1000, 1000, 3996, Field::kReal, Symmetry::kGeneral},
        DataCase{"cage8.mtx", 1015, 1015, 11003, Field::kReal, Symmetry::kGeneral},
        DataCase{"rajat19.mtx", 1157, 1157, 5399, Field::kReal, Symmetry::kGeneral},
        DataCase{"watt_2.mtx", 1856, 1856, 11550, Field::kReal, Symmetry::kGeneral},
        DataCase{"add32.mtx", 4960, 4960, 23884, Field::kReal, Symmetry::kGeneral},
        DataCase{"bayer10.mtx", 13436, 13436, 94926, Field::kReal, Symmetry::kGeneral},
        DataCase{"young1c.mtx", 841, 841, 4089, Field::kComplex, Symmetry::kGeneral},
        DataCase{"mhd1280b.mtx", 1280, 1280, 22778, Field::kComplex, Symmetry::kHermitian},
        DataCase{"G51.mtx", 1000, 1000, 11818, Field::kPattern, Symmetry::kSymmetric}),
    [](const ::testing::TestParamInfo<DataCase>& info) {
      std::string n = info.param.file;
      n = n.substr(0, n.find('.'));
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

TEST(MtxDataFiles, EveryFileInTheDataDirectoryParses) {
  int files = 0;
  for (const auto& f : fs::directory_iterator(DSLA_DATA_DIR)) {
    if (f.path().extension() != ".mtx") continue;
    EXPECT_NO_THROW(dsla::mtx::read_file(f.path().string())) << f.path();
    ++files;
  }
  EXPECT_GE(files, 16);  // the repository's data/ (more where ../shared/data is merged in)
}

TEST(MtxDataFiles, ChunkedReadingGivesTheSameEntries) {
  // The streaming reader against the in-memory parser, with chunks of 1 to 16 bytes so that
  // lines straddle chunks everywhere, with and without a bound on what remains.
  for (const char* name : {"bcsstk03.mtx", "young1c.mtx", "mhd1280b.mtx", "G51.mtx"}) {
    const std::string text = slurp(data(name));
    const Coo a = dsla::mtx::parse(text, name);
    for (const bool hint : {false, true}) {
      dsla::mtx::testing::ChunkedText src(text, 7, hint);
      const Coo b = dsla::mtx::parse(src, name);
      EXPECT_EQ(a.row, b.row) << name;
      EXPECT_EQ(a.col, b.col) << name;
      EXPECT_EQ(a.re, b.re) << name;
      EXPECT_EQ(a.im, b.im) << name;
      // Storage follows the entries: at most twice what they need, whatever was declared.
      EXPECT_LE(b.row.capacity(), 2 * b.row.size() + 4096) << name;
    }
  }
}

TEST(MtxDataFiles, ZeniosKeepsExplicitZeros) {
  const Coo a = dsla::mtx::read_file(data("zenios.mtx"));
  const auto nonzero = std::count_if(a.re.begin(), a.re.end(), [](double v) { return v != 0; });
  EXPECT_EQ(nonzero, 1314);  // INDEX.md: 1,314 numeric nonzeros expanded
  EXPECT_EQ(a.nnz(), 27191u);
}

TEST(MtxDataFiles, HermitianFileIsConjugatedAcrossTheDiagonal) {
  const Coo a = dsla::mtx::read_file(data("mhd1280b.mtx"));
  const auto e = sorted(a);
  for (const auto& [i, j, re, im] : e) {
    const auto it = std::lower_bound(e.begin(), e.end(), Entry{j, i, -INFINITY, -INFINITY});
    ASSERT_TRUE(it != e.end() && std::get<0>(*it) == j && std::get<1>(*it) == i);
    EXPECT_EQ(std::get<2>(*it), re);
    EXPECT_EQ(std::get<3>(*it), -im);
  }
}

// ------------------------------------------------------------------ expansion and syntax

TEST(MtxParse, SymmetricSkewAndHermitianExpansion) {
  const Coo s = dsla::mtx::parse(
      "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 4\n2 1 -1\n3 2 2.5\n");
  EXPECT_EQ(sorted(s),
            (std::vector<Entry>{
                {0, 0, 4, 0}, {0, 1, -1, 0}, {1, 0, -1, 0}, {1, 2, 2.5, 0}, {2, 1, 2.5, 0}}));
  const Coo k = dsla::mtx::parse(
      "%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 3\n3 1 -5\n");
  EXPECT_EQ(sorted(k),
            (std::vector<Entry>{{0, 1, -3, 0}, {0, 2, 5, 0}, {1, 0, 3, 0}, {2, 0, -5, 0}}));
  const Coo h = dsla::mtx::parse(
      "%%MatrixMarket matrix coordinate complex hermitian\n2 2 3\n1 1 2 0\n2 1 1 3\n2 2 5 0\n");
  EXPECT_EQ(sorted(h),
            (std::vector<Entry>{{0, 0, 2, 0}, {0, 1, 1, -3}, {1, 0, 1, 3}, {1, 1, 5, 0}}));
  // A symmetric file may store the upper triangle instead (but not both: see the errors).
  const Coo u =
      dsla::mtx::parse("%%MatrixMarket matrix coordinate pattern symmetric\n3 3 2\n1 2\n2 3\n");
  EXPECT_EQ(u.nnz(), 4u);
  EXPECT_TRUE(u.re.empty());
}

TEST(MtxParse, ArrayFormat) {
  // Column-major: [[1, 3, 5], [2, 4, 6]].
  const Coo g =
      dsla::mtx::parse("%%MatrixMarket matrix array real general\n2 3\n1\n2\n3\n4\n5\n6\n");
  EXPECT_EQ(g.header.format, Format::kArray);
  EXPECT_EQ(g.header.entries, 6);
  EXPECT_EQ(g.row, (std::vector<int64_t>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(g.col, (std::vector<int64_t>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(g.re, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  // Symmetric: lower triangle by columns, zeros kept as stored entries.
  const Coo s =
      dsla::mtx::parse("%%MatrixMarket matrix array real symmetric\n3 3\n1\n2\n0\n4\n5\n6\n");
  EXPECT_EQ(s.header.entries, 6);
  EXPECT_EQ(sorted(s), (std::vector<Entry>{{0, 0, 1, 0},
                                           {0, 1, 2, 0},
                                           {0, 2, 0, 0},
                                           {1, 0, 2, 0},
                                           {1, 1, 4, 0},
                                           {1, 2, 5, 0},
                                           {2, 0, 0, 0},
                                           {2, 1, 5, 0},
                                           {2, 2, 6, 0}}));
  // Skew-symmetric: strict lower triangle, diagonal not stored.
  const Coo k = dsla::mtx::parse("%%MatrixMarket matrix array real skew-symmetric\n3 3\n1\n2\n3\n");
  EXPECT_EQ(
      sorted(k),
      (std::vector<Entry>{
          {0, 1, -1, 0}, {0, 2, -2, 0}, {1, 0, 1, 0}, {1, 2, -3, 0}, {2, 0, 2, 0}, {2, 1, 3, 0}}));
  const Coo h =
      dsla::mtx::parse("%%MatrixMarket matrix array complex hermitian\n2 2\n1 0\n2 -1\n3 0\n");
  EXPECT_EQ(sorted(h),
            (std::vector<Entry>{{0, 0, 1, 0}, {0, 1, 2, 1}, {1, 0, 2, -1}, {1, 1, 3, 0}}));
  // Degenerate shapes store nothing.
  EXPECT_EQ(dsla::mtx::parse("%%MatrixMarket matrix array real skew-symmetric\n1 1\n").nnz(), 0u);
  EXPECT_EQ(dsla::mtx::parse("%%MatrixMarket matrix array real general\n0 5\n").nnz(), 0u);
  // Found by the fuzzer: an empty array with 2^63-1 columns once made the reader scan them all.
  EXPECT_EQ(
      dsla::mtx::parse("%%MatrixMarket matrix array real general\n0 9223372036854775807\n").nnz(),
      0u);
}

TEST(MtxParse, TolerantSyntax) {
  // BOM, mixed-case banner, CRLF, tabs, comments and blank lines anywhere, '+' signs, exponents,
  // an underflowing value (becomes a denormal or zero), no final newline.
  const std::string text =
      "\xEF\xBB\xBF%%matrixmarket MATRIX Coordinate REAL General\r\n"
      "% a comment\r\n"
      "\r\n"
      "  % indented comment\n"
      "3 4\t3\r\n"
      "\n"
      "1 1 +1.5e+2\r\n"
      "% between entries\n"
      "\t2   4 -.25\r\n"
      "3 2 1e-320";
  const Coo a = dsla::mtx::parse(text);
  EXPECT_EQ(a.header.rows, 3);
  EXPECT_EQ(a.header.cols, 4);
  EXPECT_EQ(a.row, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(a.col, (std::vector<int64_t>{0, 3, 1}));
  EXPECT_EQ(a.re[0], 150.0);
  EXPECT_EQ(a.re[1], -0.25);
  EXPECT_GT(a.re[2], 0.0);
  EXPECT_LT(a.re[2], 1e-300);
  EXPECT_EQ(dsla::mtx::parse(std::string(kBanner) + "2 2 1\n1 1 1e-400\n").re[0], 0.0);
}

TEST(MtxParse, HugeDimensionsUseInt64) {
  const Coo a = dsla::mtx::parse(std::string(kBanner) +
                                 "3000000000 9000000000000 2\n3000000000 1 1\n1 9000000000000 2\n");
  EXPECT_EQ(a.header.rows, 3000000000LL);
  EXPECT_EQ(a.row[0], 2999999999LL);
  EXPECT_EQ(a.col[1], 8999999999999LL);
  // An array too large to count in 64 bits is refused, not wrapped.
  expect_error("%%MatrixMarket matrix array real general\n9000000000000 9000000000000\n", 2,
               "too large");
}

TEST(MtxParse, LyingSizeLineDoesNotAllocate) {
  // 10^15 entries declared, one present: a truncation error, not a giant allocation.
  expect_error(std::string(kBanner) + "5 5 1000000000000000\n1 1 1\n", 3, "ends after 1 of");
  expect_error("%%MatrixMarket matrix array real general\n100000000 100000000\n1\n", 3,
               "ends after 1 of");
}

TEST(MtxParse, LyingSizeLineInAFileFailsAtItsLastLine) {
  // 10^12 x 10^12 with 10^15 entries declared, two present: read from a file (plain and gzip,
  // the streaming path), it fails where the file ends, naming it, after reading 4 lines.
  const std::string text =
      std::string(kBanner) + "1000000000000 1000000000000 1000000000000000\n1 1 1\n2 2 1\n";
  const std::string plain = tmp("lying.mtx");
  write_text(plain, text);
  const std::string gz = tmp("lying.mtx.gz");
  {
    gzFile f = gzopen(gz.c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
  }
  for (const std::string& path : {plain, gz}) {
    const MtxError e = error_of([&] { dsla::mtx::read_file(path); });
    EXPECT_EQ(e.line(), 4) << e.what();
    EXPECT_NE(std::string(e.what()).find("ends after 2 of the 1000000000000000"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  // A huge shape with few entries is a valid file: the parser holds the entries only.
  const Coo a = dsla::mtx::parse(std::string(kBanner) +
                                 "1000000000000 1000000000000 2\n1 1 1\n1000000000000 2 1\n");
  EXPECT_EQ(a.nnz(), 2u);
  EXPECT_EQ(a.header.size_line, 2);
}

TEST(MtxParse, LineLongerThanTheLimitIsRefusedWithItsLine) {
  const std::string text = std::string(kBanner) + "% " +
                           std::string(static_cast<size_t>(dsla::mtx::kMaxLineBytes), 'x') +
                           "\n1 1 0\n";
  const MtxError mem = error_of([&] { dsla::mtx::parse(text, "long.mtx"); });
  EXPECT_EQ(mem.line(), 2);
  EXPECT_NE(std::string(mem.what()).find("longer than 16 MiB"), std::string::npos) << mem.what();
  const std::string path = tmp("long.mtx");
  write_text(path, text);
  const MtxError file = error_of([&] { dsla::mtx::read_file(path); });
  EXPECT_EQ(file.line(), 2);
  EXPECT_EQ(file.message(), mem.message());
  // Just at the limit is fine.
  const Coo ok = dsla::mtx::parse(
      std::string(kBanner) + "%" +
      std::string(static_cast<size_t>(dsla::mtx::kMaxLineBytes) - 1, 'x') + "\n1 1 0\n");
  EXPECT_EQ(ok.header.rows, 1);
}

// ------------------------------------------------------------------ malformed input

TEST(MtxPrintable, EscapesBytesThatAreNotUtf8) {
  using dsla::mtx::printable;
  EXPECT_EQ(printable("plain ascii"), "plain ascii");
  EXPECT_EQ(printable("a\xff"
                      "b"),
            "a\\xffb");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");            // UTF-8 stays
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(printable("\xe2\x9c"), "\\xe2\\x9c");                    // cut short
  EXPECT_EQ(printable(std::string("a\0\n\tb", 5)), "a\\x00\\x0a\\x09b");
  EXPECT_EQ(printable("a\n\tb", true), "a\n\tb");
}

TEST(MtxErrors, BytesThatAreNotUtf8AreEscapedInMessages) {
  // Each message is readable and valid UTF-8 (Python could not decode it otherwise).
  for (const auto& [text, phrase] : std::vector<std::pair<std::string, std::string>>{
           {"%%MatrixMarket matrix coordinate real gen\xffral\n1 1 0\n", "'gen\\xffral'"},
           {"%%MatrixMarket matrix coordinate re\xe9l general\n1 1 0\n", "'re\\xe9l'"},
           {"%%MatrixMarket matrix \xfe general real\n1 1 0\n", "'\\xfe'"},
           {"%%MatrixMarket \x80 coordinate real general\n1 1 0\n", "'\\x80'"},
           {std::string(kBanner) + "2 2 1\n1 1 \xc3\n", "'\\xc3'"}}) {
    const MtxError e = error_of([&] { dsla::mtx::parse(text, "n\xefme.mtx"); });
    const std::string msg = e.what();
    EXPECT_EQ(dsla::mtx::printable(msg), msg);
    EXPECT_NE(msg.find(phrase), std::string::npos) << msg;
    EXPECT_NE(msg.find("'n\\xefme.mtx'"), std::string::npos) << msg;
  }
}

TEST(MtxErrors, Banner) {
  expect_error("", 0, "empty");
  expect_error("\n\n", 1, "banner");
  expect_error("3 3 1\n1 1 1\n", 1, "expected the banner");
  expect_error("%MatrixMarket matrix coordinate real general\n1 1 0\n", 1, "expected the banner");
  expect_error("%%MatrixMarket matrix coordinate real\n1 1 0\n", 1, "4 words");
  expect_error("%%MatrixMarket matrix coordinate real general extra\n1 1 0\n", 1, "4 words");
  expect_error("%%MatrixMarket vector coordinate real general\n1 1 0\n", 1, "'vector'");
  expect_error("%%MatrixMarket matrix sparse real general\n1 1 0\n", 1, "unknown format 'sparse'");
  expect_error("%%MatrixMarket matrix coordinate double general\n1 1 0\n", 1,
               "unknown field 'double'");
  expect_error("%%MatrixMarket matrix coordinate real upper\n1 1 0\n", 1,
               "unknown symmetry 'upper'");
  expect_error("%%MatrixMarket matrix array pattern general\n1 1\n", 1, "'array pattern'");
  expect_error("%%MatrixMarket matrix coordinate pattern skew-symmetric\n1 1 0\n", 1,
               "not a valid combination");
  expect_error("%%MatrixMarket matrix coordinate real hermitian\n1 1 0\n", 1, "complex field");
}

TEST(MtxErrors, SizeLine) {
  expect_error(kBanner, 1, "expected the size line");
  expect_error(std::string(kBanner) + "% only comments\n\n", 3, "expected the size line");
  expect_error(std::string(kBanner) + "3 3\n", 2, "expected the entry count");
  expect_error(std::string(kBanner) + "3 3 1 1\n1 1 1\n", 2, "unexpected '1'");
  expect_error(std::string(kBanner) + "3 x 1\n1 1 1\n", 2, "column count (an integer), got 'x'");
  expect_error(std::string(kBanner) + "3 -3 1\n1 1 1\n", 2, "negative");
  expect_error(std::string(kBanner) + "3 3 99999999999999999999\n", 2, "64-bit");
  expect_error("%%MatrixMarket matrix coordinate real symmetric\n3 4 0\n", 2, "must be square");
  expect_error("%%MatrixMarket matrix array real general\n2 2 4\n", 2, "unexpected '4'");
}

TEST(MtxErrors, Entries) {
  const std::string h = std::string(kBanner) + "% c\n3 3 2\n";  // entries start on line 4
  expect_error(h + "1 1 1\n", 4, "ends after 1 of the 2 entries");
  expect_error(h + "1 1 1\n2 2", 5, "expected the value");
  expect_error(h + "1 1 1\n0 2 1\n", 5, "1-based");
  expect_error(h + "1 1 1\n-1 2 1\n", 5, "row index -1 is out of range");
  expect_error(h + "1 4 1\n2 2 1\n", 4, "column index 4 is out of range");
  expect_error(h + "1 1 1\n2 2 abc\n", 5, "got 'abc'");
  expect_error(h + "1 1 1\n2 2 1.0D+00\n", 5, "got '1.0D+00'");
  expect_error(h + "1.5 1 1\n2 2 1\n", 4, "row index (an integer), got '1.5'");
  expect_error(h + "1 1 1\n2 2 1 7\n", 5, "unexpected '7'");
  expect_error(h + "1 1 1\n2 2 1\n3 3 1\n", 6, "more entries than the 2");
  expect_error(h + "1 1 nan\n2 2 1\n", 4, "not finite");
  expect_error(h + "1 1 1\n2 2 -Inf\n", 5, "not finite");
  expect_error(h + "1 1 1e400\n2 2 1\n", 4, "not finite");
  expect_error(h + "1 1 1\n2 2 1\x01\n", 5, "\\x01");
  expect_error("%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 2.5\n", 3,
               "(an integer), got '2.5'");
  expect_error("%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 2.5\n", 3,
               "imaginary part");
  expect_error("%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1 2.5\n", 3,
               "unexpected '2.5'");
}

TEST(MtxErrors, SymmetryRules) {
  expect_error("%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 1\n1 3 1\n", 4,
               "line 3 has one below");
  expect_error("%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\n1 1 1\n", 3,
               "zero diagonal");
  expect_error("%%MatrixMarket matrix coordinate complex hermitian\n2 2 1\n2 2 1 1\n", 3,
               "real diagonal");
  expect_error("%%MatrixMarket matrix array complex hermitian\n2 2\n1 1\n2 0\n3 0\n", 3,
               "real diagonal");
  expect_error("%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n", 5, "ends after 3 of");
  expect_error("%%MatrixMarket matrix array real general\n1 1\n1\n2\n", 4, "more values");
}

TEST(MtxErrors, Files) {
  try {
    dsla::mtx::read_file(tmp("does_not_exist.mtx"));
    ADD_FAILURE();
  } catch (const MtxError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does_not_exist.mtx"), std::string::npos);
  }
  // A directory opens on Linux and fails only when read, with an unrelated message: say what it is.
  const MtxError dir = error_of([&] { dsla::mtx::read_file(fs::temp_directory_path().string()); });
  EXPECT_NE(std::string(dir.what()).find("is a directory"), std::string::npos) << dir.what();
  EXPECT_NE(std::string(error_of([&] { dsla::mtx::read_header("/"); }).what()).find("directory"),
            std::string::npos);
  // A NUL would cut the name short and open another file.
  const MtxError nul = error_of([&] { dsla::mtx::read_file(std::string("a.mtx\0b", 7)); });
  EXPECT_NE(std::string(nul.what()).find("NUL"), std::string::npos) << nul.what();
  // A name that is not UTF-8 reads and writes; messages show it escaped.
  const std::string odd = tmp("odd\xff\xfe.mtx");
  dsla::mtx::write_file(odd, 2, 2, {0, 1}, {0, 1}, {1, 2}, {});
  EXPECT_EQ(dsla::mtx::read_file(odd).re, (std::vector<double>{1, 2}));
  const MtxError missing = error_of([&] { dsla::mtx::read_file(tmp("gone\xff.mtx")); });
  EXPECT_NE(std::string(missing.what()).find("gone\\xff.mtx"), std::string::npos) << missing.what();
  // A gzip stream cut in half.
  const std::string gz = tmp("cut.mtx.gz");
  const Coo a = dsla::mtx::read_file(data("bcsstk03.mtx"));
  dsla::mtx::write_file(gz, a.header.rows, a.header.cols, a.row, a.col, a.re, a.im);
  const auto size = fs::file_size(gz);
  fs::resize_file(gz, size / 2);
  const MtxError cut = error_of([&] { dsla::mtx::read_file(gz); });
  EXPECT_NE(std::string(cut.what()).find("cut.mtx.gz"), std::string::npos) << cut.what();
  EXPECT_GT(cut.line(), 2) << cut.what();  // where inflating stopped
}

// ------------------------------------------------------------------ writer

TEST(MtxWrite, GzipRoundTrip) {
  for (const char* name : {"young1c.mtx", "bcsstk16.mtx", "G51.mtx"}) {
    if (!fs::exists(data(name))) continue;  // bcsstk16 is not shipped in data/
    const Coo a = dsla::mtx::read_file(data(name));
    dsla::mtx::WriteOptions opt;
    opt.field = a.header.field;
    opt.comment = "written by\ndsla tests";
    const std::string gz = tmp(std::string(name) + ".gz");
    dsla::mtx::write_file(gz, a.header.rows, a.header.cols, a.row, a.col, a.re, a.im, opt);
    std::ifstream in(gz, std::ios::binary);
    unsigned char magic[2] = {0, 0};
    in.read(reinterpret_cast<char*>(magic), 2);
    EXPECT_EQ(magic[0], 0x1f);
    EXPECT_EQ(magic[1], 0x8b);
    const Coo b = dsla::mtx::read_file(gz);
    EXPECT_EQ(a.row, b.row);
    EXPECT_EQ(a.col, b.col);
    EXPECT_EQ(a.re, b.re);
    EXPECT_EQ(a.im, b.im);
    EXPECT_LT(fs::file_size(gz), fs::file_size(data(name)));
  }
}

TEST(MtxWrite, PlainFileAndExactValues) {
  const std::vector<int64_t> row{0, 1, 2}, col{0, 2, 1};
  const std::vector<double> re{0.1, -1.0 / 3.0, 6.02214076e23};
  const std::string path = tmp("exact.mtx");
  dsla::mtx::write_file(path, 3, 3, row, col, re, {});
  const Coo b = dsla::mtx::read_file(path);
  EXPECT_EQ(b.re, re);
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text,
            "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 0.1\n2 3 "
            "-0.3333333333333333\n3 2 6.02214076e+23\n");
}

TEST(MtxWrite, SymmetricWritesTheLowerTriangle) {
  const std::vector<int64_t> row{0, 0, 1, 1}, col{0, 1, 0, 1};
  const std::string text =
      dsla::mtx::format(2, 2, row, col, {4, 1, 1, 5}, {}, {Field::kReal, Symmetry::kSymmetric, ""});
  EXPECT_EQ(text, "%%MatrixMarket matrix coordinate real symmetric\n2 2 3\n1 1 4\n2 1 1\n2 2 5\n");
  const std::string skew = dsla::mtx::format(2, 2, {0, 1}, {1, 0}, {2, -2}, {},
                                             {Field::kReal, Symmetry::kSkewSymmetric, ""});
  EXPECT_EQ(sorted(dsla::mtx::parse(skew)), (std::vector<Entry>{{0, 1, 2, 0}, {1, 0, -2, 0}}));
}

TEST(MtxWrite, RefusesWhatItCannotWriteTruthfully) {
  auto throws = [](const std::string& phrase, auto&& f) {
    try {
      f();
      ADD_FAILURE() << "no error; wanted " << phrase;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    }
  };
  const dsla::mtx::WriteOptions sym{Field::kReal, Symmetry::kSymmetric, ""};
  throws("do not match", [&] { dsla::mtx::format(2, 2, {0, 1}, {1, 0}, {1, 2}, {}, sym); });
  throws("is not", [&] { dsla::mtx::format(2, 2, {0}, {1}, {1}, {}, sym); });
  throws("must be square", [&] { dsla::mtx::format(2, 3, {0}, {0}, {1}, {}, sym); });
  throws("appears twice", [&] { dsla::mtx::format(2, 2, {0, 0}, {0, 0}, {1, 1}, {}, sym); });
  throws("not finite", [&] { dsla::mtx::format(2, 2, {0}, {0}, {NAN}, {}); });
  throws("outside", [&] { dsla::mtx::format(2, 2, {2}, {0}, {1}, {}); });
  throws("not Hermitian", [&] {
    dsla::mtx::format(2, 2, {0}, {0}, {1}, {1}, {Field::kComplex, Symmetry::kHermitian, ""});
  });
  throws("cannot create",
         [&] { dsla::mtx::write_file("/nonexistent_dir/x.mtx", 1, 1, {0}, {0}, {1}, {}); });
}

TEST(MtxHeader, ReadsOnlyTheBannerAndSizeLine) {
  const std::string path = tmp("header_only.mtx");
  std::ofstream(path) << "%%MatrixMarket matrix coordinate complex hermitian\n% c\n\n"
                      << "  7 7 3  \n"
                      << std::string(1 << 20, '#') << "\n";
  const dsla::mtx::Header h = dsla::mtx::read_header(path);  // the garbage body is never read
  EXPECT_EQ(h.field, Field::kComplex);
  EXPECT_EQ(h.symmetry, Symmetry::kHermitian);
  EXPECT_EQ(h.rows, 7);
  EXPECT_EQ(h.entries, 3);
  EXPECT_THROW(dsla::mtx::read_file(path), MtxError);
  const dsla::mtx::Header a =
      dsla::mtx::parse_header("%%MatrixMarket matrix array real symmetric\n4 4\n");
  EXPECT_EQ(a.entries, 10);
}
