// Device implementations of the analyses a Pattern caches (the CPU ones live in pattern.cpp;
// core/structure_cuda.cpp registers the CUDA ones in CUDA builds).
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include "core/device_stub.h"

namespace dsla::detail {

// [min(rows, cols)] int64: position of each diagonal entry, or -1.
using DiagPositionsFn = at::Tensor(const Pattern&);
extern device::Stub<DiagPositionsFn> diag_positions_stub;

}  // namespace dsla::detail
