// CUDA SpGEMM glue (ATen over src/kernels/cuda/spgemm_cuda.h): called by src/core/spgemm.cpp
// for CUDA patterns and values. Work runs on the current CUDA stream.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

namespace dsla::cuda {

// C's pattern for C = A B on the device (index dtype: int64 if A's, B's or C's size needs it,
// like the CPU plan), or nullptr when some row of C is wider than the kernels' tables (the
// caller then analyses on the host). Synchronizes for the sizes.
PatternPtr spgemm_symbolic(const Pattern& a, const Pattern& b);
// C's entries per row (int64 [rows]: the symbolic phase's count, without the fill), or an
// undefined tensor when some row is wider than the kernels' tables. Synchronizes.
at::Tensor spgemm_row_nnz(const Pattern& a, const Pattern& b);
// Values of C = A B on C's pattern c: av [Ba, nnzA], bv [Bb, nnzB] -> [B, nnzC]. float/double.
at::Tensor spgemm_numeric(const Pattern& a, const at::Tensor& av, const Pattern& b,
                          const at::Tensor& bv, const Pattern& c);
// Whether spgemm_numeric handles this value dtype.
bool spgemm_supports(at::ScalarType dtype);

}  // namespace dsla::cuda
