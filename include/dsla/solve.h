// Linear solves A x = b: Krylov methods, direct factorizations, and a prepared Solver, all
// differentiable in A's values and b by the adjoint rule (one more solve with Aᴴ in backward).
//
// Shapes: A [n, m] with b [n] or [n, k]; a batch of matrices (values [B, nnz]) with b [B, n],
// [B, n, k], or an unbatched b broadcast to every member. x has b's shape with n -> m.
//
// Convergence (SciPy semantics): system j has converged when ‖b_j − A x_j‖ ≤ max(rtol ‖b_j‖, atol).
// The residual is recomputed as b − A x at exit (a recurrence residual can drift): SolveInfo
// reports that true residual, never the estimate. Least squares (LSQR, LSMR) also accept
// ‖Aᴴ r‖ ≤ rtol ‖A‖_F ‖r‖ (an inconsistent system's minimum-norm residual is not small).
#pragma once

#include <dsla/errors.h>
#include <dsla/linear_operator.h>
#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dsla {

enum class Method { Auto, CG, BiCGStab, GMRES, FGMRES, MINRES, LSQR, LSMR, Cholesky, LDLT, LU };

enum class Status {
  Converged,      // every system met the tolerance (true residual)
  MaxIterations,  // maxiter reached first
  Breakdown,      // a Krylov recurrence divided by zero (BiCGStab rho/omega, singular Hessenberg)
  Indefinite,     // CG met pᴴAp ≤ 0 (A not positive definite) or MINRES met an indefinite M
  Singular,       // a direct factorization met a zero pivot
  NotFinite,      // NaN or Inf appeared (input or iteration)
  Stagnated,      // restarts stopped reducing the true residual (tolerance below precision)
  Inaccurate,     // direct solve whose residual stays above the tolerance after refinement
};

std::string to_string(Method m);
std::string to_string(Status s);
// "auto", "cg", "bicgstab", "gmres", "fgmres", "minres", "lsqr", "lsmr", "cholesky", "ldlt", "lu".
Method parse_method(const std::string& name);
bool is_direct(Method m);

struct SolveOptions {
  Method method = Method::Auto;
  // Preconditioner for iterative methods: "auto" (Jacobi where the diagonal allows it), "none",
  // "jacobi", ... (see precond::Options::kind). Ignored by direct methods.
  std::string precond = "auto";
  int64_t precond_block_size = 0;  // block_jacobi block (0: auto)
  double precond_omega = 1.0;      // ssor relaxation
  int64_t precond_degree = 3;      // chebyshev degree
  LinearOperatorPtr M;             // user preconditioner z = M r (overrides `precond`)
  // Relative tolerance. Default 1e-8: a differentiable solve's gradient is only as accurate as
  // the forward and adjoint solves, and 1e-8 keeps gradients good to about 6 digits.
  double rtol = 1e-8;
  double atol = 0.0;
  int64_t maxiter = -1;  // total iterations (matrix-vector products); -1: 10 n (at least 100)
  int64_t restart = 30;  // GMRES/FGMRES Krylov dimension per cycle
  // LSQR/LSMR only: min ‖A x − b‖² + damp² ‖x‖² (Tikhonov / ridge), as SciPy's damp.
  double damp = 0.0;
  at::Tensor x0;                  // initial guess, b's shape with n -> m (undefined: zeros)
  bool raise_on_failure = false;  // non-convergence throws dsla::SolveError
  bool warn = true;               // non-convergence prints a warning (TORCH_WARN)
  // Called at each convergence check with the iteration and the largest relative residual
  // estimate over the systems (costs one host read per check).
  std::function<void(int64_t, double)> callback;
  // Called at each convergence check with the current iterate x ([B, n, k], not to be modified;
  // SciPy's callback(xk)). GMRES forms x at its restarts: it passes the last one.
  std::function<void(const at::Tensor&)> callback_x;
  // Iterations between convergence checks; 0: 1 on the CPU and with a preconditioner beyond
  // Jacobi (one check costs a host read, an AMG cycle far more), 16 on CUDA otherwise.
  int64_t check_every = 0;
  bool history = false;           // record (iteration, residual estimate) at each check
  std::string ordering = "auto";  // direct methods: "auto", "amd", "metis", "natural", "nesdis"
};

// Named solver settings for common problem classes: "<class>-<target>" with class
//   spd         symmetric (Hermitian) positive definite
//   general     nonsymmetric, diffusion-like (no dominant convection)
//   indefinite  symmetric (Hermitian) indefinite
//   convection  convection-dominated transport (strongly nonsymmetric, high Péclet number)
// and target cpu, gpu (iterative methods chosen for that device) or direct (a sparse
// factorization: SuiteSparse on the CPU, cuDSS on CUDA). A preset sets method, precond, restart
// and ordering (the choice of algorithm) and leaves tolerances, maxiter and the rest at their
// defaults. The reasons for each choice are in src/solve/presets.cpp. Python: dsla.presets,
// dsla.config(preset); CLI: dsla solve --preset NAME.
struct SolvePreset {
  std::string name;
  std::string description;
  Method method = Method::Auto;
  std::string precond = "auto";
  int64_t restart = 30;
  std::string ordering = "auto";
};
// Every preset, in a fixed order (classes as listed above, targets cpu, gpu, direct).
const std::vector<SolvePreset>& solve_presets();
// The preset of this name (ValueError naming `arg` and listing the names when there is none).
const SolvePreset& solve_preset(const std::string& name, const char* arg = "preset");
// `opt` with the preset's method, precond, restart and ordering.
SolveOptions with_preset(SolveOptions opt, const SolvePreset& preset);

struct SolveInfo {
  int64_t iterations = 0;
  double residual = 0.0;  // max over systems of the true ‖b − A x‖ / ‖b‖ (0 when b = 0)
  at::Tensor residuals;   // per system, [B, k] (float64, CPU)
  bool converged = false;
  Status status = Status::Converged;
  Method method = Method::Auto;  // the method actually used
  std::string preconditioner;    // the preconditioner actually used ("none" for direct)
  std::string message;
  double setup_time = 0.0;  // seconds (Solver construction / refactor)
  double solve_time = 0.0;  // seconds
  std::vector<int64_t> history_iterations;
  std::vector<double> history_residuals;
  std::string summary() const;
};

// A solve prepared once for one matrix (or batch): holds the factorization(s) or the
// preconditioner, so solve, solve_adjoint, many right-hand sides and backward passes reuse them.
// Copies share the prepared state.
class Solver {
 public:
  Solver() = default;
  explicit Solver(const SparseMatrix& A, const SolveOptions& opt = {});

  // x = A⁻¹ b (not differentiable; dsla::solve(solver, b) is). b: [n], [n, k], [B, n], [B, n, k].
  at::Tensor solve(const at::Tensor& b, SolveInfo* info = nullptr) const;
  // x = A⁻ᴴ b with the same factorization / preconditioner.
  at::Tensor solve_adjoint(const at::Tensor& b, SolveInfo* info = nullptr) const;
  // New values (same pattern, shape and dtype): redoes only the numeric phase.
  void refactor(const at::Tensor& values);
  // The solver of Aᴴ sharing this one's state (its matrix is A.conj_transpose()).
  Solver adjoint() const;
  // The same solver whose matrix() values are detached (what autograd nodes keep).
  Solver detached() const;

  bool defined() const { return impl_ != nullptr; }
  // The matrix, with the values as given (they may require grad).
  const SparseMatrix& matrix() const;
  Method method() const;
  std::string preconditioner() const;
  // The direct factorization behind a direct method (e.g. "cholmod-supernodal-llt(amd)",
  // "cholmod-supernodal-llt(nd, split)", "umfpack-lu", "cudss-cholesky"); "" for iterative ones.
  std::string factorization() const;
  const SolveOptions& options() const;
  double setup_time() const;
  // Bumped by refactor(): autograd nodes check that backward uses the values of their forward.
  int64_t version() const;
  bool is_adjoint() const { return adjoint_; }

  struct Impl;
  const Impl* impl_for_internal() const { return impl_.get(); }

 private:
  std::shared_ptr<Impl> impl_;
  SparseMatrix A_;  // A (or Aᴴ for an adjoint view), values possibly requiring grad
  bool adjoint_ = false;
};

// Differentiable solves (w.r.t. A's values and b). The backward pass solves Aᴴ λ = g with the
// same Solver: one graph node per solve, memory O(nnz + n) whatever the iteration count.
at::Tensor solve(const SparseMatrix& A, const at::Tensor& b, const SolveOptions& opt = {},
                 SolveInfo* info = nullptr);
// With a prepared Solver: differentiable w.r.t. solver.matrix().values() and b.
at::Tensor solve(const Solver& solver, const at::Tensor& b, SolveInfo* info = nullptr);

}  // namespace dsla
