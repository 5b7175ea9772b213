// Internal: the Solver on canonical shapes ([B, n, k]) for src/autograd, and the shape
// normalization shared by Solver::solve and dsla::solve.
#pragma once

#include <dsla/solve.h>

#include <memory>
#include <vector>

namespace dsla::detail {

// What the autograd node of a linear solve (src/autograd/solve_fn.cpp) needs from the prepared
// solve, so that one adjoint rule serves every kind of matrix: the one-process Solver and the
// distributed dist::DistSolver implement it.
class SolveBackend {
 public:
  virtual ~SolveBackend() = default;
  // x3 [B, m, k] = A⁻¹ b3 (A⁻ᴴ with `adjoint`), as detail::solve3 below.
  virtual at::Tensor solve3(const at::Tensor& b3, bool adjoint, SolveInfo* info,
                            bool force_warn) const = 0;
  // ∂L/∂values[q] = −λ[row q] · conj(x[col q]) in the layout of the values the node was given
  // ([B, nnz]); `differentiable` records ATen ops (double backward).
  virtual at::Tensor values_grad(const at::Tensor& lam, const at::Tensor& x,
                                 bool differentiable) const = 0;
  // The backend of Aᴴ and its values as a differentiable function of `values2` (double
  // backward). Backends that cannot do it throw NotImplementedError.
  virtual std::shared_ptr<const SolveBackend> adjoint(const at::Tensor& values2,
                                                      at::Tensor& adjoint_values2) const = 0;
  // Bumped by refactor(): backward refuses values other than the forward's.
  virtual int64_t version() const = 0;
  // Least squares (LSQR/LSMR): x = A⁺ b, whose values gradient has a second term r μᴴ
  // (r = b − A x, μ = (AᴴA)⁻¹ g) that vanishes only for consistent systems; `residual` gives
  // r3 = b3 − A x3. Backends without it return false (their least squares are square).
  virtual bool least_squares() const { return false; }
  virtual bool damped() const { return false; }
  virtual at::Tensor residual(const at::Tensor& b3, const at::Tensor& x3) const {
    (void)x3;
    return b3;
  }
};
using SolveBackendPtr = std::shared_ptr<const SolveBackend>;

// The differentiable solve over a backend (src/autograd/solve_fn.cpp): values2 [Bv, nnz] are
// the values the backend was prepared from (with their autograd history), b3 [Bb, n, k].
at::Tensor solve_autograd(const at::Tensor& values2, const at::Tensor& b3,
                          const SolveBackendPtr& backend, SolveInfo* info);

struct Rhs {
  at::Tensor b3;                 // [Bb, n, k], Bb in {1, B}
  std::vector<int64_t> x_shape;  // the solution's user-facing shape
};

// Checks b against A (dtype, device, shape; finite) and brings it to [Bb, rows, k].
// `adjoint` swaps rows and cols.
Rhs normalize_rhs(const SparseMatrix& A, const at::Tensor& b, bool adjoint, const char* arg);
// Mixed precision (torch.float32 values, torch.float64 b) runs CG: refuses any other method
// ('auto' passes: it resolves to CG), naming argument 'b' and the fix.
void check_mixed_precision_method(Method m);

// x3 [B, cols, k] = A⁻¹ b3 (A⁻ᴴ with `adjoint`), x0 optional ([B or 1, cols, k]). Applies the
// solver's failure policy (warn / raise) and fills info.
// `force_warn`: warn on failure even when the options say not to (backward passes: Python
// cannot see their SolveInfo).
at::Tensor solve3(const Solver& s, const at::Tensor& b3, bool adjoint, SolveInfo* info,
                  bool force_warn = false);

}  // namespace dsla::detail

namespace dsla::detail {

// Whether this build can factor a matrix on `device` (CPU: SuiteSparse; CUDA: cuDSS).
bool direct_available(c10::Device device);

// The inner linear solver of shift-invert eigensolvers (eigsh, eigs, svds "SM", cond) and of
// Newton with an assembled Jacobian, for method Auto:
//   - a direct factorization where this build has one for A's device (Symmetric: Cholesky,
//     then LU when A is not positive definite; General: LU);
//   - otherwise a plan of iterative stages, each with rtol ≤ `rtol` (a tight inner tolerance:
//     the outer method sees A⁻¹ only through it); `stage` picks one, and callers move to the
//     next one when a solve does not converge (an undefined Solver: no stage left):
//       Symmetric (A − σM of eigsh, indefinite in general): CG + AMG when A looks SPD
//         (positive diagonal; at most 1000 iterations when Gershgorin proves it semidefinite,
//         300 otherwise: CG stops at the first sign of indefiniteness), then MINRES + Jacobi
//         (positive diagonal: the preconditioner must be SPD) or unpreconditioned MINRES;
//       General: CG + AMG when A looks SPD (symmetric, positive diagonal: e.g. Newton on a
//         convex problem), GMRES (restart ≥ 50) + ILU0 on the CPU / Jacobi elsewhere, then
//         unpreconditioned GMRES with a long restart.
// A method other than Auto in `user` is used as given (one stage). `name` receives what was
// picked, e.g. "cholesky", "minres+jacobi", "gmres+ilu0".
enum class InnerKind { Symmetric, General };
Solver make_inner_solver(const SparseMatrix& A, const SolveOptions& user, InnerKind kind,
                         double rtol, std::string* name = nullptr, int stage = 0);
// The iterative plan alone (stage `stage` onwards: the first that can be set up).
Solver make_inner_solver_iterative(const SparseMatrix& A, const SolveOptions& user, InnerKind kind,
                                   double rtol, std::string* name, int stage);
// The iterative fallback of make_inner_solver for a General A that is not SPD after all (CG
// failed): GMRES + ILU0 / Jacobi.
Solver make_gmres_solver(const SparseMatrix& A, const SolveOptions& user, double rtol,
                         std::string* name = nullptr);
// "method" or "method+preconditioner" of a Solver.
std::string describe(const Solver& s);

}  // namespace dsla::detail
