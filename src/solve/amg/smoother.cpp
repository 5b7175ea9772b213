// AMG smoothers: Chebyshev polynomial in D⁻¹A, and l1-Jacobi. Both are symmetric in the A inner
// product (for symmetric A), so equal pre/post sweeps keep the cycle symmetric.
#include <dsla/errors.h>

#include "core/dispatch.h"
#include "core/products.h"
#include "kernels/cpu/amg_kernels.h"
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
  lv.cheb_host.clear();
  if (lv.values.is_cpu() && lv.values.size(0) == 1) {
    lv.cheb_host.push_back(lv.inv_theta.item<double>());
    for (size_t k = 0; k < lv.cheb_a.size(); ++k) {
      lv.cheb_host.push_back(lv.cheb_a[k].item<double>());
      lv.cheb_host.push_back(lv.cheb_b[k].item<double>());
    }
  }
}

namespace {

namespace kc = kernels::cpu;
using dsla::detail::ptr;

// Chebyshev in fused CPU passes (B = 1, k = 1): deg SpMV passes per sweep, no temporaries
// beyond three work vectors.
// The CPU passes (OpenMP kernels, coefficients from the host copy).
void cheb_first_cpu(const Level& lv, const at::Tensor& b, const at::Tensor* x, at::Tensor& r,
                    at::Tensor& d) {
  const auto& a = *lv.a;
  DSLA_DISPATCH_INDEX(a.index_dtype(), "amg smoother", [&] {
    AT_DISPATCH_FLOATING_TYPES(b.scalar_type(), "amg smoother", [&] {
      kc::amg_cheb_first<scalar_t, index_t>(
          a.rows(), ptr<index_t>(a.crow()), ptr<index_t>(a.col()), ptr<scalar_t>(lv.values),
          ptr<scalar_t>(lv.dinv), static_cast<scalar_t>(lv.cheb_host[0]), ptr<scalar_t>(b),
          x ? ptr<scalar_t>(*x) : nullptr, ptr<scalar_t>(r), ptr<scalar_t>(d),
          dsla::detail::num_threads());
    });
  });
}

void cheb_step_cpu(const Level& lv, int64_t k, at::Tensor& r, const at::Tensor& d, at::Tensor& dn,
                   at::Tensor& x, int mode) {
  const auto& a = *lv.a;
  DSLA_DISPATCH_INDEX(a.index_dtype(), "amg smoother", [&] {
    AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "amg smoother", [&] {
      kc::amg_cheb_step<scalar_t, index_t>(
          a.rows(), ptr<index_t>(a.crow()), ptr<index_t>(a.col()), ptr<scalar_t>(lv.values),
          ptr<scalar_t>(lv.dinv), static_cast<scalar_t>(lv.cheb_host[2 * k - 1]),
          static_cast<scalar_t>(lv.cheb_host[2 * k]), ptr<scalar_t>(r), ptr<scalar_t>(d),
          ptr<scalar_t>(dn), ptr<scalar_t>(x), mode, dsla::detail::num_threads());
    });
  });
}

// The one fused Chebyshev sweep loop, on any device whose passes are given.
void smooth_chebyshev_fused(const Level& lv, const at::Tensor& b, at::Tensor& x, bool zero_guess,
                            int64_t sweeps, ChebFirstFn* first, ChebStepFn* step) {
  auto bb = b.contiguous();
  auto r = at::empty_like(bb), d = at::empty_like(bb), dn = at::empty_like(bb);
  const int64_t deg = static_cast<int64_t>(lv.cheb_a.size()) + 1;
  for (int64_t s = 0; s < sweeps; ++s) {
    const bool zero = zero_guess && s == 0;
    if (zero) x = at::empty_like(bb);
    first(lv, bb, zero ? nullptr : &x, r, d);
    if (deg == 1) {
      if (zero) {
        x.copy_(d);
      } else {
        x.add_(d);
      }
      continue;
    }
    for (int64_t k = 1; k < deg; ++k) {
      const int mode = k > 1 ? 0 : (zero ? 2 : 1);
      step(lv, k, r, d, dn, x, mode);
      std::swap(d, dn);
    }
  }
}

}  // namespace

void smooth(const Level& lv, const AmgOptions& opt, const at::Tensor& b, at::Tensor& x,
            bool zero_guess, int64_t sweeps) {
  if (opt.smoother == "chebyshev" && !lv.cheb_host.empty() && b.dim() == 3 && b.size(0) == 1 &&
      b.size(2) == 1 && (zero_guess || (x.is_contiguous() && x.sizes() == b.sizes()))) {
    smooth_chebyshev_fused(lv, b, x, zero_guess, sweeps, &cheb_first_cpu, &cheb_step_cpu);
    return;
  }
  // A device, one system: fused passes (one SpMV kernel per degree), coefficients on the device.
  auto* first = cheb_first_stub.on(b.device());
  auto* step = cheb_step_stub.on(b.device());
  if (first && step && opt.smoother == "chebyshev" && lv.values.size(0) == 1 && b.dim() == 3 &&
      b.size(0) == 1 && b.size(2) == 1 && lv.inv_theta.defined() &&
      (zero_guess || (x.is_contiguous() && x.sizes() == b.sizes()))) {
    smooth_chebyshev_fused(lv, b, x, zero_guess, sweeps, first, step);
    return;
  }
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
