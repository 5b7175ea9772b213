// CUDA CSR kernels on raw pointers (no torch): SpMV/SpMM, SDDMM. Value types: float, double,
// std::complex<float>, std::complex<double> (layout-compatible with the device complex type);
// index types int32_t, int64_t. All work is enqueued on `stream`; nothing synchronizes.
//
// Batches: values/x/y carry a batch stride (0 = broadcast); grid.y runs over the batch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cuda {

// How one SpMV is run, decided once per pattern from its row-length statistics (csr_plan).
struct SpmvPlan {
  enum Kind : int { Vector = 0, Merge = 1 };
  int kind = Vector;
  int group = 4;              // Vector: threads per row (1, 2, 4, 8, 16 or 32)
  int64_t merge_threads = 0;  // Merge: threads in the merge-path split (carry slots per batch)
  int merge_items = 0;        // Merge: rows + nonzeros merged by one thread
  int64_t nnz = 0;
};

// Row-length statistics -> plan. mean = nnz / rows, max_len = the longest row.
SpmvPlan csr_plan(int64_t rows, int64_t nnz, int64_t max_len, int sm_count);
// Threads per row the vector kernel uses for mean row length `mean`.
int csr_group_for(double mean);

// Bytes of workspace the plan needs per batch member (merge path carries); 0 for Vector.
int64_t csr_spmv_workspace_bytes(const SpmvPlan& plan, int value_size);

// Y[b] = A[b] X[b] (kernels::cpu::csr_spmm): y[b*y.bstride + i*k + j] =
// sum_q vals[b*A.vals_bstride + q] * x[b*x.bstride + col[q]*k + j]. k == 1 uses the plan; k > 1
// uses the row-tiled SpMM kernel. `workspace` as sized above (times B, for the vectors' type)
// when plan.kind == Merge. X: the vectors' type, T by default; float values with double vectors
// (X = double) is the mixed-precision product (half the matrix bytes, sums in double).
template <class T, class I, class X = T>
void csr_spmm(const CsrView<T, I>& A, int64_t k, int64_t B, Batched<const X> x, Batched<X> y,
              const SpmvPlan& plan, void* workspace, cudaStream_t stream);

// out[b * nnz + q] = sum_j gy[b, row(q), j] * conj(x[b, col(q), j]) for A's nnz entries.
template <class T, class I>
void csr_sddmm(const CsrPattern<I>& A, int64_t nnz, int64_t k, int64_t B, Batched<const T> gy,
               Batched<const T> x, T* out, cudaStream_t stream);

// pos[i] = the entry of row i holding column i, or -1 (i < min(rows, cols)); sorted columns.
template <class I>
void csr_diag_positions(int64_t rows, int64_t cols, const I* crow, const I* col, int64_t* pos,
                        cudaStream_t stream);

// out[k] = col[k] - row(k) as int16 when every entry of the pattern fits (|col - row| <= 32767,
// the banded matrices of structured grids): a compact column index for bandwidth-bound loops
// (2 B instead of 4 or 8 per nonzero). Sets *overflow (device int, zeroed by the caller) to 1
// when some entry does not fit; out is then incomplete and must not be used.
template <class I>
void csr_col_delta16(int64_t rows, const I* crow, const I* col, int16_t* out, int* overflow,
                     cudaStream_t stream);

}  // namespace dsla::kernels::cuda
