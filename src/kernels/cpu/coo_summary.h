// What `dsla info` says about a matrix, from its entries in any order with duplicates (summed
// first, in input order, as SparseMatrix::from_coo sums them). Scratch is O(entries): nothing of
// length rows or cols, so a 10^12 x 10^12 matrix with three entries costs bytes, and a matrix
// that never has to exist as CSR (a file `dsla info` only looks at) is never built.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dsla::kernels::cpu {

struct CooSummary {
  int64_t nnz = 0;  // distinct (row, col) positions
  int64_t row_nnz_min = 0, row_nnz_max = 0;
  bool pattern_symmetric = false;  // square and (i, j) stored exactly when (j, i) is
  // Square and max |a_ij - conj(a_ji)| <= sym_rtol * max |a_ij| (SparseMatrix::is_symmetric with
  // hermitian = true and atol = 0; the differences are taken in the value type).
  bool symmetric = false;
  // Square only: rows with |a_ii| >= sum_{j != i} |a_ij| (strictly: >), and rows whose diagonal
  // is zero or absent. Empty rows count as dominant and as having a zero diagonal.
  int64_t dominant_rows = 0, strictly_dominant_rows = 0, zero_diagonals = 0;
  double norm_fro = 0;  // scaled, so it overflows only when the norm itself exceeds a double
};

// T is float or double. `re` null: every value is 1 (a pattern); `im` null: real values.
// Indices must be in [0, rows) x [0, cols) (the caller has checked them).
template <class T>
CooSummary summarize_coo(int64_t rows, int64_t cols, size_t n, const int64_t* row,
                         const int64_t* col, const T* re, const T* im, double sym_rtol);

}  // namespace dsla::kernels::cpu
