// Internal: the nonlinear iterations (newton.cpp, fixed_point.cpp) behind dsla::nonlinear_solve.
#pragma once

#include <dsla/nonlinear.h>

#include <ATen/ATen.h>

namespace dsla::nonlinear {

inline double vnorm(const at::Tensor& r) {
  return at::linalg_vector_norm(r).item<double>();
}

// Each returns the last iterate and fills info (status, history, counts).
at::Tensor newton(const ResidualFn& F, at::Tensor u, const NonlinearOptions& opt,
                  const JacobianFn& J, NonlinearInfo& info);
at::Tensor fixed_point(const ResidualFn& F, const ResidualFn& G, at::Tensor u,
                       const NonlinearOptions& opt, NonlinearInfo& info);

}  // namespace dsla::nonlinear
