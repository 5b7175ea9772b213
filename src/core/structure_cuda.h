// CUDA analysis of a Pattern (ATen glue over src/kernels/cuda/csr_structure.cu), on the current
// stream, with no nnz-sized temporaries.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

namespace dsla::cuda {

// [min(rows, cols)] int64: position of each diagonal entry, or -1.
at::Tensor diag_positions(const Pattern& p);

// The columns as int16 offsets from their row ([nnz], cached on the pattern), or an undefined
// tensor when some |col - row| exceeds 32767 (then that is cached too).
at::Tensor col_delta16(const Pattern& p);

}  // namespace dsla::cuda
