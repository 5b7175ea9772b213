// Determinants of sparse matrices, differentiable in the values.
//
// slogdet follows torch.linalg.slogdet: (sign, log|det A|), sign ±1 for real A, a unit-modulus
// phase for complex A, and (0, -inf) for a matrix found exactly singular. logdet follows
// torch.logdet: log det A, NaN when det A < 0 (real), -inf when singular; complex: the principal
// log. det = sign · exp(log|det A|).
//
// Computed from a sparse direct factorization on the CPU (SuiteSparse): "auto" tries CHOLMOD's
// supernodal Cholesky when A is symmetric (Hermitian) — the Gaussian-process case — and falls
// back to UMFPACK LU when A is not symmetric or not positive definite. float32 / complex64 are
// factorized in double precision and the results cast back.
//
// Gradient: ∂ log|det A| / ∂ values[k] = (A⁻ᵀ)[row[k], col[k]] (conjugated for complex, as
// torch does), i.e. only the entries of A⁻¹ on A's pattern, never the dense inverse:
// Cholesky: selected inversion (Takahashi recurrences) on the simplicial LDLᵀ factor, about the
// cost of one more factorization; LU: blocked solves (64 right-hand sides at a time), O(n · fill).
// When the values require grad, these entries are computed in the forward pass (then the factor
// is freed), so backward is O(nnz). Batched A ([B, nnz] values): one factorization per member,
// the analysis shared. Gradients through the gradient (double backward) are not supported.
#pragma once

#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

#include <string>
#include <utility>

namespace dsla {

struct DetOptions {
  // "auto" (Cholesky if it succeeds on a symmetric A, else LU), "cholesky", "ldlt", "lu".
  std::string method = "auto";
  // Fill-reducing ordering: "auto", "amd", "metis", "natural" ("nesdis" for cholesky/ldlt).
  std::string ordering = "auto";
};

// (sign, log|det A|): 0-dim tensors, or [B] for a batch. sign has A's dtype; logabsdet is real.
std::pair<at::Tensor, at::Tensor> slogdet(const SparseMatrix& A, const DetOptions& opt = {});
// torch.logdet semantics (NaN for a negative real determinant).
at::Tensor logdet(const SparseMatrix& A, const DetOptions& opt = {});
// det A = sign · exp(log|det A|) (overflows to ±inf where the determinant does).
at::Tensor det(const SparseMatrix& A, const DetOptions& opt = {});

}  // namespace dsla
