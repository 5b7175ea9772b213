// dsla::nonlinear_solve: argument checks, method dispatch, the report and failure policy.
#include <c10/core/GradMode.h>
#include <dsla/errors.h>
#include <dsla/nonlinear.h>

#include <cstdio>

#include "solve/nonlinear/nonlinear_internal.h"

namespace dsla {
namespace {

std::string sci(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", x);
  return buf;
}

}  // namespace

at::Tensor nonlinear_solve(const ResidualFn& F, const at::Tensor& u0, const NonlinearOptions& opt,
                           const JacobianFn& jacobian, const ResidualFn& G,
                           NonlinearInfo* info_out) {
  DSLA_CHECK_ARG(static_cast<bool>(F) || static_cast<bool>(G), "F",
                 "is empty; pass a residual F(u) (or a fixed-point map G for picard/anderson)");
  DSLA_CHECK_ARG(u0.defined() && u0.dim() == 1, "u0", "must be a 1-D tensor [n]; got shape ",
                 u0.defined() ? u0.sizes() : at::IntArrayRef(), " (flatten it)");
  DSLA_CHECK_ARG(opt.maxiter >= 0, "maxiter", "must be >= 0; got ", opt.maxiter);
  DSLA_CHECK_ARG(opt.method != NonlinearMethod::Anderson || opt.anderson_m >= 1, "anderson_m",
                 "must be >= 1; got ", opt.anderson_m);
  DSLA_CHECK_ARG(opt.rtol >= 0 && opt.atol >= 0, "rtol", "rtol and atol must be >= 0; got ",
                 opt.rtol, " and ", opt.atol);
  DSLA_CHECK_ARG(opt.stall >= 0, "stall", "must be >= 0 (0: never); got ", opt.stall);
  // The iterations record no autograd graph (gradients: src/autograd/nonlinear_fn.cpp).
  c10::AutoGradMode ng(false);
  ResidualFn Fr = F ? F : ResidualFn([G](const at::Tensor& u) { return u - G(u); });
  at::Tensor u = u0.detach().clone();
  auto r0 = Fr(u);
  DSLA_CHECK_ARG(r0.sizes() == u0.sizes(), "F", "must return a tensor of u's shape ", u0.sizes(),
                 "; got ", r0.sizes());
  NonlinearInfo info;
  if (opt.method == NonlinearMethod::Newton) {
    u = nonlinear::newton(Fr, u, r0, opt, jacobian, info);
  } else {
    ResidualFn Gm = G;
    if (!Gm) {
      const double w = opt.omega;
      Gm = [Fr, w](const at::Tensor& v) { return v - w * Fr(v); };
    }
    u = nonlinear::fixed_point(Fr, Gm, u, r0, opt, info);
  }
  info.residual = info.residual_history.back();
  info.converged = info.status == "converged" || info.status == "step_tol";
  const char* names[] = {"newton", "picard", "anderson"};
  const std::string method = names[static_cast<int>(opt.method)];
  if (info.message.empty()) {
    info.message = method + (info.converged ? " converged: " : " did not converge: ") +
                   info.status + " after " + std::to_string(info.iterations) +
                   " iterations, ‖F‖ = " + sci(info.residual) + " (from " +
                   sci(info.residual_history.front()) + ")";
  } else {
    info.message = method + " did not converge: " + info.status + ": " + info.message;
  }
  if (!info.converged) {
    if (opt.raise_on_failure) throw SolveError("dsla: " + info.message);
    if (opt.warn) TORCH_WARN("dsla: ", info.message);
  }
  if (info_out) *info_out = std::move(info);
  return u;
}

}  // namespace dsla
