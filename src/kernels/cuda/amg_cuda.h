// CUDA kernels for the AMG setup and cycle (no torch): strength of connection, the three-phase
// MIS-2 aggregation (the same aggregates as kernels/cpu/amg_aggregate), the prolongator
// smoothing operator, and fused Chebyshev smoothing passes. Index types int32_t / int64_t; all
// work is enqueued on `stream`; nothing synchronizes unless stated.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace dsla::kernels::cuda {

// Strength of connection (symmetric values), as kernels::cpu::amg_strength_mark/fill:
// count[i] = kept entries of row i; then s_col from the exclusive prefix s_crow (int64).
template <class V, class I>
void amg_strength_count(int64_t n, const I* crow, const I* col, const V* vals, const V* absdiag,
                        double theta, int64_t* count, cudaStream_t stream);
template <class V, class I>
void amg_strength_fill(int64_t n, const I* crow, const I* col, const V* vals, const V* absdiag,
                       double theta, const int64_t* s_crow, I* s_col, cudaStream_t stream);

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

// The prolongator smoothing operator S = I - scale D⁻¹ A on A's pattern, per batch member b:
// out[b nnz + p] = [col p == i] - scale[b] dinv[b n + i] vals[b nnz + p] (device scalars).
template <class V, class I>
void amg_smoothing_values(int64_t n, int64_t nnz, int64_t B, const I* crow, const I* col,
                          const V* vals, const V* dinv, const V* scale, V* out,
                          cudaStream_t stream);

// Values of Pᵀ in Pᵀ's pattern (rows sorted in each of its rows) from P's, per batch member:
// entry (i, j) of P goes where row i sits in row j of Pᵀ (binary search).
template <class V, class I>
void amg_transpose_values(int64_t rows, int64_t nnz, int64_t B, const I* crow, const I* col,
                          const V* vals, const I* crow_t, const I* col_t, V* out,
                          cudaStream_t stream);

// Chebyshev passes (B = 1, one right-hand side; coefficients are device scalars), as
// kernels::cpu::amg_cheb_first / amg_cheb_step.
template <class V, class I>
void amg_cheb_first(int64_t n, const I* crow, const I* col, const V* vals, const V* dinv,
                    const V* c0, const V* b, const V* x, V* r, V* d, cudaStream_t stream);
template <class V, class I>
void amg_cheb_step(int64_t n, const I* crow, const I* col, const V* vals, const V* dinv,
                   const V* ca, const V* cb, V* r, const V* d, V* dn, V* x, int mode,
                   cudaStream_t stream);

// ρ(D⁻¹A) of a symmetric level with dinv > 0 (B = 1): K Lanczos steps on D^{-1/2} A D^{-1/2},
// the recurrence of kernels::cpu::amg_lanczos (same start vector, same breakdown rule), two
// fused kernels per step. work: amg_lanczos_workspace(n) doubles; ticket: one unsigned, 0 on
// entry and on exit. Outputs on the device: alpha [K] (the tridiagonal's diagonal) and
// nrm [K + 1] (nrm[j] = squared norm of the j-th unnormalized Lanczos vector; the caller forms
// beta_j = sqrt(nrm[j + 1]) unless step j broke down). Nothing synchronizes.
int64_t amg_lanczos_workspace(int64_t n);
template <class V, class I>
void amg_lanczos(int64_t n, const I* crow, const I* col, const V* vals, const V* dinv, int64_t K,
                 double* work, unsigned* ticket, double* alpha, double* nrm, cudaStream_t stream);

}  // namespace dsla::kernels::cuda
