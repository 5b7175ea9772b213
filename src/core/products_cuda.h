// CUDA sparse x dense products (ATen glue over src/kernels/cuda): called by the device dispatch
// in src/core/products.cpp for CUDA tensors. Work runs on the current CUDA stream.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include "kernels/cuda/csr_cuda.h"

namespace dsla::cuda {

// Y = A X; values [Bv, nnz], x [Bx, cols, k]; returns (or writes `out`) [B, rows, k].
at::Tensor spmm(const Pattern& p, const at::Tensor& values, const at::Tensor& x,
                at::Tensor out = {});
// G[b, q] = sum_j Gy[b, row(q), j] conj(X[b, col(q), j]); returns [B, nnz].
at::Tensor sddmm(const Pattern& p, const at::Tensor& gy, const at::Tensor& x);

// The SpMV plan of a CUDA pattern (row-length analysis runs once, cached on the Pattern).
kernels::cuda::SpmvPlan spmv_plan(const Pattern& p);
// Benchmarks: force a kernel for every later SpMV (kind -1 = back to the per-pattern plan).
void set_spmv_override(int kind, int group);

}  // namespace dsla::cuda
