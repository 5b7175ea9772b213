// CUDA implementations of the fused CG steps (contract: src/solve/krylov/cg_steps.h, same
// signatures, same formulas). Called by the dispatch in src/solve/krylov/cg_steps.cpp for CUDA
// tensors. No host synchronization; scalars stay on the device.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

namespace dsla::cuda {

void cg_spmv_dot(const Pattern& pattern, const at::Tensor& values, const at::Tensor& p,
                 at::Tensor& q, at::Tensor& pq);
void cg_update(at::Tensor& x, at::Tensor& r, const at::Tensor& p, const at::Tensor& q,
               const at::Tensor& dinv, const at::Tensor& rz, const at::Tensor& pq,
               const at::Tensor& active, at::Tensor& rz_new, at::Tensor& rr);
void cg_direction(at::Tensor& p, const at::Tensor& r, const at::Tensor& z, const at::Tensor& dinv,
                  at::Tensor& rz, const at::Tensor& rz_new, const at::Tensor& active);

}  // namespace dsla::cuda
