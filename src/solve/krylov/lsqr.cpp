// LSQR (Paige–Saunders): min ‖A x − b‖² + damp² ‖x‖² for rectangular A, through Golub–Kahan
// bidiagonalization (needs Aᴴ). Stops when ‖r‖ ≤ max(rtol ‖b‖, atol) or ‖Aᴴ r‖ ≤ rtol ‖A‖_F ‖r‖,
// on the augmented system [A; damp I] when damped (its residual includes damp ‖x‖).
#include "solve/krylov/krylov.h"

namespace dsla::krylov {

void lsqr(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  const double rtol = P.opt->rtol, damp = P.opt->damp;
  const double anorm = std::sqrt(
      P.anorm * P.anorm + damp * damp * static_cast<double>(P.A->space().global_rows(P.A->cols())));
  Bidiagonalization gk(P, b, x);
  const auto &v = gk.v, &alfa = gk.alpha, &beta = gk.beta;
  auto w = v.clone();
  auto phibar = beta.clone(), rhobar = alfa.clone();
  auto res2 = at::zeros_like(beta);  // Σ psi²: the damping rows' share of the residual
  mon.begin(beta);
  mon.set_active(at::logical_and(mon.active != 0, alfa * beta > 0));
  if (!mon.any_active()) return;
  while (!mon.out_of_iterations()) {
    gk.step(P);
    if (damp > 0) {
      // Eliminate the damping row first (a rotation of rhobar against damp).
      auto rhobar1 = at::sqrt(rhobar * rhobar + damp * damp);
      auto psi = safe_div(damp * phibar, rhobar1);
      phibar = safe_div(rhobar * phibar, rhobar1);
      rhobar = rhobar1;
      res2 = res2 + psi * psi;
    }
    auto rho = at::sqrt(rhobar * rhobar + beta * beta);
    auto c = safe_div(rhobar, rho), s = safe_div(beta, rho);
    auto theta = s * alfa;
    rhobar = -c * alfa;
    auto phi = c * phibar;
    phibar = s * phibar;
    masked_add_(x, safe_div(phi, rho), w, mon.active);
    w = v - safe_div(theta, rho) * w;
    auto arnorm = (phibar * alfa * c).abs();  // phibar changes sign under damping
    auto rnorm = damp > 0 ? at::sqrt(phibar * phibar + res2) : phibar;
    auto done = at::logical_or(rnorm <= mon.tol, arnorm <= rtol * anorm * rnorm);
    if (mon.step_done(done, rnorm)) break;
  }
}

}  // namespace dsla::krylov
