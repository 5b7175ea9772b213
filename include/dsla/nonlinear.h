// Nonlinear solves F(u) = 0 over C++ callables (the Python package, python/dsla/nonlinear.py,
// implements the same methods over Python functions and adds the implicit-function adjoint).
//
//   Newton    backtracking (Armijo) line search on ½‖F‖²; Jacobian assembled by a callback
//             (linear solves through one Solver, refactored while the pattern is unchanged) or
//             matrix-free (JFNK: GMRES on finite-difference Jacobian-vector products, with
//             linear.M as preconditioner).
//   Picard    u ← G(u) (G defaults to u − omega F(u)).
//   Anderson  Anderson acceleration of G, depth anderson_m, safeguarded (a step that more than
//             doubles ‖F‖ falls back to the Picard step and clears the history).
//
// Converged when ‖F(u)‖ ≤ max(rtol ‖F(u0)‖, atol), or a step ≤ step_tol (1 + ‖u‖). Divergence
// (NaN/Inf, ‖F‖ > divtol ‖F(u0)‖), stagnation, line-search and linear-solve failures are
// reported in NonlinearInfo; raise_on_failure throws dsla::SolveError. Not differentiable.
#pragma once

#include <dsla/solve.h>
#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace dsla {

enum class NonlinearMethod { Newton, Picard, Anderson };

struct NonlinearOptions {
  NonlinearMethod method = NonlinearMethod::Newton;
  double rtol = 1e-8;
  double atol = 0.0;
  double step_tol = 0.0;
  int64_t maxiter = 50;
  bool line_search = true;
  int64_t anderson_m = 5;
  double omega = 1.0;   // default fixed-point map u − omega F(u)
  double divtol = 1e8;  // ‖F‖ > divtol ‖F(u0)‖: diverged
  int64_t stall = 10;   // fixed-point iterations without 1% progress: stagnated
  // Newton's linear solves. Method Auto: LU where this build has a direct backend for u's device
  // (SuiteSparse on the CPU, cuDSS on CUDA), else CG + AMG for symmetric Jacobians with a
  // positive diagonal and GMRES + ILU0 (CPU) / Jacobi (CUDA) otherwise, rtol ≤ 1e-10; JFNK: GMRES.
  SolveOptions linear;
  bool raise_on_failure = false;
  bool warn = true;
};

struct NonlinearInfo {
  bool converged = false;
  // converged, step_tol, max_iterations, diverged, stagnated, line_search_failed,
  // linear_solve_failed
  std::string status = "max_iterations";
  int64_t iterations = 0;
  int64_t function_evals = 0;
  double residual = 0.0;
  std::vector<double> residual_history;
  std::vector<int64_t> linear_iterations;
  std::string linear_solver;  // Newton's inner solver, e.g. "lu", "cg+amg", "jfnk-gmres"
  std::string message;
};

using ResidualFn = std::function<at::Tensor(const at::Tensor& u)>;
using JacobianFn = std::function<SparseMatrix(const at::Tensor& u)>;

// u with F(u) = 0 from u0 ([n]). jacobian: empty for JFNK (Newton); G: the fixed-point map for
// Picard / Anderson (empty: u − omega F(u)).
at::Tensor nonlinear_solve(const ResidualFn& F, const at::Tensor& u0,
                           const NonlinearOptions& opt = {}, const JacobianFn& jacobian = {},
                           const ResidualFn& G = {}, NonlinearInfo* info = nullptr);

}  // namespace dsla
