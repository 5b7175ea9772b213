// CUDA sparse x sparse product C = A B (row-wise Gustavson, no torch). Two-phase symbolic:
//   count: distinct columns per row through an open-addressing hash table in shared memory,
//          one warp per row; rows with more than spgemm_warp_limit() distinct columns are
//          marked -1 and counted again by count_big (one block per row, larger table); rows
//          beyond spgemm_block_limit() stay -1 (the caller falls back to the host analysis).
//   fill:  the same insertion, then the row's keys compacted and ranked (sorted) into C's col.
// Numeric: one warp per row; each product a_ik b_kj is added (atomically) at the position of
// column j in C's sorted row i (binary search): C's values must be zeroed first. Summation
// order is not fixed, so values agree with the CPU kernel to rounding, not bitwise.
// Index type I: int32_t or int64_t for A, B and C alike; values float or double.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace dsla::kernels::cuda {

int64_t spgemm_warp_limit();
int64_t spgemm_block_limit(bool wide_index);

// row_nnz[i] = distinct columns of row i of A B, or -1 when above the warp limit.
template <class I>
void spgemm_count(int64_t rows, const I* a_crow, const I* a_col, const I* b_crow, const I* b_col,
                  int64_t* row_nnz, cudaStream_t stream);
// The rows listed in big[0, n_big) again, one block each; -1 when above the block limit.
template <class I>
void spgemm_count_big(int64_t n_big, const int64_t* big, const I* a_crow, const I* a_col,
                      const I* b_crow, const I* b_col, int64_t* row_nnz, cudaStream_t stream);
// Sorted columns of every row (c_crow from the counts). big: the rows above the warp limit.
template <class I>
void spgemm_fill(int64_t rows, int64_t n_big, const int64_t* big, const I* a_crow, const I* a_col,
                 const I* b_crow, const I* b_col, const I* c_crow, I* c_col, cudaStream_t stream);
// c_val[b * c_bs + q] += sum over products (c_val zeroed by the caller); batch strides a_bs,
// b_bs may be 0 (broadcast).
template <class V, class I>
void spgemm_numeric(int64_t rows, int64_t B, const I* a_crow, const I* a_col, const V* a_val,
                    int64_t a_bs, const I* b_crow, const I* b_col, const V* b_val, int64_t b_bs,
                    const I* c_crow, const I* c_col, V* c_val, int64_t c_bs, cudaStream_t stream);

}  // namespace dsla::kernels::cuda
