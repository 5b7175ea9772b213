// Internal eigen kernels (src/solve/eigen): LOBPCG and restarted Arnoldi over operator callables
// on 2-D blocks [n, m], written with ATen ops so they run on any device. The public front ends
// (eigsh, eigs, svds) live in src/autograd, which attaches the gradients.
#pragma once

#include <dsla/eigen.h>
#include <dsla/linear_operator.h>

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <tuple>

#include "solve/solver_internal.h"

namespace dsla::eigen {

using BlockOp = std::function<at::Tensor(const at::Tensor&)>;  // [n, m] -> [n, m]

// Orthonormalizes the columns of X in the B-inner product (BX = B X, or undefined for B = I):
// Cholesky QR on the column-scaled Gram matrix, with an SVQB fallback (eigh of the Gram matrix)
// that drops directions below `drop` (relative). Applies the same transform to every tensor in
// `also` (e.g. A X, B X). Returns the transform C (X_new = X C). The Gram matrix is `space`'s.
at::Tensor orthonormalize(const VectorSpace& space, at::Tensor& X, at::Tensor& BX,
                          std::vector<at::Tensor*> also, double drop = 1e-12);

struct LobpcgProblem {
  int64_t n = 0;
  BlockOp A;         // symmetric / Hermitian
  BlockOp B;         // SPD; empty: identity
  BlockOp T;         // preconditioner ≈ A⁻¹; empty: none
  double anorm = 0;  // ‖A‖ estimate for the backward error (0: largest |Ritz value|)
  double bnorm = 1;  // ‖B‖ estimate
  // With anorm = 0: the scale is at least this (a rounding floor; see eigsh's automatic plan).
  double anorm_floor = 0;
  at::TensorOptions options;
  // The space of the blocks' rows: every Gram matrix and column norm is taken through it.
  const VectorSpace* space = &VectorSpace::local();
  at::Tensor gram(const at::Tensor& V, const at::Tensor& W) const { return space->gram(V, W); }
};

struct LobpcgResult {
  at::Tensor values;     // [k] real, ascending (largest: descending as found, caller sorts)
  at::Tensor vectors;    // [n, k], B-orthonormal
  at::Tensor residuals;  // [k] double CPU backward errors
  int64_t iterations = 0;
  int64_t converged = 0;
};

// The default LOBPCG block for k pairs: k + max(4, k) (at most n). A block of k + 2 left clusters
// wider than the block to converge at the rate of the gap inside the cluster (aniso2d(10),
// k = 1: 476 iterations; poisson2d(30), k = 6: 92 against 64 with 2k); the cost of an iteration
// grows with the block, the count falls about as fast.
int64_t default_block(int64_t n, int64_t k);

// Every eigenpair of A x = λ B x by a dense generalized eigh (θ ascending, B-orthonormal C):
// LOBPCG's own fallback for small n, and eigsh's "dense-eigh" path.
std::tuple<at::Tensor, at::Tensor> dense_eigh(const LobpcgProblem& P);

// The k smallest (largest = false) or largest eigenpairs of A x = λ B x.
LobpcgResult lobpcg(const LobpcgProblem& P, int64_t k, bool largest, const at::Tensor& X0,
                    double tol, int64_t maxiter, int64_t block, uint64_t seed);

// Shift-invert LOBPCG: the eigenpairs of A x = λ B x nearest σ from K = (A − σB)⁻¹ (a block
// solve the caller built: a factorization, or an iterative solve on one process or across
// ranks). P's B, space, options and n are used, its A and anorm are not; Aop is A's product.
// `definite`: A − σB is known definite (every μ of K B has one sign): LOBPCG on B K B for its
// largest μ, λ = σ + 1/μ. Otherwise the largest |μ| of either sign, as the largest μ² of
// (K B)² (B K B K B x = μ² B x: self-adjoint, semidefinite), then a Rayleigh–Ritz step on
// (A, B) over the B-orthonormal block (its Gram matrix through the space) splits a pair ±μ.
// Returns every pair found (the caller keeps the k nearest σ) and whether it converged.
struct ShiftInvertResult {
  at::Tensor values, vectors, converged;  // [m], [n, m], bool [m] (CPU)
  int64_t iterations = 0;
};
ShiftInvertResult shift_invert(LobpcgProblem P, const BlockOp& K, const BlockOp& Aop, double sigma,
                               bool definite, int64_t k, const at::Tensor& X0, double tol,
                               int64_t maxiter, int64_t block, uint64_t seed);

// Restarted Arnoldi for a general operator: the k eigenvalues first in `which` order
// ("LM", "SM", "LR", "SR" on the operator's own eigenvalues).
struct ArnoldiResult {
  at::Tensor values;     // [k] complex
  at::Tensor vectors;    // [n, k] complex, unit norm
  at::Tensor residuals;  // [k] double CPU: ‖A x − θ x‖ / (anorm ‖x‖)
  int64_t iterations = 0;
  int64_t converged = 0;
  // A restart from a fresh random vector (⟂ the locked pairs) found nothing better: no further
  // copy of a repeated eigenvalue is missing from the set. False: maxiter came first.
  bool verified = false;
  bool dense = false;  // ncv ≥ n: solved by a dense eig
};
ArnoldiResult arnoldi(const BlockOp& A, int64_t n, at::TensorOptions options, int64_t k,
                      const std::string& which, double anorm, double tol, int64_t maxiter,
                      int64_t ncv, uint64_t seed, const VectorSpace& space = VectorSpace::local());

// Ordering helper: indices of the k first entries of `vals` (complex or real) under `which`.
at::Tensor select(const at::Tensor& vals, const std::string& which, int64_t k);

// A random [ids.numel(), m] block with `options`: standard normal entries (complex: unit
// variance, as at::randn) from a counter-based generator keyed by (seed, global row, column),
// row i's global row being ids[i] (int64 on the host: VectorSpace::global_ids). A process
// holding any subset of the rows, in any order, draws exactly those rows of the block one
// process would draw.
at::Tensor random_block(const at::Tensor& ids, int64_t m, at::TensorOptions options, uint64_t seed);

}  // namespace dsla::eigen

namespace dsla::detail {

// The computations behind dsla::eigsh / eigs / svds without gradients (src/autograd attaches
// them). Validate their arguments, fill info, and apply the failure policy.
std::tuple<at::Tensor, at::Tensor> eigsh_nograd(const SparseMatrix& A, int64_t k,
                                                const EigenOptions& opt, const SparseMatrix* M,
                                                EigenInfo* info);
std::tuple<at::Tensor, at::Tensor> eigs_nograd(const SparseMatrix& A, int64_t k,
                                               const EigenOptions& opt, EigenInfo* info);
std::tuple<at::Tensor, at::Tensor, at::Tensor> svds_nograd(const SparseMatrix& A, int64_t k,
                                                           const EigenOptions& opt,
                                                           EigenInfo* info);

// Helpers shared by the front ends.
eigen::BlockOp matrix_block_op(const SparseMatrix& A);  // X -> A X (real A, complex X allowed)
eigen::BlockOp complexify(eigen::BlockOp real_op);      // accepts complex X for a real operator
// Entry with the largest magnitude of each column made real positive.
at::Tensor normalize_phase(const at::Tensor& U);
// X -> S⁻¹ X (with `adjoint_too`: S⁻¹ S⁻ᴴ X) for shift-invert, S = make_inner_solver(A, ...)
// stage 0. A solve that does not converge moves to the next stage of the plan (for good) and is
// redone; with no stage left it throws dsla::SolveError naming `what` and the inner solver:
// the outer eigensolver cannot deliver then. *name follows the stage in use.
eigen::BlockOp inner_op(const SparseMatrix& A, const SolveOptions& user, InnerKind kind,
                        const char* what, std::shared_ptr<std::string> name,
                        bool adjoint_too = false, Solver* first = nullptr);
// Reports and applies the failure policy. `shortfall` non-empty: the result is not a success
// even when every pair met tol (e.g. eigs could not verify that no repeated copy is missing);
// it says why.
void finish(EigenInfo& info, int64_t k, int64_t converged, int64_t iterations,
            const at::Tensor& residuals, const EigenOptions& opt, const char* what,
            const std::string& shortfall = "");

}  // namespace dsla::detail
