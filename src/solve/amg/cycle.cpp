// The one V / W cycle (cycle.h): pre-smoothing, restriction of the residual, the coarse
// correction (one cycle of the next level from zero, twice for W), prolongation, post-smoothing.
#include "solve/amg/cycle.h"

#include <ATen/ATen.h>

namespace dsla::amg::detail {

void cycle(const std::vector<const CycleLevel*>& levels, const CoarseSolve& coarse,
           const CycleShape& shape, size_t l, const at::Tensor& b, at::Tensor& x, bool zero_guess) {
  if (l == levels.size()) {
    coarse(b, x, zero_guess);
    return;
  }
  const CycleLevel& L = *levels[l];
  bool zero = zero_guess;
  if (shape.pre_sweeps > 0) {
    L.smooth(b, x, zero, shape.pre_sweeps);
    zero = false;
  }
  auto r = zero ? b : L.residual(b, x);
  auto rc = L.restrict_to_coarse(r);
  at::Tensor xc;
  cycle(levels, coarse, shape, l + 1, rc, xc, true);
  // W: a second coarse cycle from the first's answer, except right above the coarsest solve
  // (which is exact, or as good as another pass of it).
  if (shape.w_cycle && l + 1 < levels.size()) cycle(levels, coarse, shape, l + 1, rc, xc, false);
  auto corr = L.prolong(xc);
  if (zero) {
    x = corr;
  } else {
    x.add_(corr);
  }
  if (shape.post_sweeps > 0) L.smooth(b, x, false, shape.post_sweeps);
}

}  // namespace dsla::amg::detail
