// dsla::nonlinear_solve: argument checks, method dispatch, failure policy.
#include <c10/core/GradMode.h>
#include <dsla/errors.h>
#include <dsla/nonlinear.h>

#include <sstream>

#include "solve/nonlinear/nonlinear_internal.h"

namespace dsla {

at::Tensor nonlinear_solve(const ResidualFn& F, const at::Tensor& u0, const NonlinearOptions& opt,
                           const JacobianFn& jacobian, const ResidualFn& G,
                           NonlinearInfo* info_out) {
  DSLA_CHECK_ARG(static_cast<bool>(F) || static_cast<bool>(G), "F",
                 "is empty; pass a residual F(u) (or a fixed-point map G for picard/anderson)");
  DSLA_CHECK_ARG(u0.defined() && u0.dim() == 1, "u0", "must be a 1-D tensor [n]");
  DSLA_CHECK_ARG(opt.maxiter >= 0, "maxiter", "must be >= 0; got ", opt.maxiter);
  DSLA_CHECK_ARG(opt.method != NonlinearMethod::Anderson || opt.anderson_m >= 1, "anderson_m",
                 "must be >= 1; got ", opt.anderson_m);
  DSLA_CHECK_ARG(opt.method != NonlinearMethod::Newton || static_cast<bool>(F), "F",
                 "newton needs the residual F");
  ResidualFn Fr = F ? F : ResidualFn([G](const at::Tensor& u) { return u - G(u); });
  auto r0 = Fr(u0);
  DSLA_CHECK_ARG(r0.sizes() == u0.sizes(), "F", "must return a tensor of u's shape ", u0.sizes(),
                 "; got ", r0.sizes());
  c10::AutoGradMode ng(false);
  NonlinearInfo info;
  at::Tensor u = u0.detach().clone();
  if (opt.method == NonlinearMethod::Newton) {
    u = nonlinear::newton(Fr, u, opt, jacobian, info);
  } else {
    ResidualFn Gm = G;
    if (!Gm) {
      const double w = opt.omega;
      Gm = [Fr, w](const at::Tensor& v) { return v - w * Fr(v); };
    }
    u = nonlinear::fixed_point(Fr, Gm, u, opt, info);
  }
  info.residual = info.residual_history.empty() ? 0.0 : info.residual_history.back();
  info.converged = info.status == "converged" || info.status == "step_tol";
  const char* names[] = {"newton", "picard", "anderson"};
  std::ostringstream msg;
  msg << names[static_cast<int>(opt.method)]
      << (info.converged ? " converged: " : " did not converge: ") << info.status << " after "
      << info.iterations << " iterations, |F| = " << info.residual;
  if (!info.message.empty()) msg << " (" << info.message << ")";
  info.message = msg.str();
  if (!info.converged) {
    if (opt.raise_on_failure) throw SolveError("dsla: " + info.message);
    if (opt.warn) TORCH_WARN("dsla: ", info.message);
  }
  if (info_out) *info_out = std::move(info);
  return u;
}

}  // namespace dsla
