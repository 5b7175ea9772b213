// Eigenvalues, singular values and norms of sparse matrices (a few of them: k ≪ n).
//
//   eigsh  symmetric / Hermitian A (generalized with SPD M): LOBPCG, optional preconditioner,
//          shift-invert through a Solver for interior eigenvalues (`sigma`). By default a plan
//          picks the path (EigenInfo::method): dense eigh for n ≤ 256; for "SA" on an SPD A,
//          shift-invert at 0 through a Cholesky factorization where the build has a direct
//          solver for A's device (dsla features suitesparse / cudss), else LOBPCG + AMG (an
//          SPD-looking A: positive diagonal); LOBPCG otherwise. Naming a preconditioner, a
//          block, X0 or an inner solver runs LOBPCG / shift-invert as configured instead.
//   eigs   nonsymmetric A: restarted Arnoldi with thick (Krylov–Schur style) restarts, locking
//          converged pairs; a restart from a fresh random vector verifies the set (a Krylov
//          space grown from one vector sees one copy of a repeated eigenvalue), so repeated
//          eigenvalues come out with their multiplicity, or EigenInfo says not converged.
//   svds   largest (or, for square A, smallest) singular triplets: LOBPCG on AᴴA / (AᴴA)⁻¹.
//   norm2, cond: built on svds.
//
// Convergence: pair i has converged when its backward error
//   ‖A x − λ M x‖ / ((‖A‖ + |λ| ‖M‖) ‖x‖) ≤ tol
// (norms estimated by ‖·‖_inf). EigenInfo reports the count and the residuals of the returned
// pairs, recomputed on the original problem at exit; non-convergence warns, or throws
// dsla::SolveError with raise_on_failure. Eigenvalues are returned in ascending order.
//
// Gradients (eigsh, svds, norm2, cond) w.r.t. A's (and M's) values: eigenvalues always;
// eigenvectors where the eigenvalues are simple (a projected MINRES solve per vector, see
// src/autograd/eigsh_fn.cpp; clusters closer than `degenerate_tol` are deflated together and a
// warning says that only cluster-invariant functions have meaningful gradients). eigs results
// and singular vectors are not differentiable: backward through them raises.
#pragma once

#include <dsla/linear_operator.h>
#include <dsla/solve.h>
#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>
#include <c10/util/Optional.h>

#include <string>
#include <tuple>

namespace dsla {

struct EigenOptions {
  // eigsh: "SA" (smallest algebraic), "LA" (largest), "SM" (smallest magnitude: shift-invert at
  // 0), "LM" (largest magnitude). eigs: "LM", "SM", "LR", "SR". svds: "LM" or "SM" (square A).
  // Empty: the function's default (eigsh "SA", eigs and svds "LM").
  std::string which;
  double tol = 1e-8;     // backward error per pair
  int64_t maxiter = -1;  // LOBPCG iterations / Arnoldi restarts; -1: automatic
  int64_t block = 0;     // LOBPCG block size / Arnoldi basis size; 0: automatic
  // eigsh preconditioner T ≈ A⁻¹ for LOBPCG: "none", "jacobi", "amg", ... (precond kinds), or
  // an operator (overrides the name). "auto": the automatic plan (see eigsh above).
  std::string precond = "auto";
  LinearOperatorPtr precond_op;
  c10::optional<double> sigma;  // shift-invert: the k eigenvalues nearest sigma
  SolveOptions solver;          // the inner Solver of shift-invert (default: method auto)
  at::Tensor X0;                // initial block [n, >= k] (undefined: random with `seed`)
  uint64_t seed = 0;
  bool raise_on_failure = false;
  bool warn = true;
  double degenerate_tol = 1e-6;  // relative gap below which eigenvector gradients warn
};

struct EigenInfo {
  int64_t iterations = 0;
  int64_t converged = 0;  // how many of the k returned pairs met tol
  // converged == k, and (eigs) the set was verified: a restart from a fresh random vector found
  // no further copy of a repeated eigenvalue. False: `message` says why.
  bool ok = false;
  at::Tensor residuals;  // [k] float64 CPU: backward errors on the original problem
  // Shift-invert's inner solver, e.g. "cholesky", "lu", "minres+jacobi", "gmres+ilu0" (direct
  // where this build has a backend for the device, iterative otherwise); empty without one.
  std::string inner_solver;
  // The path that computed the result:
  //   eigsh  "dense-eigh", "lobpcg", "lobpcg+<precond>" (e.g. "lobpcg+amg", "lobpcg+user"),
  //          "shift-invert(<inner>)" (LOBPCG on the inverse, e.g. "shift-invert(cholesky)");
  //   eigs   "dense-eig" (ncv ≥ n), "arnoldi", "shift-invert(<inner>)" (Arnoldi on the inverse);
  //   svds   "lobpcg", "shift-invert(<inner>)"; norm2 / cond: those of their svds runs.
  std::string method;
  std::string message;
};

// (eigenvalues [k] real ascending, eigenvectors [n, k]); vectors have ‖x‖₂ = 1 (xᴴ M x = 1
// when generalized) and their largest-magnitude entry real positive.
std::tuple<at::Tensor, at::Tensor> eigsh(const SparseMatrix& A, int64_t k,
                                         const EigenOptions& opt = {},
                                         const SparseMatrix* M = nullptr,
                                         EigenInfo* info = nullptr);

// A matrix-free Hermitian operator: LOBPCG with A's products ("LM" — the default —, "SA", "LA";
// opt.precond_op ≈ A⁻¹ as its preconditioner). Not differentiable (no entries to differentiate).
std::tuple<at::Tensor, at::Tensor> eigsh(const LinearOperator& A, int64_t k,
                                         const EigenOptions& opt = {}, EigenInfo* info = nullptr);

// Nonsymmetric: (eigenvalues [k] complex, eigenvectors [n, k] complex), sorted by `which`.
// Not differentiable.
std::tuple<at::Tensor, at::Tensor> eigs(const SparseMatrix& A, int64_t k,
                                        const EigenOptions& opt = {}, EigenInfo* info = nullptr);

// (U [n, k], S [k] descending for "LM" / ascending for "SM", V [m, k]) with A V = U diag(S).
// S is differentiable in A's values (∂σ/∂values[q] = u[row q] conj(v[col q])).
std::tuple<at::Tensor, at::Tensor, at::Tensor> svds(const SparseMatrix& A, int64_t k,
                                                    const EigenOptions& opt = {},
                                                    EigenInfo* info = nullptr);

// Largest singular value (differentiable) and σ_max / σ_min (square A; σ_min by LOBPCG on
// (AᴴA)⁻¹ through an LU/Cholesky Solver; differentiable).
at::Tensor norm2(const SparseMatrix& A, const EigenOptions& opt = {}, EigenInfo* info = nullptr);
at::Tensor cond(const SparseMatrix& A, const EigenOptions& opt = {}, EigenInfo* info = nullptr);

// A Krylov solve on an operator (matrix-free), e.g. GMRES on Jacobian-vector products or MINRES
// on a deflated operator. b: [n] or [n, k]. opt.method must be iterative; opt.M (if set) is the
// preconditioner. Not differentiable.
at::Tensor solve_operator(const LinearOperatorPtr& A, const at::Tensor& b, const SolveOptions& opt,
                          SolveInfo* info = nullptr);

}  // namespace dsla
