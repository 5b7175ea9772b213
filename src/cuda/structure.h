// CUDA analysis of a Pattern (ATen glue over src/kernels/cuda/csr_structure.cu), on the current
// stream, with no nnz-sized temporaries.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

namespace dsla::cuda {

// [min(rows, cols)] int64: position of each diagonal entry, or -1.
at::Tensor diag_positions(const Pattern& p);

}  // namespace dsla::cuda
