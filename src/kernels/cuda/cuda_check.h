// Status checks for CUDA runtime and cuSPARSE calls: every call goes through one of these, which
// throws std::runtime_error naming the call, the file:line and the library's error string.
// Torch-free (kernels and glue both use it).
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace dsla::kernels::cuda {

[[noreturn]] inline void throw_cuda_error(const char* call, const char* file, int line,
                                          const char* what) {
  throw std::runtime_error(std::string("dsla: CUDA call failed: ") + call + " at " + file + ":" +
                           std::to_string(line) + ": " + what);
}

}  // namespace dsla::kernels::cuda

#define DSLA_CUDA_CHECK(call)                                                 \
  do {                                                                        \
    const cudaError_t dsla_err_ = (call);                                     \
    if (dsla_err_ != cudaSuccess)                                             \
      ::dsla::kernels::cuda::throw_cuda_error(#call, __FILE__, __LINE__,      \
                                              cudaGetErrorString(dsla_err_)); \
  } while (0)

// After a kernel launch: launch-configuration errors surface here (asynchronous faults surface
// at the next synchronizing call).
#define DSLA_CUDA_CHECK_LAUNCH() DSLA_CUDA_CHECK(cudaGetLastError())

// cuSPARSE status checks (same error format, the library's status name).
#include <cusparse.h>

#define DSLA_CUSPARSE_CHECK(call)                                                \
  do {                                                                           \
    const cusparseStatus_t dsla_st_ = (call);                                    \
    if (dsla_st_ != CUSPARSE_STATUS_SUCCESS)                                     \
      ::dsla::kernels::cuda::throw_cuda_error(#call, __FILE__, __LINE__,         \
                                              cusparseGetErrorString(dsla_st_)); \
  } while (0)
