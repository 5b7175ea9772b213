// CUDA AMG glue (ATen over src/kernels/cuda/amg_cuda.h): strength of connection, MIS-2
// aggregation, the prolongator smoothing operator, transposes (the Chebyshev passes and the Lanczos estimate
// are src/solve/precond's: chebyshev_cuda.cpp, spectral_estimate_cuda.cpp).
// Called from src/solve/amg when the level lives on a CUDA device. Current CUDA stream.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include <vector>

namespace dsla::cuda {

// Strong connections of a level with symmetric values ([nnz]): same graph as the CPU kernels.
PatternPtr amg_strength(const Pattern& a, const at::Tensor& values, double theta);
// Three-phase MIS-2 aggregation (same aggregates as the CPU kernel); agg [n] int64.
int64_t amg_aggregate_mis2(const Pattern& s, uint64_t seed, at::Tensor& agg);
// S = I - scale D⁻¹ A on a's pattern: values [B, nnz], dinv [B, n, 1], scale [B, 1, 1].
at::Tensor amg_smoothing_values(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv,
                                const at::Tensor& scale);
// The pattern of Pᵀ (sorted-key transpose; no permutation kept, unlike Pattern::transpose) and
// Pᵀ's values ([B, nnz]) from P's.
PatternPtr amg_transpose(const Pattern& p);
at::Tensor amg_transpose_values(const Pattern& p, const at::Tensor& values, const Pattern& pt);

}  // namespace dsla::cuda
