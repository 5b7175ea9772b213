// LSQR (Paige–Saunders): min ‖A x − b‖ for rectangular A, through Golub–Kahan bidiagonalization
// (needs Aᴴ). Stops when ‖r‖ ≤ max(rtol ‖b‖, atol) or ‖Aᴴ r‖ ≤ rtol ‖A‖_F ‖r‖.
#include "solve/krylov/krylov.h"

namespace dsla::krylov {

void lsqr(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  const double rtol = P.opt->rtol;
  Bidiagonalization gk(P, b, x);
  const auto &v = gk.v, &alfa = gk.alpha, &beta = gk.beta;
  auto w = v.clone();
  auto phibar = beta.clone(), rhobar = alfa.clone();
  mon.begin(beta);
  mon.set_active(at::logical_and(mon.active != 0, alfa * beta > 0));
  if (!mon.any_active()) return;
  while (!mon.out_of_iterations()) {
    gk.step(P);
    auto rho = at::sqrt(rhobar * rhobar + beta * beta);
    auto c = safe_div(rhobar, rho), s = safe_div(beta, rho);
    auto theta = s * alfa;
    rhobar = -c * alfa;
    auto phi = c * phibar;
    phibar = s * phibar;
    masked_add_(x, safe_div(phi, rho), w, mon.active);
    w = v - safe_div(theta, rho) * w;
    auto arnorm = phibar * alfa * c.abs();
    auto done = at::logical_or(phibar <= mon.tol, arnorm <= rtol * P.anorm * phibar);
    if (mon.step_done(done, phibar)) break;
  }
}

}  // namespace dsla::krylov
