// Properties of the current CUDA device, queried once per device and cached.
#pragma once

#include <cstdint>

namespace dsla::kernels::cuda {

// Multiprocessors of the current device.
int sm_count();
// Compute capability major of the current device (9: Hopper, programmatic dependent launch).
int cc_major();

// Blocks of `block` threads for `threads` threads, capped at one wave of resident blocks
// (2048 threads per multiprocessor): grid-stride kernels loop over the rest.
int64_t resident_grid(int64_t threads, int block);

}  // namespace dsla::kernels::cuda
