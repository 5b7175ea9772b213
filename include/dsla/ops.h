// Operators on SparseMatrix. All are differentiable in the matrix values and the dense operands.
#pragma once

#include <dsla/sparse_matrix.h>

namespace dsla {

// y = A x. Shapes: A [m, n] with x [n] -> [m], x [n, k] -> [m, k]; batched A (B values) with
// x [B, n] -> [B, m], x [B, n, k] -> [B, m, k], or an unbatched x [n] / [n, k] broadcast.
at::Tensor matmul(const SparseMatrix& A, const at::Tensor& x);
// y = Aᵀ x (plain transpose; use A.conj() first for Aᴴ), same shape rules with m and n swapped.
at::Tensor matmul_transpose(const SparseMatrix& A, const at::Tensor& x);

// alpha * A + beta * B for matrices of the same shape and any patterns (union pattern).
SparseMatrix add(const SparseMatrix& A, const SparseMatrix& B, const at::Scalar& alpha = 1,
                 const at::Scalar& beta = 1);
// Sparse x sparse product C = A B (SpGEMM); differentiable in both values.
SparseMatrix spgemm(const SparseMatrix& A, const SparseMatrix& B);

}  // namespace dsla
