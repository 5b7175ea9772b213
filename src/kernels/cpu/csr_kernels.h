// CPU kernels on raw CSR arrays (no torch). Value types: float, double, std::complex<float>,
// std::complex<double>; index types: int32_t, int64_t. Every kernel takes its thread count so
// the caller (ATen's setting) decides; kernels never allocate tensors.
#pragma once

#include <complex>
#include <cstdint>

#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cpu {

template <class T>
inline T conj_if(const T& v) {
  return v;
}
template <class T>
inline std::complex<T> conj_if(const std::complex<T>& v) {
  return std::conj(v);
}

// First row of thread t's share (of nt) when rows are split into equal nonzeros + rows: irregular
// matrices (a few dense rows, long empty stretches) still keep every thread busy.
template <class I>
inline int64_t row_split(int64_t rows, const I* crow, int t, int nt) {
  if (t == 0) return 0;
  if (t == nt) return rows;
  const int64_t target = (static_cast<int64_t>(crow[rows]) + rows) * t / nt;
  int64_t lo = 0, hi = rows;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (static_cast<int64_t>(crow[mid]) + mid < target) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// ---- structure ---------------------------------------------------------------------------------

// First k with row[k] or col[k] outside [0, rows) x [0, cols), or -1 when all are in range.
int64_t find_bad_coo_index(int64_t nnz, const int64_t* row, const int64_t* col, int64_t rows,
                           int64_t cols, int nthreads);

// COO (any order, duplicates allowed) -> CSR with sorted, unique columns per row.
// crow: [rows + 1]; col_out: capacity nnz; map: [nnz], input entry k -> output position, so that
// values_csr = zeros(nnz_out).index_add(0, map, values). Returns nnz_out.
template <class I>
int64_t coo_to_csr(int64_t rows, int64_t nnz, const int64_t* row, const int64_t* col, I* crow,
                   I* col_out, int64_t* map, int nthreads);

// Checks a CSR structure: crow[0] == 0, crow nondecreasing, crow[rows] == nnz, columns in range,
// strictly increasing within each row. Returns 0 when valid, else an error code (below) and sets
// *where to the offending row (codes 1-3) or entry (codes 4-5).
enum CsrError : int {
  kCsrOk = 0,
  kCsrBadStart = 1,
  kCsrDecreasing = 2,
  kCsrBadEnd = 3,
  kCsrColRange = 4,
  kCsrUnsorted = 5
};
template <class I>
int validate_csr(int64_t rows, int64_t cols, int64_t nnz, const I* crow, const I* col,
                 int64_t* where, int nthreads);

// Transpose structure: crow_t [cols + 1], col_t [nnz], perm [nnz] (int64) such that entry p of
// the transpose is entry perm[p] of the original. Columns of the transpose come out sorted.
template <class I>
void csr_transpose(int64_t rows, int64_t cols, const I* crow, const I* col, I* crow_t, I* col_t,
                   int64_t* perm, int nthreads);

// Expanded row index of every entry.
template <class I>
void csr_row_indices(int64_t rows, const I* crow, I* row, int nthreads);

// pos[i] = the entry k of row i with col[k] == i, or -1, for i < min(rows, cols); columns are
// sorted within rows, so a binary search per row (no nnz-sized temporaries).
template <class I>
void csr_diag_positions(int64_t rows, int64_t cols, const I* crow, const I* col, int64_t* pos,
                        int nthreads);

// ---- products ----------------------------------------------------------------------------------

// Y[b] = A[b] X[b] for b < batch: X [?, k] and Y [A.rows, k] row-major blocks (a stride 0
// broadcasts one X, or one A through A.vals_bstride). Rows are split between threads by nonzeros,
// not by count. X: the vectors' type, V by default; float values with double vectors (X =
// double) is the mixed-precision product: half the matrix bytes, sums in double.
template <class V, class I, class X = V>
void csr_spmm(const CsrView<V, I>& A, int64_t k, int64_t batch, Batched<const X> x, Batched<X> y,
              int nthreads);

// Gradient of values for Y = A X: G[b, p] = sum_j Gy[b, row(p), j] * conj(X[b, col(p), j]).
template <class V, class I>
void csr_sddmm(const CsrPattern<I>& A, int64_t k, int64_t batch, Batched<const V> gy,
               Batched<const V> x, Batched<V> g, int nthreads);

}  // namespace dsla::kernels::cpu
