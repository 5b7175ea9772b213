// Matrix Market (.mtx / .mtx.gz) parser and writer on plain std::vectors: no torch headers, so
// the format logic is unit-tested and fuzzed in isolation. src/core/mtx_io.cpp turns the result
// into a SparseMatrix.
//
// Reading expands symmetric storage (symmetric: mirror; skew-symmetric: mirror negated;
// hermitian: mirror conjugated) and returns every entry as stored (duplicates and explicit zeros
// kept: the caller sums duplicates). Anything malformed throws MtxError naming the file and the
// 1-based line, and saying what was expected there.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dsla::mtx {

enum class Format { kCoordinate, kArray };
enum class Field { kReal, kInteger, kComplex, kPattern };
enum class Symmetry { kGeneral, kSymmetric, kSkewSymmetric, kHermitian };

// Lower-case Matrix Market keywords ("coordinate", "skew-symmetric", ...).
const char* to_string(Format f);
const char* to_string(Field f);
const char* to_string(Symmetry s);

struct Header {
  Format format = Format::kCoordinate;
  Field field = Field::kReal;
  Symmetry symmetry = Symmetry::kGeneral;
  int64_t rows = 0, cols = 0;
  // Values stored in the file: the size line's count for coordinate; for array the count the
  // shape and symmetry imply (m*n, n(n+1)/2, or n(n-1)/2 for skew-symmetric).
  int64_t entries = 0;
};

// A matrix as coordinates: 0-based, symmetric storage already expanded, file order (a mirrored
// entry follows the entry it mirrors). `re` is empty for pattern files (every value is 1);
// `im` is non-empty only for complex files.
struct Coo {
  Header header;
  std::vector<int64_t> row, col;
  std::vector<double> re, im;
  size_t nnz() const { return row.size(); }
};

// Malformed input. `file` is the name given to the parser, `line` the 1-based line (0 when the
// problem is not on one line, e.g. the file cannot be opened).
class MtxError : public std::invalid_argument {
 public:
  MtxError(const std::string& file, int64_t line, const std::string& message);
  const std::string& file() const { return file_; }
  int64_t line() const { return line_; }

 private:
  std::string file_;
  int64_t line_;
};

// Parses a whole file held in memory; `name` is used in error messages only.
Coo parse(std::string_view text, const std::string& name = "<memory>");
// Reads `path` (gzip-compressed or plain: detected from the content, not the name) and parses it.
Coo read_file(const std::string& path);
// Banner and size line only: reads no further than the size line.
Header parse_header(std::string_view text, const std::string& name = "<memory>");
Header read_header(const std::string& path);
// Whole file into memory, decompressing gzip. Throws MtxError when it cannot be read.
std::string load_file(const std::string& path);

// What to write: coordinate format, `field` real, complex (needs `im`) or pattern (values
// ignored), `symmetry` general, symmetric, skew-symmetric or hermitian. For anything but general
// the matrix must be square and have that symmetry exactly (pattern and values); only the lower
// triangle is written. Indices are 0-based and must be unique (a summed matrix).
struct WriteOptions {
  Field field = Field::kReal;
  Symmetry symmetry = Symmetry::kGeneral;
  std::string comment;  // optional, written as "% ..." lines after the banner
};
// The file text. Values are written in the shortest form that reads back to the same double,
// so write -> read is exact. Non-finite values and bad indices throw std::invalid_argument.
std::string format(int64_t rows, int64_t cols, const std::vector<int64_t>& row,
                   const std::vector<int64_t>& col, const std::vector<double>& re,
                   const std::vector<double>& im, const WriteOptions& opt = {});
// format() to `path`; gzip-compressed when the path ends in ".gz".
void write_file(const std::string& path, int64_t rows, int64_t cols,
                const std::vector<int64_t>& row, const std::vector<int64_t>& col,
                const std::vector<double>& re, const std::vector<double>& im,
                const WriteOptions& opt = {});

}  // namespace dsla::mtx
