// The pieces of a parallel Matrix Market read (src/dist/read_mtx.cpp): each process parses the
// lines of a coordinate file's entry section that start in its byte range, with the one-process
// parser's line rules (mtx_read.cpp), and reports what it needs to agree with the others on
// errors: local line numbers, data-line counts, and where the symmetric-storage rule ("one
// triangle only") could break. The global line numbers and the first error in file order follow
// from every process's counts; the messages are the one-process reader's, word for word.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/mtx_format.h"

namespace dsla::mtx {

// The header of a file on disk, whether its content is compressed, and its size in bytes (-1
// when it is not a regular file, e.g. a pipe: then it can only be read as a stream).
struct FileInfo {
  Header header;
  bool compressed = false;
  int64_t size = -1;
};
FileInfo read_file_info(const std::string& path);

// What one process found in its lines. Lines are numbered from 1 within the range, and data
// lines (neither blank nor a comment) from 0.
struct LineRange {
  Coo entries;                // parsed lines before the first error (mirrors expanded)
  int64_t lines = 0;          // lines read
  int64_t data = 0;           // data lines among them
  std::vector<int64_t> gaps;  // for each blank or comment line: the data lines before it
  // The first malformed line (error_line -1: none), its data index and the parser's message
  // (without file and line). Lines after it are counted, not parsed, unless `stopped`: a line too
  // long to hold, or a read error, ends the range (its counts then stop there too).
  int64_t error_line = -1, error_data = -1;
  std::string error;
  bool stopped = false;
  // The first off-diagonal entry above (row < col) and below the diagonal, among the lines before
  // the error (symmetric storage only; line -1: none). 0-based indices.
  struct Side {
    int64_t line = -1, data = -1, i = 0, j = 0;
  } above, below;

  // The local line of data line `k` (0 <= k < data).
  int64_t line_of(int64_t k) const;
};

// Parses the entry lines of a coordinate file (header `h`) that `src` yields.
LineRange parse_lines(ByteSource& src, const std::string& name, const Header& h);
// The lines of a plain file's entry section whose first byte is in [begin, end), read with
// pread (a line that starts before `end` is read to its end): every line belongs to exactly one
// range of a split of [h.body_offset, file size).
LineRange parse_file_range(const std::string& path, const Header& h, int64_t begin, int64_t end);

// The one-process reader's messages for what only the whole file shows.
std::string truncated_message(int64_t found, const Header& h);  // fewer entries than declared
std::string surplus_message(const Header& h);                   // more entries than declared
// Entry (i, j) (0-based) lies on the other side of the diagonal than the entry on `side_line`.
std::string side_message(int64_t i, int64_t j, int64_t side_line, Symmetry s);

}  // namespace dsla::mtx
