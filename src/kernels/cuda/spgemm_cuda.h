// CUDA sparse x sparse product C = A B (row-wise Gustavson, no torch). Three tiers by row:
//   small: rows with at most 64 products (Σ_k nnz(B_k)): one thread per row, a sorted list in
//          local memory (count, fill) and a local accumulator (numeric, no atomics, values in A's
//          entry order) -- the AMG products on fine levels (S T, A P), where a warp per row left
//          most lanes idle clearing a 512-slot table;
//   warp:  one warp per row, an open-addressing hash table in shared memory; rows with more than
//          spgemm_warp_limit() distinct columns are marked -1 and counted again by count_big
//          (one block per row, larger table); rows beyond spgemm_block_limit() stay -1 (the
//          caller falls back to the host analysis).
//   fill:  the same insertion, then the row's keys compacted and ranked (sorted) into C's col.
// Numeric of warp and block rows: one warp per row; each product a_ik b_kj is added
// (atomically) at the position of column j in C's sorted row i (binary search): C's values must
// be zeroed first. Their summation order is not fixed, so values agree with the CPU kernel to
// rounding, not bitwise.
// Index type I: int32_t or int64_t for A, B and C alike; values float or double.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cuda {

int64_t spgemm_warp_limit();
int64_t spgemm_block_limit(bool wide_index);

// row_nnz[i] = distinct columns of row i of A B when it has at most 64 products, else
// spgemm_needs_warp() (the caller lists those rows for spgemm_count_warp).
template <class I>
void spgemm_count_small(const CsrPattern<I>& A, const CsrPattern<I>& B, int64_t* row_nnz,
                        cudaStream_t stream);
int64_t spgemm_needs_warp();
// The rows warp_rows[0, n_warp) (sorted): row_nnz = distinct columns, or -1 when above the warp
// limit.
template <class I>
void spgemm_count_warp(const CsrPattern<I>& A, const CsrPattern<I>& B, int64_t n_warp,
                       const int64_t* warp_rows, int64_t* row_nnz, cudaStream_t stream);
// The rows listed in big[0, n_big) again, one block each; -1 when above the block limit.
template <class I>
void spgemm_count_big(const CsrPattern<I>& A, const CsrPattern<I>& B, int64_t n_big,
                      const int64_t* big, int64_t* row_nnz, cudaStream_t stream);
// Sorted columns of every row (c_crow from the counts). warp_rows: as for spgemm_count_warp;
// big: the rows above the warp limit.
template <class I>
void spgemm_fill(const CsrPattern<I>& A, const CsrPattern<I>& B, int64_t n_warp,
                 const int64_t* warp_rows, int64_t n_big, const int64_t* big, const I* c_crow,
                 I* c_col, cudaStream_t stream);
// C[b] += A[b] Bm[b] on C's pattern for b < B (C's values zeroed by the caller); a value batch
// stride 0 broadcasts.
template <class V, class I>
void spgemm_numeric(const CsrView<V, I>& A, const CsrView<V, I>& Bm, const CsrOut<V, I>& C,
                    int64_t B, cudaStream_t stream);

}  // namespace dsla::kernels::cuda
