// Nonlinear solves F(u) = 0 over callables: the one implementation (python/dsla/nonlinear.py is a
// thin wrapper that passes Python functions in through src/bindings/bind_nonlinear.cpp).
//
//   Newton    backtracking (Armijo) line search on ½‖F‖²; Jacobian assembled by a callback
//             (linear solves through one Solver, refactored while the pattern is unchanged, GMRES
//             once CG fails) or matrix-free (JFNK: GMRES on Jacobian-vector products — finite
//             differences, or `jvp`, e.g. exact ones from autograd_jvp — with linear.M as
//             preconditioner).
//   Picard    u ← G(u) (G defaults to u − omega F(u)).
//   Anderson  Anderson acceleration of G, depth anderson_m, safeguarded (a step that more than
//             doubles ‖F‖ falls back to the Picard step and clears the history).
//
// Converged when ‖F(u)‖ ≤ max(rtol ‖F(u0)‖, atol), or a step ≤ step_tol (1 + ‖u‖). Divergence
// (NaN/Inf, ‖F‖ > divtol ‖F(u0)‖), stagnation, line-search and linear-solve failures are
// reported in NonlinearInfo; raise_on_failure throws dsla::SolveError.
//
// Gradients (implicit-function rule, src/autograd/nonlinear_fn.cpp): the overload taking
// `inputs` (the tensors F reads that should receive gradients, e.g. θ or a matrix's values)
// returns u* as one autograd node whose backward solves (∂F/∂u)ᵀ λ = g at u* (the Solver's
// adjoint with an assembled Jacobian, GMRES on vector-Jacobian products otherwise) and gives
// −λᵀ ∂F/∂inputs (one vjp). Memory does not grow with the iteration count.
#pragma once

#include <dsla/linear_operator.h>
#include <dsla/solve.h>
#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dsla {

enum class NonlinearMethod { Newton, Picard, Anderson };

using ResidualFn = std::function<at::Tensor(const at::Tensor& u)>;
using JacobianFn = std::function<SparseMatrix(const at::Tensor& u)>;
// v ↦ J(u) v at one Newton iterate (v and the result: [n]).
using JvpFn = std::function<at::Tensor(const at::Tensor& v)>;
// Called once per matrix-free Newton step with u and F(u); returns that step's products.
using LinearizeFn = std::function<JvpFn(const at::Tensor& u, const at::Tensor& Fu)>;

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
  int64_t stall = 10;   // fixed-point iterations without 1% progress: stagnated (0: never)
  // Newton's linear solves. Method Auto: LU where this build has a direct backend for u's device
  // (SuiteSparse on the CPU, cuDSS on CUDA), else CG + AMG for symmetric Jacobians with a
  // positive diagonal and GMRES + ILU0 (CPU) / Jacobi (CUDA) otherwise, rtol ≤ 1e-10;
  // JFNK: GMRES (restart ≥ 50 under Auto), preconditioned by linear.M when given.
  SolveOptions linear;
  // JFNK's Jacobian-vector products; empty: finite differences of F (one F call per product).
  LinearizeFn jvp;
  // The space of u's rows. A distributed solve (dsla::dist::nonlinear_options): u and F(u) are
  // this rank's owned slices and every norm and inner product goes through the space, so every
  // rank takes the same steps. nullptr: one process.
  std::shared_ptr<const VectorSpace> space;
  // Newton's linear solves J(u) x = b (Jᴴ x = b with `adjoint`) by the caller's policy, used
  // instead of `jacobian` + dsla's Solver (a distributed Jacobian: a DistSolver refactored per
  // step). `name` receives the inner solver's name.
  std::function<at::Tensor(const at::Tensor& u, const at::Tensor& b, bool adjoint, SolveInfo* si,
                           std::string* name)>
      linear_step;
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
  // Newton's inner solver, e.g. "lu", "cg+amg", "gmres+ilu0", "jfnk-gmres" ("+user" with
  // linear.M)
  std::string linear_solver;
  std::string message;
};

// u with F(u) = 0 from u0 ([n]). jacobian: empty for JFNK (Newton); G: the fixed-point map for
// Picard / Anderson (empty: u − omega F(u)). F may be empty when G is given (F = u − G(u)).
// Not differentiable: runs without autograd recording.
at::Tensor nonlinear_solve(const ResidualFn& F, const at::Tensor& u0,
                           const NonlinearOptions& opt = {}, const JacobianFn& jacobian = {},
                           const ResidualFn& G = {}, NonlinearInfo* info = nullptr);

// The same solve, differentiable in `inputs`: the tensors F reads (captured in its closure) that
// should receive gradients. F must be differentiable by torch autograd in them.
at::Tensor nonlinear_solve(const ResidualFn& F, const at::Tensor& u0,
                           const std::vector<at::Tensor>& inputs, const NonlinearOptions& opt = {},
                           const JacobianFn& jacobian = {}, const ResidualFn& G = {},
                           NonlinearInfo* info = nullptr);

// u_star (a solution of F(u) = 0 found any way) as a function of `inputs` by the implicit-function
// rule: one autograd node (opt.linear and jacobian choose the adjoint solve, as for Newton).
// Returns u_star unchanged when no input requires grad or grad mode is off.
at::Tensor with_implicit_gradient(const ResidualFn& F, const at::Tensor& u_star,
                                  const std::vector<at::Tensor>& inputs,
                                  const NonlinearOptions& opt = {},
                                  const JacobianFn& jacobian = {});

// Exact Jacobian-vector products for JFNK by the double-vjp trick (wᵀJ by autograd with a graph,
// then its derivative in w): F must be differentiable by torch autograd in u.
LinearizeFn autograd_jvp(ResidualFn F);

}  // namespace dsla
