// Right-preconditioned BiCGStab. Breakdown: rho = <r̂, r> = 0 or <r̂, v> = 0, or omega = 0 for a
// system that has not converged at the half step.
#include "solve/krylov/krylov.h"

namespace dsla::krylov {

void bicgstab(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  const auto& space = P.A->space();
  auto r = b - apply(*P.A, x);
  auto rhat = r.clone();
  auto one = at::ones({x.size(0), 1, x.size(2)}, x.options());
  auto rho_old = one.clone(), alpha = one.clone(), omega = one.clone();
  auto v = at::zeros_like(x), p = at::zeros_like(x);
  mon.begin(space.norm(r));
  if (!mon.any_active()) return;
  while (!mon.out_of_iterations()) {
    auto on = mon.active != 0;
    auto rho = space.dot(rhat, r);
    mon.fail(Status::Breakdown, rho == 0);
    auto beta = safe_div(rho, rho_old) * safe_div(alpha, omega);
    p = r + beta * (p - omega * v);
    auto phat = precondition(P, p);
    v = apply(*P.A, phat);
    auto rv = space.dot(rhat, v);
    mon.fail(Status::Breakdown, rv == 0);
    alpha = safe_div(rho, rv) * mon.active;
    auto s = r - alpha * v;
    auto snorm = space.norm(s);
    auto half = snorm <= mon.tol;  // converged at the half step: take x += alpha phat only
    auto shat = precondition(P, s);
    auto t = apply(*P.A, shat);
    auto tt = space.dot(t, t);
    omega = safe_div(space.dot(t, s), tt);
    omega = at::where(half, at::zeros_like(omega), omega) * mon.active;
    mon.fail(Status::Breakdown, at::logical_and(omega == 0, half.logical_not()));
    masked_add_(x, at::ones_like(alpha), alpha * phat + omega * shat, mon.active);
    r = at::where(on, s - omega * t, r);
    rho_old = at::where(on, rho, rho_old);
    if (mon.step(space.norm(r))) break;
  }
}

}  // namespace dsla::krylov
