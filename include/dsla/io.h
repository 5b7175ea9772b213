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

// Reads a Matrix Market file into a SparseMatrix (symmetric storage expanded, duplicates
// summed, explicit zeros kept as part of the pattern). real/integer/pattern -> dtype (default
// float64), complex -> complex128 (or complex64 when dtype is float32). Malformed input throws
// ValueError with the file name and line number.
SparseMatrix read_mtx(const std::string& path, at::ScalarType dtype = at::kDouble,
                      MtxInfo* info = nullptr);
// Header only (fast): banner and size line.
MtxInfo read_mtx_info(const std::string& path);
// Writes coordinate format, general symmetry (or `symmetry` if given and true of the values);
// a path ending in .gz is compressed. Batched matrices are rejected.
void write_mtx(const SparseMatrix& A, const std::string& path,
               const std::string& symmetry = "general");

}  // namespace dsla
