// AMG aggregation: CPU kernels (kernels/cpu/amg_aggregate) or the ATen MIS-2 on other devices.
#include <dsla/errors.h>

#include <limits>

#include "core/dispatch.h"
#include "kernels/cpu/amg_aggregate.h"
#include "solve/amg/amg_internal.h"

namespace dsla::amg::detail {

namespace kc = kernels::cpu;
using dsla::detail::ptr;

namespace {

constexpr int64_t kIn = std::numeric_limits<int64_t>::max();

// Same arithmetic as kc::amg_mis2_priority, on int64 tensors (no product exceeds 2^62).
at::Tensor mis2_keys(int64_t n, uint64_t seed, const at::TensorOptions& o) {
  constexpr int64_t p = 2147483647;
  auto v = at::arange(n, o);
  auto h =
      (v.remainder(p) * 1103515245 + static_cast<int64_t>((seed * 7919 + 12345) % p)).remainder(p);
  h = h.bitwise_xor(h.div(int64_t{1} << 15, "floor"));
  h = (h * 1597334677 + 11).remainder(p);
  h = h.bitwise_xor(h.div(int64_t{1} << 13, "floor"));
  return h * (int64_t{1} << 32) + v;
}

}  // namespace

int64_t aggregate_mis2_aten(const PatternPtr& s, uint64_t seed, at::Tensor& agg) {
  const int64_t n = s->rows();
  auto o = at::TensorOptions().dtype(at::kLong).device(s->device());
  auto row = s->row().to(at::kLong), col = s->col().to(at::kLong);
  auto row_max = [&](const at::Tensor& in) {
    return in.clone().scatter_reduce_(0, row, in.index_select(0, col), "amax", true);
  };
  auto live = (s->crow().narrow(0, 1, n) - s->crow().narrow(0, 0, n)) > 0;
  auto own = mis2_keys(n, seed, o);
  auto minus1 = at::full({}, -1, o), in_key = at::full({}, kIn, o);
  auto key = at::where(live, own, minus1);
  while (true) {
    auto m2 = row_max(row_max(key));
    auto und = (key >= 0) & (key != kIn);
    auto to_out = und & (m2 == kIn), to_in = und & (m2 == key);
    key = at::where(to_out, minus1, at::where(to_in, in_key, key));
    if (!((key >= 0) & (key != kIn)).any().item<bool>()) break;  // one sync per round
  }
  auto roots = key == kIn;
  const int64_t n_agg = roots.sum().item<int64_t>();
  auto root_id = roots.to(at::kLong).cumsum(0) - 1;
  auto root_key = at::where(roots, own, minus1);
  auto m1 = row_max(root_key);
  auto k1 = at::where(roots, root_key, m1);  // root key of distance <= 1 rows, else -1
  auto m = row_max(k1);
  auto k = at::where(k1 >= 0, k1, m);
  auto root = k.remainder(int64_t{1} << 32);
  agg = at::where(k >= 0, root_id.index_select(0, at::where(k >= 0, root, at::zeros_like(root))),
                  minus1);
  return n_agg;
}

int64_t aggregate(const PatternPtr& s, const std::string& method, uint64_t seed, at::Tensor& agg) {
  const int64_t n = s->rows();
  DSLA_CHECK_ARG(method == "mis2" || method == "greedy", "aggregation",
                 "must be \"mis2\" or \"greedy\", got \"", method, "\"");
  DSLA_CHECK_ARG(n < (int64_t{1} << 32), "A", "AMG aggregation supports up to 2^32 rows");
  if (!s->device().is_cpu() && method == "mis2") return aggregate_mis2_aten(s, seed, agg);
  // CPU kernels (greedy on another device: on a host copy of the strength graph).
  auto h = s->device().is_cpu() ? s : s->to(at::kCPU);
  auto out = at::empty({n}, at::TensorOptions().dtype(at::kLong));
  int64_t n_agg = 0;
  DSLA_DISPATCH_INDEX(h->index_dtype(), "amg aggregation", [&] {
    const auto* crow = ptr<index_t>(h->crow());
    const auto* col = ptr<index_t>(h->col());
    if (method == "mis2") {
      auto work = at::empty({3 * n}, out.options());
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
