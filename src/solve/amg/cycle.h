// The multigrid cycle, once for every kind of level: a level is what the cycle needs of it — a
// smoother, a residual, and the transfers to the next level — so the levels of a one-device
// hierarchy (hierarchy.cpp) and the distributed levels of src/dist/amg (products with halo
// exchanges, restriction by a reverse exchange) run the same V / W cycle. The coarsest solve is
// the caller's: a dense inverse, smoothing, or (distributed) the gathered replicated hierarchy.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace dsla::amg::detail {

class CycleLevel {
 public:
  virtual ~CycleLevel() = default;
  // `sweeps` smoothing sweeps for A x = b from x (zero_guess: x is not read, it is rebound).
  virtual void smooth(const at::Tensor& b, at::Tensor& x, bool zero_guess,
                      int64_t sweeps) const = 0;
  // b − A x.
  virtual at::Tensor residual(const at::Tensor& b, const at::Tensor& x) const = 0;
  // Pᵀ r on the next level (Rᴴ for complex: the restriction is the prolongator's adjoint).
  virtual at::Tensor restrict_to_coarse(const at::Tensor& r) const = 0;
  // P xc on this level.
  virtual at::Tensor prolong(const at::Tensor& xc) const = 0;
};

// x ← the coarsest solve of A x = b from x (zero_guess: x is not read, it is rebound).
using CoarseSolve = std::function<void(const at::Tensor& b, at::Tensor& x, bool zero_guess)>;

struct CycleShape {
  int64_t pre_sweeps = 1, post_sweeps = 1;
  bool w_cycle = false;
};

// One cycle from level l for A_l x = b: levels[l] .. levels.back() are the levels with a next
// level; below the last of them, `coarse`. b, x: [B, n_l, k].
void cycle(const std::vector<const CycleLevel*>& levels, const CoarseSolve& coarse,
           const CycleShape& shape, size_t l, const at::Tensor& b, at::Tensor& x, bool zero_guess);

}  // namespace dsla::amg::detail
