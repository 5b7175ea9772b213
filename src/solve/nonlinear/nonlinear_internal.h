// Internal: the nonlinear iterations (newton.cpp, fixed_point.cpp) behind dsla::nonlinear_solve,
// and Newton's linear solves (linear_step.cpp), which the adjoint (src/autograd/nonlinear_fn.cpp)
// shares so that forward and backward follow one policy.
#pragma once

#include <dsla/nonlinear.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace dsla::nonlinear {

// ‖r‖ over every row of u's space (a distributed solve: all ranks' slices).
inline double vnorm(const at::Tensor& r, const VectorSpace* space = nullptr) {
  if (space && !space->is_local()) return space->norm(r.reshape({1, -1, 1})).item<double>();
  return at::linalg_vector_norm(r).item<double>();
}

// Whether x is finite on every rank of the space (all ranks agree, so all take one branch).
inline bool finite_everywhere(const at::Tensor& x, const VectorSpace* space) {
  auto bad = at::logical_not(at::isfinite(x)).sum().to(at::kDouble).reshape({1});
  if (space && !space->is_local()) space->reduce_(bad);
  return bad.item<double>() == 0;
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
  if (!(opt.step_tol > 0 && step <= opt.step_tol * (1 + vnorm(u, opt.space.get())))) return false;
  info.iterations = it + 1;
  info.status = rn <= tol ? "converged" : "step_tol";
  return true;
}

// Each returns the last iterate and fills info (status, history, counts); r0 = F(u).
at::Tensor newton(const ResidualFn& F, at::Tensor u, at::Tensor r0, const NonlinearOptions& opt,
                  const JacobianFn& J, NonlinearInfo& info);
at::Tensor fixed_point(const ResidualFn& F, const ResidualFn& G, at::Tensor u, const at::Tensor& r0,
                       const NonlinearOptions& opt, NonlinearInfo& info);

// ---- Newton's linear solves (forward steps and the adjoint) --------------------------------
// The inner tolerance of assembled solves under method Auto: the outer iteration sees J⁻¹ only
// through them.
constexpr double kLinearRtol = 1e-10;

// Assembled Jacobians: one Solver (detail::make_inner_solver) refactored (numeric phase only)
// while J's pattern is unchanged; a CG that fails under method Auto (symmetric but not positive
// definite) is replaced by GMRES for this and later solves.
class AssembledSolve {
 public:
  explicit AssembledSolve(const SolveOptions& user);
  // x with J x = b (adjoint: Jᵀ x = b); si receives the last attempt's info.
  at::Tensor solve(const SparseMatrix& J, const at::Tensor& b, bool adjoint, SolveInfo* si);
  const std::string& name() const { return name_; }

 private:
  SolveOptions lin_;
  Solver solver_;
  std::string name_;
};

// The Krylov options of matrix-free solves: method Auto (or a direct one, which needs a matrix)
// becomes GMRES with restart ≥ 50; no SolveWarning (NonlinearInfo reports). `adjoint` drops M
// (it approximates J⁻¹, not J⁻ᵀ) and caps rtol at kLinearRtol (gradients need an accurate λ).
SolveOptions matrix_free_options(const SolveOptions& user, bool adjoint);
// x with A x = b for the matrix-free A (products column by column), its reductions through
// `space` (nullptr: one process).
at::Tensor solve_matrix_free(const JvpFn& A, const at::Tensor& b, const SolveOptions& o,
                             SolveInfo* si, std::shared_ptr<const VectorSpace> space = nullptr);
// Finite-difference products (F(u + ε v) − F(u)) / ε, ε = √eps(dtype) (1 + ‖u‖) / ‖v‖ (norms
// through `space`: every rank takes the same ε).
JvpFn fd_jvp(const ResidualFn& F, const at::Tensor& u, const at::Tensor& Fu,
             std::shared_ptr<const VectorSpace> space = nullptr);

}  // namespace dsla::nonlinear
