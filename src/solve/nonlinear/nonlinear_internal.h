// Internal: the nonlinear iterations (newton.cpp, fixed_point.cpp) behind dsla::nonlinear_solve.
#pragma once

#include <dsla/nonlinear.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace dsla::nonlinear {

inline double vnorm(const at::Tensor& r) {
  return at::linalg_vector_norm(r).item<double>();
}

// The stop test every nonlinear loop makes at the top of iteration `it` with residual norm rn
// (r0 the initial one): "diverged", "converged", "max_iterations", or nullptr to go on.
inline const char* stop_status(double rn, double r0, double tol, int64_t it,
                               const NonlinearOptions& opt) {
  if (!std::isfinite(rn) || rn > opt.divtol * std::max(r0, 1e-300)) return "diverged";
  if (rn <= tol) return "converged";
  if (it == opt.maxiter) return "max_iterations";
  return nullptr;
}

// The step-size stop after an accepted step of length `step` to u at iteration it: true (info's
// iterations and status set) when the step is below step_tol relative to |u| (|u| is only
// computed, a host sync, when step_tol is on).
inline bool step_stop(double step, const at::Tensor& u, double rn, double tol, int64_t it,
                      const NonlinearOptions& opt, NonlinearInfo& info) {
  if (!(opt.step_tol > 0 && step <= opt.step_tol * (1 + vnorm(u)))) return false;
  info.iterations = it + 1;
  info.status = rn <= tol ? "converged" : "step_tol";
  return true;
}

// Each returns the last iterate and fills info (status, history, counts).
at::Tensor newton(const ResidualFn& F, at::Tensor u, const NonlinearOptions& opt,
                  const JacobianFn& J, NonlinearInfo& info);
at::Tensor fixed_point(const ResidualFn& F, const ResidualFn& G, at::Tensor u,
                       const NonlinearOptions& opt, NonlinearInfo& info);

}  // namespace dsla::nonlinear
