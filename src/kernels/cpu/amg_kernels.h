// CPU kernels for the AMG setup on raw CSR arrays (no torch). One batch member: the hot case.
// Batched levels use the ATen path. (The smoothers' kernels are in chebyshev_kernels.h.)
#pragma once

#include <cstdint>

#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cpu {

// Strength of connection, pass 1: keep[p] = 1 when entry p = (i, j) of A is off-diagonal, nonzero
// and |a_ij| >= theta sqrt(|a_ii a_jj|) (absdiag: |a_ii| per row); count[i] = kept entries of
// row i.
template <class V, class I>
void amg_strength_mark(const CsrView<V, I>& A, const V* absdiag, double theta, uint8_t* keep,
                       int64_t* count, int nthreads);
// Pass 2: s_col[s_crow[i] + t] = column of the t-th kept entry of row i.
template <class I>
void amg_strength_fill(const CsrPattern<I>& A, const uint8_t* keep, const int64_t* s_crow, I* s_col,
                       int nthreads);

// Values of the prolongator smoothing operator S = I − scale D⁻¹ A on A's pattern, for B members
// (values, out [B, nnz] with member b at b nnz; dinv [B, n]; scale [B]): out = −scale_b dinv_i
// a_ij + δ_ij. P = S T is then one SpGEMM numeric pass (the CUDA path's formulation).
template <class V, class I>
void amg_smoothing_values(const CsrPattern<I>& A, int64_t nnz, int64_t B, const V* vals,
                          const V* dinv, const V* scale, V* out, int nthreads);

}  // namespace dsla::kernels::cpu
