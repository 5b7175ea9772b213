#include "cli/timing.h"

#include <torch/cuda.h>

#include <algorithm>
#include <chrono>

namespace dsla::cli {

void synchronize(const c10::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.index() < 0 ? -1 : d.index());
}

double median_seconds(const std::function<void()>& f, const c10::Device& d, int warmup,
                      int repeat) {
  for (int i = 0; i < warmup; ++i) f();
  synchronize(d);
  std::vector<double> t;
  for (int i = 0; i < std::max(1, repeat); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    synchronize(d);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double copy_bandwidth(const c10::Device& d) {
  const int64_t n = (256LL << 20) / 8;
  auto a = at::rand({n}, at::TensorOptions().dtype(at::kDouble).device(d));
  auto b = at::empty_like(a);
  const double s = median_seconds([&] { b.copy_(a); }, d, 2, 7);
  return 2.0 * n * 8 / s;
}

}  // namespace dsla::cli
