// CPU kernels for the sparse x sparse product C = A B (Gustavson, row by row) on raw CSR arrays,
// torch-free. Split in phases so that the pattern of C (symbolic) is computed once and cached by
// the caller, and repeated products with new values run only the numeric phase.
//
// Every kernel walks the same loop nest: for row i of A, for each stored (i, j), for each stored
// (j, k) of B: one "multiply" contributing to C(i, k). `work` is the exclusive prefix sum of the
// multiplies per row ([rows + 1], int64): threads get contiguous row ranges of equal work, so a
// few heavy rows do not serialize the product.
//
// A column -> slot map per thread finds C(i, k) in row i: a dense array of `cols` entries (fast,
// O(cols) memory per thread), or, when `hash` is set, an open-addressing table sized to the row
// (for very wide C, where `cols` per thread would cost more memory or cache than the product).
//
// Value types: float, double, std::complex<float>, std::complex<double>; index types: int32_t,
// int64_t (one index type for A, B and C: the caller promotes).
#pragma once

#include <complex>
#include <cstdint>

namespace dsla::kernels::cpu {

// work[0] = 0, work[i + 1] = work[i] + sum over stored (i, j) of A of nnz(B row j).
template <class I>
void spgemm_work(int64_t rows, const I* a_crow, const I* a_col, const I* b_crow, int64_t* work,
                 int nthreads);

// Symbolic phase 1: row_nnz[i] = number of distinct columns in row i of C.
template <class I>
void spgemm_symbolic_count(int64_t rows, int64_t cols, const I* a_crow, const I* a_col,
                           const I* b_crow, const I* b_col, const int64_t* work, bool hash,
                           int64_t* row_nnz, int nthreads);

// Symbolic phase 2: given c_crow (exclusive scan of row_nnz), writes the sorted columns of C.
template <class I>
void spgemm_symbolic_fill(int64_t rows, int64_t cols, const I* a_crow, const I* a_col,
                          const I* b_crow, const I* b_col, const int64_t* work, bool hash,
                          const I* c_crow, I* c_col, int nthreads);

// Numeric phase: C[b] = A[b] B[b] on C's pattern for b < batch. A value stride 0 broadcasts one
// A over the batch (likewise B). c_vals is fully written.
template <class V, class I>
void spgemm_numeric(int64_t rows, int64_t cols, int64_t batch, const I* a_crow, const I* a_col,
                    const V* a_vals, int64_t a_bstride, const I* b_crow, const I* b_col,
                    const V* b_vals, int64_t b_bstride, const I* c_crow, const I* c_col, V* c_vals,
                    int64_t c_bstride, const int64_t* work, bool hash, int nthreads);

// Sampled product S = G Hᴴ on pattern P (the value gradient of a SpGEMM):
//   S[b, p] = sum over stored (j, k) of H of G[b](i, k) * conj(H[b](j, k)),  for p = (i, j) in P.
// G lives on a pattern that contains every (i, k) reached, which holds when G is the gradient of
// C = P H (then C(i, k) is stored whenever P(i, j) and H(j, k) are): dA = sampled(A, Gc, B), and
// dBᵀ = sampled(Bᵀ, Gcᵀ, Aᵀ). `work` is spgemm_work(P, H). Needs no merge: O(multiplies).
template <class V, class I>
void spgemm_sampled(int64_t rows, int64_t cols, int64_t batch, const I* p_crow, const I* p_col,
                    const I* g_crow, const I* g_col, const V* g_vals, int64_t g_bstride,
                    const I* h_crow, const I* h_col, const V* h_vals, int64_t h_bstride, V* s_vals,
                    int64_t s_bstride, const int64_t* work, bool hash, int nthreads);

// The product's "entry map": for multiply t (rows in order, work[i] <= t < work[i + 1]):
// a_pos[t], b_pos[t], c_pos[t] = positions of A(i, j), B(j, k), C(i, k). Lets device-generic
// ATen code express C = A B and its gradients as gathers and index_adds (differentiable).
template <class I>
void spgemm_expand(int64_t rows, int64_t cols, const I* a_crow, const I* a_col, const I* b_crow,
                   const I* b_col, const I* c_crow, const I* c_col, const int64_t* work, bool hash,
                   int64_t* a_pos, int64_t* b_pos, int64_t* c_pos, int nthreads);

}  // namespace dsla::kernels::cpu
