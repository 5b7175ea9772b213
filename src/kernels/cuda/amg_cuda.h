// CUDA kernels for the AMG setup and cycle (no torch): strength of connection, the three-phase
// MIS-2 aggregation (the same aggregates as kernels/cpu/amg_aggregate), the prolongator
// smoothing operator and the restriction's values (the smoother's passes: chebyshev_cuda.h). Index
// types int32_t / int64_t; all work is enqueued on `stream`; nothing synchronizes unless stated.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cuda {

// Strength of connection (symmetric values), as kernels::cpu::amg_strength_mark/fill:
// count[i] = kept entries of row i; then s_col from the exclusive prefix s_crow (int64).
template <class V, class I>
void amg_strength_count(const CsrView<V, I>& A, const V* absdiag, double theta, int64_t* count,
                        cudaStream_t stream);
template <class V, class I>
void amg_strength_fill(const CsrView<V, I>& A, const V* absdiag, double theta,
                       const int64_t* s_crow, I* s_col, cudaStream_t stream);

// Three-phase MIS-2 aggregation (see kernels/cpu/amg_aggregate.h). work: 4 n int64; flag: one
// int on the device. own: [n] int64 output, root vertex of each vertex's aggregate (-1 = none).
// Synchronizes `stream` once per MIS-2 round (the stopping test). Returns the rounds.
template <class I>
int64_t amg_aggregate_mis2_own(int64_t n, const I* crow, const I* col, uint64_t seed, int64_t* own,
                               int64_t* work, int* flag, cudaStream_t stream);
// agg[v] = root_id[own[v]] - 1 (root_id: inclusive prefix count of roots), -1 without a root.
void amg_aggregate_number(int64_t n, const int64_t* own, const int64_t* root_id, int64_t* agg,
                          cudaStream_t stream);
// is_root[v] = own[v] == v.
void amg_aggregate_roots(int64_t n, const int64_t* own, int64_t* is_root, cudaStream_t stream);

// The prolongator smoothing operator S = I - scale D⁻¹ A on A's pattern (nnz entries), per
// batch member b < B: out[b nnz + p] = [col p == i] - scale[b] dinv[b n + i] vals[b nnz + p]
// (device scalars; A.vals holds B value sets one after another).
template <class V, class I>
void amg_smoothing_values(const CsrView<V, I>& A, int64_t nnz, int64_t B, const V* dinv,
                          const V* scale, V* out, cudaStream_t stream);

// Values of Pᵀ in Pᵀ's pattern (rows sorted in each of its rows) from P's, per batch member:
// entry (i, j) of P goes where row i sits in row j of Pᵀ (binary search).
// P holds B value sets of nnz entries one after another; out likewise in Pt's order.
template <class V, class I>
void amg_transpose_values(const CsrView<V, I>& P, int64_t nnz, int64_t B, const CsrPattern<I>& Pt,
                          V* out, cudaStream_t stream);

}  // namespace dsla::kernels::cuda
