// Internal helpers shared by src/dist files.
#pragma once

#include <dsla/dist.h>

#include <functional>

namespace dsla::dist::detail {

// The operator of A or of Aᴴ (adjoint solves), both over the distributed space.
LinearOperatorPtr make_operator(const DistMatrix& A, bool adjoint);

// Runs rank-local work that may throw (a preconditioner setup, a local check) and agrees on the
// outcome: a rank whose work threw rethrows its own exception, the others throw a ValueError
// naming that rank, so that no rank is left alone in the next collective.
void local_step(const Comm& comm, const std::function<void()>& fn);

// This rank's stored entries in global ids, in values()'s order (the diagonal block's, then the
// off-diagonal block's): rows and cols int64 on the host, values detached ([nnz_local] or
// [B, nnz_local], on A's device), and each entry's row as a local position (row = owned[local]).
// Local. What gather_matrix, redistribute and the shifted matrix of shift-invert send to
// from_local_coo / other ranks.
struct GlobalCoo {
  at::Tensor row, col, values, local_row;
};
// row, col and local_row on `dev` (the host by default; gather_matrix: the matrix's device).
GlobalCoo global_coo(const DistMatrix& A, c10::Device dev = c10::Device(c10::kCPU));

// y3 = Aᴴ x3 ([B, n_owned, k]) like DistMatrix::apply_adjoint, but without forming the blocks'
// transposes (which stay cached on A's patterns): a scatter over A's entries, for one-off
// products. Collective (the halo exchange reversed).
void apply_adjoint_uncached(const DistMatrix& A, const at::Tensor& x3, at::Tensor& y3);

// Σ_j |a_ij| of every owned row (int64-free: double on the host, [n_owned]). Local.
at::Tensor abs_row_sums(const DistMatrix& A);

// Local: are this rank's stored values finite (checked block by block, without a copy)?
bool values_finite(const DistMatrix& A);

// All ranks: is every diagonal entry positive and real (pos) / nonzero (nz)?
void diagonal_facts(const DistMatrix& A, bool& pos, bool& nz);
// All ranks: A = Aᴴ, probed with a random vector (by global row, so every layout draws alike):
// ‖A v − Aᴴ v‖ <= 1e-10 ‖A v‖. `op` is A's operator (make_operator(A, false)).
bool probably_hermitian(const DistMatrix& A, const LinearOperator& op);

// The hierarchy behind an operator made by DistAmg::as_operator (else null): a DistSolver
// uses it as is (its apply is a collective whose errors are agreed already).
const DistAmg* dist_amg_of(const LinearOperator& op);

}  // namespace dsla::dist::detail
