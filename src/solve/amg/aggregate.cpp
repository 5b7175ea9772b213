// AMG aggregation: CPU kernels (kernels/cpu/amg_aggregate); mis2 on CUDA runs the CUDA kernels
// (same aggregates); anything else runs on a host copy of the strength graph.
#include <dsla/errors.h>

#include "core/dispatch.h"
#include "kernels/cpu/amg_aggregate.h"
#include "solve/amg/amg_internal.h"

namespace dsla::amg::detail {

namespace kc = kernels::cpu;
using dsla::detail::ptr;

int64_t aggregate(const PatternPtr& s, const std::string& method, uint64_t seed, at::Tensor& agg) {
  const int64_t n = s->rows();
  DSLA_CHECK_ARG(method == "mis2" || method == "greedy", "aggregation",
                 "must be \"mis2\" or \"greedy\", got \"", method, "\"");
  DSLA_CHECK_ARG(n < (int64_t{1} << 32), "A", "AMG aggregation supports up to 2^32 rows");
  if (auto* f = aggregate_mis2_stub.on(s->device()); f && method == "mis2") return f(*s, seed, agg);
  // CPU kernels (greedy on another device: on a host copy of the strength graph).
  auto h = s->device().is_cpu() ? s : s->to(at::kCPU);
  auto out = at::empty({n}, at::TensorOptions().dtype(at::kLong));
  int64_t n_agg = 0;
  DSLA_DISPATCH_INDEX(h->index_dtype(), "amg aggregation", [&] {
    const auto* crow = ptr<index_t>(h->crow());
    const auto* col = ptr<index_t>(h->col());
    if (method == "mis2") {
      auto work = at::empty({4 * n}, out.options());
      n_agg =
          kc::amg_aggregate_mis2<index_t>(n, crow, col, seed, ptr<int64_t>(out), ptr<int64_t>(work),
                                          nullptr, dsla::detail::num_threads());
    } else {
      n_agg = kc::amg_aggregate_greedy<index_t>(n, crow, col, ptr<int64_t>(out));
    }
  });
  agg = s->device().is_cpu() ? out : out.to(s->device());
  return n_agg;
}

}  // namespace dsla::amg::detail
