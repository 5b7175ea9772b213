#include "core/device_stub.h"

#include <atomic>

namespace dsla::device {

namespace {
// Constant-initialized, so a registration running before this file's own initializers is safe.
std::atomic<bool> g_cuda{false};
}  // namespace

bool cuda_registered() {
  return g_cuda.load();
}

void mark_cuda_registered() {
  g_cuda.store(true);
}

}  // namespace dsla::device
