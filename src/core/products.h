// Internal: raw (non-autograd) sparse x dense products on any device. src/autograd wraps them
// in autograd Functions; solvers call them directly in their loops.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include <array>

#include "core/device_stub.h"

namespace dsla::detail {

// Y = A X. values: [Bv, nnz]; x: [Bx, cols, k] with Bv, Bx in {1, B}. Returns [B, rows, k].
// `out`, when defined, must be [B, rows, k] contiguous of the right dtype and is written.
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
