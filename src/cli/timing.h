// Timing helpers for the CLI and benchmarks: wall time with a device synchronization, medians,
// and a copy-bandwidth probe measured in the same run (the figure bandwidths are judged against).
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <vector>

namespace dsla::cli {

void synchronize(const c10::Device& d);
// Median seconds of `repeat` calls after `warmup` calls.
double median_seconds(const std::function<void()>& f, const c10::Device& d, int warmup, int repeat);
// Bytes read + written per second by a large device copy (256 MiB buffers).
double copy_bandwidth(const c10::Device& d);

}  // namespace dsla::cli
