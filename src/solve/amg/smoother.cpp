// AMG smoothing: each level holds an ordinary smoothing preconditioner (src/solve/precond
// smoothing.h) — the Chebyshev polynomial in D⁻¹A a user gets with precond='chebyshev', on the
// high end of the spectrum, l1-Jacobi, or multicolor symmetric Gauss–Seidel / DILU (the
// precond='mc_sgs' / 'dilu' objects). Both are symmetric in the A inner product (for
// symmetric A), so equal pre/post sweeps keep the cycle symmetric. The spectral estimate is the
// one of src/solve/precond too; AMG shares it between the smoother and the prolongator damping.
#include <dsla/errors.h>

#include <dsla/structure.h>

#include "core/products.h"
#include "solve/amg/amg_internal.h"

namespace dsla::amg::detail {

namespace {
at::Tensor on_device(const at::Tensor& lmax, const at::Tensor& values) {
  return lmax.view({-1, 1, 1}).to(values.device(), values.scalar_type());
}
}  // namespace

at::Tensor residual(const Level& lv, const at::Tensor& b, const at::Tensor& x) {
  return b - dsla::detail::spmm(*lv.a, lv.values, x);
}

void estimate_spectrum(Level& lv, int64_t steps, bool symmetric) {
  // At least two steps (one Lanczos step sees only the Rayleigh quotient of the start vector).
  lv.spectrum = precond::detail::estimate_spectrum(*lv.a, lv.values, lv.dinv,
                                                   std::max<int64_t>(2, steps), symmetric);
  lv.rho = on_device(lv.spectrum.lmax, lv.values);
}

at::Tensor estimate_rho(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv,
                        int64_t steps, bool symmetric) {
  auto est =
      precond::detail::estimate_spectrum(a, values, dinv, std::max<int64_t>(2, steps), symmetric);
  return on_device(est.lmax, values);
}

void setup_smoother(Level& lv, const AmgOptions& opt, bool symmetric) {
  const int64_t B = lv.values.size(0);
  SparseMatrix A(lv.a, B == 1 ? lv.values.select(0, 0) : lv.values, false);
  if (opt.smoother == "l1_jacobi") {
    lv.smoother = precond::detail::make_l1_jacobi_smoother(A, opt.jacobi_omega);
    return;
  }
  if (opt.smoother == "mc_sgs" || opt.smoother == "dilu") {
    // A multicolor sweep is one kernel per color: on the dense Galerkin operators of coarse 3-D
    // levels the coloring needs hundreds of colors (H200, poisson3d:64: 140 ms per AMG-PCG
    // iteration against 4 ms with Chebyshev), so a level with more than kMaxColors colors is
    // smoothed by the Chebyshev polynomial (its spectral estimate is there) — name() says which.
    constexpr int64_t kMaxColors = 32;
    if (color_rows(A).count <= kMaxColors || !lv.spectrum.lmax.defined()) {
      lv.smoother = precond::detail::make_multicolor_smoother(A, opt.smoother);
      return;
    }
  }
  lv.smoother = precond::detail::make_chebyshev_smoother(
      A, lv.dinv, lv.spectrum, opt.chebyshev_degree, opt.chebyshev_ratio, symmetric);
}

void smooth(const Level& lv, const at::Tensor& b, at::Tensor& x, bool zero_guess, int64_t sweeps) {
  lv.smoother->smooth(b, x, zero_guess, sweeps);
}

}  // namespace dsla::amg::detail
