// Matrix Market (.mtx, .mtx.gz) reading and writing.
#pragma once

#include <dsla/sparse_matrix.h>

#include <string>

namespace dsla {

struct MtxInfo {
  std::string object = "matrix";
  std::string format;    // coordinate | array
  std::string field;     // real | integer | complex | pattern
  std::string symmetry;  // general | symmetric | skew-symmetric | hermitian
  int64_t rows = 0, cols = 0, entries = 0;  // entries as stored in the file
};

// Reads a Matrix Market file, plain or gzip-compressed (recognised by content), coordinate or
// array, into a SparseMatrix (symmetric / skew-symmetric / Hermitian storage expanded, duplicates
// summed, explicit zeros kept as part of the pattern). real/integer/pattern -> dtype (default
// float64; pattern entries are 1), complex -> complex128 (or complex64 when dtype is float32 or
// complex64). Malformed input (including NaN/Inf values, a symmetric file storing both
// triangles, or values beyond float32 when float32 is asked for) and unreadable files throw
// ValueError with the file name and line number.
SparseMatrix read_mtx(const std::string& path, at::ScalarType dtype = at::kDouble,
                      MtxInfo* info = nullptr);
// Header only (fast): banner and size line.
MtxInfo read_mtx_info(const std::string& path);
// Writes coordinate format, general symmetry (or "symmetric" / "skew-symmetric" / "hermitian":
// the lower triangle, after checking that the matrix has that symmetry exactly, else ValueError);
// a path ending in .gz is compressed. Values are written in the shortest form that reads back
// bit-exactly. Batched matrices and non-finite values are rejected.
void write_mtx(const SparseMatrix& A, const std::string& path,
               const std::string& symmetry = "general");

}  // namespace dsla
