// Internal: raw (non-autograd) sparse x dense products on any device. src/autograd wraps them
// in autograd Functions; solvers call them directly in their loops.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include <array>

#include "core/device_stub.h"

namespace dsla::detail {

// Mixed precision: torch.float32 values with torch.float64 vectors, the one pairing of dtypes
// the products (and the solvers built on them) take. Half the matrix bytes; every product and
// sum in float64, so the matrix applied is exactly the stored float32 one.
inline bool is_mixed_precision(at::ScalarType values, at::ScalarType x) {
  return values == at::kFloat && x == at::kDouble;
}

// Y = A X. values: [Bv, nnz]; x: [Bx, cols, k] with Bv, Bx in {1, B}. Returns [B, rows, k] of
// x's dtype. `out`, when defined, must be [B, rows, k] contiguous of x's dtype and is written.
// values and x share a dtype, or are mixed precision (is_mixed_precision).
at::Tensor spmm(const Pattern& p, const at::Tensor& values, const at::Tensor& x,
                at::Tensor out = {});
// G[b, q] = sum_j Gy[b, row(q), j] * conj(X[b, col(q), j]); gy: [B', rows, k], x: [B'', cols, k].
// Returns [B, nnz].
at::Tensor sddmm(const Pattern& p, const at::Tensor& gy, const at::Tensor& x);

// Device-generic ATen formulations (any device; O(nnz k) temporaries): the fallback where no
// kernel exists, and the reference the kernels are tested against.
at::Tensor spmm_reference(const Pattern& p, const at::Tensor& values, const at::Tensor& x);
at::Tensor sddmm_reference(const Pattern& p, const at::Tensor& gy, const at::Tensor& x);

// Device implementations (core/products_cuda.cpp registers the CUDA ones). `out` of spmm as above.
using SpmmFn = at::Tensor(const Pattern&, const at::Tensor&, const at::Tensor&, at::Tensor);
using SddmmFn = at::Tensor(const Pattern&, const at::Tensor&, const at::Tensor&);
extern device::Stub<SpmmFn> spmm_stub;
extern device::Stub<SddmmFn> sddmm_stub;
// Benchmarks and tests of the device SpMV: the plan a pattern gets ({kind 0 vector / 1 merge,
// lanes per row, merge threads}), and forcing a kernel for every later SpMV (kind −1: back to
// the per-pattern plan).
using SpmvPlanInfoFn = std::array<int, 3>(const Pattern&);
using SpmvOverrideFn = void(int kind, int group);
extern device::Stub<SpmvPlanInfoFn> spmv_plan_stub;
extern device::Stub<SpmvOverrideFn> spmv_override_stub;

}  // namespace dsla::detail
