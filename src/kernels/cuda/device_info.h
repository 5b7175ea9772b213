// Properties of the current CUDA device, queried once per device and cached.
#pragma once

namespace dsla::kernels::cuda {

// Multiprocessors of the current device.
int sm_count();

}  // namespace dsla::kernels::cuda
