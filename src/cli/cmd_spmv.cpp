// `dsla spmv MATRIX`: times y = A x and reports GB/s against a copy measured in the same run.
#include <dsla/ops.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <iomanip>
#include <iostream>

#include "cli/command.h"
#include "cli/timing.h"
#include "core/dtype_names.h"

namespace dsla::cli {
namespace {

int run_spmv(const Args& args) {
  DSLA_CHECK_ARG(args.positional().size() == 1, "MATRIX", "give one file or problem (see --help)");
  const auto what = args.positional()[0];
  const bool json = args.flag("json");
  const int64_t repeat = args.get_int("repeat", 20);
  const int64_t k = args.get_int("k", 1);
  DSLA_CHECK_ARG(repeat >= 1, "--repeat", "must be >= 1");
  DSLA_CHECK_ARG(k >= 1, "--k", "must be >= 1");
  auto A = load_matrix(what, args);
  const auto dev = A.device();
  auto x = k == 1 ? at::rand({A.cols()}, A.values().options())
                  : at::rand({A.cols(), k}, A.values().options());
  at::Tensor y;
  c10::AutoGradMode no_grad(false);
  const double t = median_seconds([&] { y = matmul(A, x); }, dev, 3, static_cast<int>(repeat));
  const int64_t isz = A.pattern()->index_dtype() == at::kInt ? 4 : 8;
  const int64_t vsz = A.values().element_size();
  // Minimal traffic: values + column indices + row pointers + x once + y once.
  const double bytes = double(A.nnz()) * (vsz + isz) + double(A.rows() + 1) * isz +
                       double(A.cols() + A.rows()) * vsz * k;
  const double bw = copy_bandwidth(dev);
  const int threads = dev.is_cpu() ? at::get_num_threads() : 0;
  if (json) {
    std::cout << std::setprecision(6) << "{\"matrix\": \"" << json_escape(what)
              << "\", \"device\": \"" << dev << "\", \"dtype\": \"" << torch_dtype_name(A.dtype())
              << "\", \"rows\": " << A.rows() << ", \"nnz\": " << A.nnz() << ", \"k\": " << k
              << ", \"threads\": " << threads << ", \"time_s\": " << t << ", \"bytes\": " << bytes
              << ", \"gbps\": " << bytes / t / 1e9 << ", \"copy_gbps\": " << bw / 1e9
              << ", \"fraction_of_copy\": " << bytes / t / bw << "}\n";
  } else {
    std::cout << "spmv " << what << " (" << A.rows() << " rows, " << A.nnz() << " nnz, "
              << torch_dtype_name(A.dtype()) << ", k=" << k << ") on " << dev;
    if (threads) std::cout << " with " << threads << " threads";
    std::cout << "\n  time " << std::fixed << std::setprecision(3) << t * 1e3 << " ms (median of "
              << repeat << ")\n  " << std::setprecision(1) << bytes / t / 1e9
              << " GB/s  = " << std::setprecision(0) << 100.0 * bytes / t / bw
              << "% of the copy bandwidth measured now (" << std::setprecision(1) << bw / 1e9
              << " GB/s)\n";
  }
  return 0;
}

const CommandRegistrar reg(
    {"spmv",
     "time y = A x (GB/s against a copy measured in the same run)",
     std::string("usage: dsla spmv MATRIX [--k K] [--repeat R] [--json] "
                 "[--device cuda] [--dtype float32]\n\n"
                 "  --k K       number of right-hand sides (SpMM), default 1\n"
                 "  --repeat R  timed repetitions (median), default 20\n\n") +
         kMatrixHelp,
     run_spmv,
     {"k", "repeat"}});

}  // namespace
}  // namespace dsla::cli
