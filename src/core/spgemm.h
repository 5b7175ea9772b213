// Internal: sparse x sparse product C = A B in two phases. The symbolic phase (C's pattern, the
// per-row work split) is cached on A's pattern keyed by B's pattern, so a product repeated with
// new values (AMG Galerkin products, training loops) runs only the numeric phase.
//
// Values are [Ba, nnzA] and [Bb, nnzB] with Ba, Bb in {1, B}; results are [B, nnz].
// src/autograd wraps these in an autograd Function; AMG setup may call them directly.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/device_stub.h"

namespace dsla::detail {

// The symbolic result of C = A B for one (A pattern, B pattern) pair, on the CPU.
struct SpgemmPlan {
  PatternPtr c;        // pattern of C (CPU); index dtype: int64 if A's, B's or C's size needs it
  at::Tensor work;     // [rows + 1] int64: prefix sum of multiplies per row (thread split)
  bool hash = false;   // column maps hashed (very wide C) rather than dense
  int64_t multiplies;  // work[rows]

  // Lazily built, cached here (thread-safe):
  // the work split of the transposed product Bᵀ Aᵀ, for dB.
  const at::Tensor& work_t(const Pattern& a, const Pattern& b) const;
  // The entry map (see kernels::cpu::spgemm_expand): int64 [multiplies] each, on `device`.
  // 24 bytes per multiply: built only for the ATen paths (double backward, non-CPU devices).
  struct Entries {
    at::Tensor a_pos, b_pos, c_pos;
  };
  const Entries& entries(const Pattern& a, const Pattern& b, c10::Device device) const;

 private:
  mutable std::mutex mutex_;
  mutable at::Tensor work_t_;
  mutable std::map<std::string, Entries> entries_;  // by device
};

// The plan for A B (cached on A's CPU pattern; computed on first use). a, b on any device.
std::shared_ptr<const SpgemmPlan> spgemm_plan(const PatternPtr& a, const PatternPtr& b);
// C's pattern on A's device (CUDA: computed there, cached on A's device pattern).
PatternPtr spgemm_pattern(const PatternPtr& a, const PatternPtr& b);

// C's entries per row of C = A B (int64 [rows] on A's device) without C's pattern where the
// device can count alone (CUDA: the symbolic phase's count kernels); otherwise from C's pattern
// (the CPU plan, cached as spgemm_plan's). For sizing work before a product (AMG's blocked
// Galerkin product: a block's entries must stay under 2³¹).
at::Tensor spgemm_row_nnz(const PatternPtr& a, const PatternPtr& b);

// Drops the cached pattern of A B (CUDA) or its plan (CPU A: the plan holds C's pattern): its
// memory, once nothing else holds it; the next product recomputes it.
void spgemm_forget(const PatternPtr& a, const PatternPtr& b);
// C = A B values: the CPU kernels, the CUDA kernels for CUDA float/double values (C's pattern
// computed on the device, cached on A's device pattern), the ATen formulation otherwise.
at::Tensor spgemm_values(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                         const at::Tensor& bv);
// dA = (Gc Bᴴ) sampled on A's pattern; gc: [Bg, nnzC]. Returns [max(Bg, Bb), nnzA].
at::Tensor spgemm_grad_a(const PatternPtr& a, const PatternPtr& b, const at::Tensor& bv,
                         const at::Tensor& gc);
// dB = (Aᴴ Gc) sampled on B's pattern. Returns [max(Ba, Bg), nnzB].
at::Tensor spgemm_grad_b(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                         const at::Tensor& gc);

// The same three as ATen gathers / index_adds over the entry map: any device, differentiable
// (so a backward built from them can itself be differentiated). Slower; O(multiplies) memory.
at::Tensor spgemm_values_reference(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                                   const at::Tensor& bv);
at::Tensor spgemm_grad_a_reference(const PatternPtr& a, const PatternPtr& b, const at::Tensor& bv,
                                   const at::Tensor& gc);
at::Tensor spgemm_grad_b_reference(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                                   const at::Tensor& gc);

// Device implementations (core/spgemm_cuda.cpp registers the CUDA ones). symbolic: C's pattern
// on the device, or nullptr when the device kernels cannot (the plan is then made on the host).
// numeric: C's values on C's pattern `c`, or an undefined tensor for a dtype the device kernels
// do not handle (then the ATen formulation runs).
using SpgemmSymbolicFn = PatternPtr(const Pattern& a, const Pattern& b);
using SpgemmNumericFn = at::Tensor(const Pattern& a, const at::Tensor& av, const Pattern& b,
                                   const at::Tensor& bv, const Pattern& c);
extern device::Stub<SpgemmSymbolicFn> spgemm_symbolic_stub;
// Row counts on the device, or an undefined tensor (rows wider than the device's tables).
using SpgemmRowNnzFn = at::Tensor(const Pattern& a, const Pattern& b);
extern device::Stub<SpgemmRowNnzFn> spgemm_row_nnz_stub;
extern device::Stub<SpgemmNumericFn> spgemm_numeric_stub;

}  // namespace dsla::detail
