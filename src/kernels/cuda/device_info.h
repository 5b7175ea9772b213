// Properties of the current CUDA device, queried once per device and cached.
#pragma once

namespace dsla::kernels::cuda {

// Multiprocessors of the current device.
int sm_count();
// Compute capability major of the current device (9: Hopper, programmatic dependent launch).
int cc_major();

}  // namespace dsla::kernels::cuda
