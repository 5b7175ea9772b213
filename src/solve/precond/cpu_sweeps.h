// Internal: torch glue over the CPU triangular-sweep kernels (kernels/cpu/precond_kernels.h),
// shared by SSOR, IC(0) and ILU(0).
#pragma once

#include <dsla/pattern.h>

#include "kernels/cpu/precond_kernels.h"

#include <ATen/ATen.h>

#include <functional>
#include <string>

namespace dsla::precond::detail {

// Throws NotImplementedError unless A is on the CPU (the sweeps are sequential CPU kernels).
void require_cpu(c10::Device device, const std::string& kind);

// y = x, then `steps(z)` transforms a contiguous [B, n, k] buffer in place; z is y itself when y
// is contiguous (no allocation), else a temporary copied back.
void in_place(const at::Tensor& x, at::Tensor& y, const std::function<void(at::Tensor&)>& steps);

// z <- T⁻¹ z (or T⁻ᴴ z) for the triangle of (p, vals) described by `how`; vals [B', nnz],
// z [B, n, k] contiguous, diag the CPU diagonal positions.
void tri_solve(const Pattern& p, const at::Tensor& diag, const at::Tensor& vals, at::Tensor& z,
               const kernels::cpu::TriSolve& how);
// z[b, i, :] *= vals[b, diag[i]] (conjugated when `conj`).
void scale_by_diagonal(const Pattern& p, const at::Tensor& diag, const at::Tensor& vals,
                       at::Tensor& z, bool conj);

}  // namespace dsla::precond::detail
