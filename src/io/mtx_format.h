// Matrix Market (.mtx / .mtx.gz) parser and writer on plain std::vectors: no torch headers, so
// the format logic is unit-tested and fuzzed in isolation. src/io sits at the bottom of the
// layers, beside src/kernels: it includes nothing of dsla above it (scripts/check_layers.py), and
// src/core/mtx_io.cpp, one layer up, turns the result into a SparseMatrix.
//
// Reading expands symmetric storage (symmetric: mirror; skew-symmetric: mirror negated;
// hermitian: mirror conjugated) and returns every entry as stored (duplicates and explicit zeros
// kept: the caller sums duplicates). Anything malformed throws MtxError naming the file and the
// 1-based line, and saying what was expected there. Files are read in chunks (gzip inflated as it
// goes), and storage grows with the entries actually read, never by the size line alone: a file
// that declares 10^15 entries and holds two costs kilobytes.
#pragma once

#include <cstdint>
#include <functional>
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
  int64_t size_line = 0;  // 1-based line of the size line (errors about the shape cite it)
  // Byte offset of the line after the size line: where the entries start (in the inflated text
  // of a compressed file). A parallel reader splits a plain file's bytes from here.
  int64_t body_offset = 0;
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

// `s` with every byte that is not printable ASCII or part of well-formed UTF-8 written as \xNN
// (and control characters too, except '\n' when `keep_newlines`). Messages that quote a file's
// content or name go through it: a raw byte would make them unreadable, and Python could not even
// decode them (pybind11 turns such a message into an empty one).
std::string printable(std::string_view s, bool keep_newlines = false);

// Malformed input. `file` is the name given to the parser (shown through printable()), `line`
// the 1-based line (0 when the problem is not on one line, e.g. the file cannot be opened).
class MtxError : public std::invalid_argument {
 public:
  MtxError(const std::string& file, int64_t line, const std::string& message);
  const std::string& file() const { return file_; }
  int64_t line() const { return line_; }
  const std::string& message() const { return message_; }  // what() without file and line

 private:
  std::string file_;
  int64_t line_;
  std::string message_;
};

// Where the parser's bytes come from when they are not all in memory: read_file uses one over
// zlib; tests and the fuzzer use others to cut the text at every possible place.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Copies up to `n` bytes to `dst`; returns how many, 0 only at the end. Read errors throw
  // MtxError.
  virtual size_t read(char* dst, size_t n) = 0;
  // An upper bound on the bytes still to come, or -1 when unknown (a compressed stream). The
  // parser bounds its first reservation by it.
  virtual int64_t remaining_hint() const { return -1; }
};

// No line may be longer than this (the format allows 1024 characters): reading keeps one line in
// memory, so a file without newlines must not be able to claim gigabytes.
inline constexpr int64_t kMaxLineBytes = int64_t{16} << 20;

// Parses a whole file held in memory; `name` is used in error messages only.
Coo parse(std::string_view text, const std::string& name = "<memory>");
// Parses what `src` yields, holding one chunk (and the line being parsed) at a time.
Coo parse(ByteSource& src, const std::string& name);
// Reads `path` (gzip-compressed or plain: detected from the content, not the name) and parses it
// as it is read: a compressed file is never inflated whole in memory.
Coo read_file(const std::string& path);
// The same parse, handing the entries over in pieces: `sink` receives a Coo (header set) of about
// `chunk` entries (a mirror may add one) each time that many are parsed, in file order, and the
// rest once the whole file has parsed without error; it may take the vectors. What a reader
// holds is then one piece, not the file (the distributed reader streams a .gz this way).
void parse_chunks(ByteSource& src, const std::string& name, size_t chunk,
                  const std::function<void(Coo&)>& sink);
void read_file_chunks(const std::string& path, size_t chunk, const std::function<void(Coo&)>& sink);
// Banner and size line only: reads no further than the size line.
Header parse_header(std::string_view text, const std::string& name = "<memory>");
Header parse_header(ByteSource& src, const std::string& name);
Header read_header(const std::string& path);

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
