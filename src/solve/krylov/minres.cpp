// Preconditioned MINRES (Paige–Saunders) for Hermitian, possibly indefinite A; the
// preconditioner must be Hermitian positive definite (rᴴ M r < 0 is reported as Indefinite).
// All recurrence scalars are real, [B, 1, k]. The recurrence residual is in the M⁻¹-norm; it is
// rescaled by the starting ratio of the two norms, and the driver confirms with the true one.
#include <limits>

#include "solve/krylov/krylov.h"

namespace dsla::krylov {

void minres(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  const auto& space = P.A->space();
  auto re_dot = [&](const at::Tensor& a, const at::Tensor& c) {
    return real_scalar(space.dot(a, c));
  };
  auto r1 = b - apply(*P.A, x);
  auto y = precondition(P, r1);
  auto b1sq = re_dot(r1, y);
  auto r1n = space.norm(r1);
  mon.begin(r1n);
  mon.fail(Status::Indefinite, b1sq < 0);
  auto beta1 = at::sqrt(at::clamp_min(b1sq, 0));
  auto ratio = safe_div(beta1, r1n);
  auto zero = at::zeros_like(beta1);
  auto oldb = zero.clone(), beta = beta1.clone(), dbar = zero.clone(), epsln = zero.clone();
  auto phibar = beta1.clone(), cs = -at::ones_like(beta1), sn = zero.clone();
  auto w = at::zeros_like(x), w2 = at::zeros_like(x);
  auto r2 = r1.clone();
  const double tiny = x.scalar_type() == at::kFloat || x.scalar_type() == at::kComplexFloat
                          ? double(std::numeric_limits<float>::epsilon())
                          : std::numeric_limits<double>::epsilon();
  if (!mon.any_active()) return;
  while (!mon.out_of_iterations()) {
    auto v = safe_div(at::ones_like(beta), beta) * y;
    y = apply(*P.A, v);
    y = y - safe_div(beta, oldb) * r1;
    auto alfa = re_dot(v, y);
    y = y - safe_div(alfa, beta) * r2;
    r1 = r2;
    r2 = y;
    y = precondition(P, r2);
    oldb = beta;
    auto bsq = re_dot(r2, y);
    mon.fail(Status::Indefinite, bsq < 0);
    beta = at::sqrt(at::clamp_min(bsq, 0));
    auto oldeps = epsln;
    auto delta = cs * dbar + sn * alfa;
    auto gbar = sn * dbar - cs * alfa;
    epsln = sn * beta;
    dbar = -cs * beta;
    auto gamma = at::clamp_min(at::sqrt(gbar * gbar + beta * beta), tiny);
    cs = gbar / gamma;
    sn = beta / gamma;
    auto phi = cs * phibar;
    phibar = sn * phibar;
    auto w1 = w2;
    w2 = w;
    w = (v - oldeps * w1 - delta * w2) / gamma;
    masked_add_(x, phi, w, mon.active);
    if (mon.step(safe_div(phibar, ratio))) break;
  }
}

}  // namespace dsla::krylov
