// CUDA entry of one multicolor sweep step (kernels/cpu/color_sweep.h for the formulas).
#pragma once

#include <cuda_runtime.h>

#include "kernels/cpu/color_sweep.h"

namespace dsla::kernels::cuda {

template <class T, class I>
void color_sweep(const ColorSweepArgs<T, I>& a, cudaStream_t s);

}  // namespace dsla::kernels::cuda
