// LSMR (Fong–Saunders): min ‖A x − b‖² + damp² ‖x‖² with ‖Aᴴ r‖ decreasing monotonically; the
// same bidiagonalization as LSQR and the same stopping rule (on [A; damp I] when damped). Norm
// estimates of r and Aᴴ r follow the published recurrences.
#include "solve/krylov/krylov.h"

namespace dsla::krylov {

namespace {
// (c, s, r) with r = hypot(a, b) >= 0, c = a / r, s = b / r (c = 1, s = 0 when r = 0).
void sym_ortho(const at::Tensor& a, const at::Tensor& b, at::Tensor& c, at::Tensor& s,
               at::Tensor& r) {
  r = at::sqrt(a * a + b * b);
  c = at::where(r > 0, safe_div(a, r), at::ones_like(r));
  s = safe_div(b, r);
}
}  // namespace

void lsmr(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  const double rtol = P.opt->rtol, damp = P.opt->damp;
  const double anorm = std::sqrt(
      P.anorm * P.anorm + damp * damp * static_cast<double>(P.A->space().global_rows(P.A->cols())));
  Bidiagonalization gk(P, b, x);
  const auto &v = gk.v, &alpha = gk.alpha, &beta = gk.beta;
  auto zero = at::zeros_like(beta), one = at::ones_like(beta);
  auto zetabar = alpha * beta, alphabar = alpha.clone();
  auto rho = one.clone(), rhobar = one.clone(), cbar = one.clone(), sbar = zero.clone();
  auto h = v.clone(), hbar = at::zeros_like(x);
  auto betadd = beta.clone(), betad = zero.clone(), rhodold = one.clone();
  auto tautildeold = zero.clone(), thetatilde = zero.clone(), zeta = zero.clone();
  auto d = zero.clone();
  mon.begin(beta);
  mon.set_active(at::logical_and(mon.active != 0, alpha * beta > 0));
  at::Tensor c, s, tmp, chat, shat, alphahat;
  auto dampt = at::full_like(beta, damp);
  if (!mon.any_active()) return;
  while (!mon.out_of_iterations()) {
    gk.step(P);
    // The damping row's rotation (the identity when damp = 0: alphahat = alphabar).
    sym_ortho(alphabar, dampt, chat, shat, alphahat);
    auto rhoold = rho;
    sym_ortho(alphahat, beta, c, s, rho);
    auto thetanew = s * alpha;
    alphabar = c * alpha;
    auto rhobarold = rhobar, zetaold = zeta;
    auto thetabar = sbar * rho;
    auto rhotemp = cbar * rho;
    sym_ortho(rhotemp, thetanew, cbar, sbar, rhobar);
    zeta = cbar * zetabar;
    zetabar = -sbar * zetabar;
    hbar = h - safe_div(thetabar * rho, rhoold * rhobarold) * hbar;
    masked_add_(x, safe_div(zeta, rho * rhobar), hbar, mon.active);
    h = v - safe_div(thetanew, rho) * h;
    // ‖r‖ estimate.
    auto betaacute = chat * betadd;
    auto betacheck = -shat * betadd;
    auto betahat = c * betaacute;
    betadd = -s * betaacute;
    auto thetatildeold = thetatilde;
    at::Tensor ctildeold, stildeold, rhotildeold;
    sym_ortho(rhodold, thetabar, ctildeold, stildeold, rhotildeold);
    thetatilde = stildeold * rhobar;
    rhodold = ctildeold * rhobar;
    betad = -stildeold * betad + ctildeold * betahat;
    tautildeold = safe_div(zetaold - thetatildeold * tautildeold, rhotildeold);
    auto taud = safe_div(zeta - thetatilde * tautildeold, rhodold);
    d = d + betacheck * betacheck;
    auto normr = at::sqrt(d + (betad - taud) * (betad - taud) + betadd * betadd);
    auto normar = zetabar.abs();
    auto done = at::logical_or(normr <= mon.tol, normar <= rtol * anorm * normr);
    if (mon.step_done(done, normr)) break;
  }
}

}  // namespace dsla::krylov
