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

#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cpu {

// How the rows of C = A B are walked: C has `cols` columns; `work` [rows + 1] is spgemm_work's
// prefix sum of multiplies (threads get equal shares of it); `hash` picks the hash-table map.
struct SpgemmRows {
  int64_t cols = 0;
  const int64_t* work = nullptr;
  bool hash = false;
  int nthreads = 1;
};

// work[0] = 0, work[i + 1] = work[i] + sum over stored (i, j) of A of nnz(B row j).
template <class I>
void spgemm_work(const CsrPattern<I>& A, const I* b_crow, int64_t* work, int nthreads);

// Symbolic phase 1: row_nnz[i] = number of distinct columns in row i of C.
template <class I>
void spgemm_symbolic_count(const CsrPattern<I>& A, const CsrPattern<I>& B, const SpgemmRows& rs,
                           int64_t* row_nnz);

// Symbolic phase 2: given c_crow (exclusive scan of row_nnz), writes the sorted columns of C.
template <class I>
void spgemm_symbolic_fill(const CsrPattern<I>& A, const CsrPattern<I>& B, const SpgemmRows& rs,
                          const I* c_crow, I* c_col);

// Numeric phase: C[b] = A[b] B[b] on C's pattern for b < batch. A value stride 0 broadcasts one
// A over the batch (likewise B). C's values are fully written.
template <class V, class I>
void spgemm_numeric(const CsrView<V, I>& A, const CsrView<V, I>& B, const CsrOut<V, I>& C,
                    int64_t batch, const SpgemmRows& rs);

// Sampled product S = G Hᴴ on S's pattern P (the value gradient of a SpGEMM):
//   S[b, p] = sum over stored (j, k) of H of G[b](i, k) * conj(H[b](j, k)),  for p = (i, j) in P.
// G lives on a pattern that contains every (i, k) reached, which holds when G is the gradient of
// C = P H (then C(i, k) is stored whenever P(i, j) and H(j, k) are): dA = sampled(Gc, B) on A's
// pattern, and dBᵀ = sampled(Gcᵀ, Aᵀ) on Bᵀ's. rs.work is spgemm_work(P, H). Needs no merge:
// O(multiplies).
template <class V, class I>
void spgemm_sampled(const CsrView<V, I>& G, const CsrView<V, I>& H, const CsrOut<V, I>& S,
                    int64_t batch, const SpgemmRows& rs);

// The product's "entry map": for multiply t (rows in order, work[i] <= t < work[i + 1]):
// a_pos[t], b_pos[t], c_pos[t] = positions of A(i, j), B(j, k), C(i, k). Lets device-generic
// ATen code express C = A B and its gradients as gathers and index_adds (differentiable).
template <class I>
void spgemm_expand(const CsrPattern<I>& A, const CsrPattern<I>& B, const CsrPattern<I>& C,
                   const SpgemmRows& rs, int64_t* a_pos, int64_t* b_pos, int64_t* c_pos);

}  // namespace dsla::kernels::cpu
