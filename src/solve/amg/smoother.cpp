// AMG smoothers: Chebyshev polynomial in D⁻¹A, and l1-Jacobi. Both are symmetric in the A inner
// product (for symmetric A), so equal pre/post sweeps keep the cycle symmetric.
#include <dsla/errors.h>

#include "core/products.h"
#include "solve/amg/amg_internal.h"

namespace dsla::amg::detail {

at::Tensor residual(const Level& lv, const at::Tensor& b, const at::Tensor& x) {
  return b - dsla::detail::spmm(*lv.a, lv.values, x);
}

void setup_smoother(Level& lv, const AmgOptions& opt) {
  if (opt.smoother == "l1_jacobi") {
    // l1 row sums: |a_ii| + Σ_j≠i |a_ij| (convergent for any SPD A without damping).
    const int64_t B = lv.values.size(0), n = lv.a->rows();
    auto l1 = at::zeros({B, n}, lv.values.options())
                  .index_add_(1, lv.a->row().to(at::kLong), lv.values.abs());
    lv.l1inv = (opt.jacobi_omega / l1).view({B, n, 1});
    return;
  }
  // Chebyshev on [hi / ratio, hi] with hi = 1.1 ρ̂ (the Lanczos estimate is from below).
  auto hi = lv.rho * 1.1, lo = hi / opt.chebyshev_ratio;
  auto theta = (hi + lo) * 0.5, delta = (hi - lo) * 0.5;
  auto sigma = theta / delta;
  lv.inv_theta = 1.0 / theta;
  lv.cheb_a.clear();
  lv.cheb_b.clear();
  auto rho0 = 1.0 / sigma;
  for (int64_t k = 1; k < opt.chebyshev_degree; ++k) {
    auto rho1 = 1.0 / (2.0 * sigma - rho0);
    lv.cheb_a.push_back(rho1 * rho0);
    lv.cheb_b.push_back(2.0 * rho1 / delta);
    rho0 = rho1;
  }
}

void smooth(const Level& lv, const AmgOptions& opt, const at::Tensor& b, at::Tensor& x,
            bool zero_guess, int64_t sweeps) {
  for (int64_t s = 0; s < sweeps; ++s) {
    const bool zero = zero_guess && s == 0;
    at::Tensor r = zero ? b : residual(lv, b, x);
    if (opt.smoother == "l1_jacobi") {
      if (zero) {
        x = lv.l1inv * r;
      } else {
        x.add_(lv.l1inv * r);
      }
      continue;
    }
    auto d = lv.dinv * r * lv.inv_theta;
    if (zero) {
      x = d.clone();
    } else {
      x.add_(d);
    }
    for (size_t k = 0; k < lv.cheb_a.size(); ++k) {
      r = r - dsla::detail::spmm(*lv.a, lv.values, d);
      d = lv.cheb_a[k] * d + lv.cheb_b[k] * (lv.dinv * r);
      x.add_(d);
    }
  }
}

}  // namespace dsla::amg::detail
