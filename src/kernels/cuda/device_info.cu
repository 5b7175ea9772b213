#include <algorithm>
#include <mutex>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"

namespace dsla::kernels::cuda {

namespace {
// One attribute of the current device, queried once per device.
int cached_attribute(cudaDeviceAttr attr, std::mutex& m, std::vector<int>& cache) {
  int dev = 0;
  DSLA_CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(m);
  if (int(cache.size()) <= dev) cache.resize(dev + 1, 0);
  if (cache[dev] == 0) DSLA_CUDA_CHECK(cudaDeviceGetAttribute(&cache[dev], attr, dev));
  return cache[dev];
}
}  // namespace

int sm_count() {
  static std::mutex m;
  static std::vector<int> cache;
  return cached_attribute(cudaDevAttrMultiProcessorCount, m, cache);
}

int cc_major() {
  static std::mutex m;
  static std::vector<int> cache;
  return cached_attribute(cudaDevAttrComputeCapabilityMajor, m, cache);
}

int64_t resident_grid(int64_t threads, int block) {
  const int64_t cap = int64_t(sm_count()) * (2048 / block);
  return std::max<int64_t>(1, std::min<int64_t>((threads + block - 1) / block, cap));
}

}  // namespace dsla::kernels::cuda
