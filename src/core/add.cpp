// alpha A + beta B over the union pattern. Same pattern: a values-only update; otherwise the
// entries of both go through from_coo, which sums the overlap (and stays differentiable).
#include <dsla/ops.h>

#include "core/dispatch.h"

namespace dsla {

SparseMatrix add(const SparseMatrix& A, const SparseMatrix& B, const at::Scalar& alpha,
                 const at::Scalar& beta) {
  DSLA_CHECK_ARG(A.rows() == B.rows() && A.cols() == B.cols(), "B", "has shape (", B.rows(), ", ",
                 B.cols(), ") but A has (", A.rows(), ", ", A.cols(), ")");
  DSLA_CHECK_TYPE(A.dtype() == B.dtype(), "B", "dtype ", B.dtype(), " differs from A's ",
                  A.dtype());
  DSLA_CHECK_ARG(A.device() == B.device(), "B", "is on ", B.device(), ", A on ", A.device());
  DSLA_CHECK_ARG(!A.is_batched() || !B.is_batched() || A.batch_size() == B.batch_size(), "B",
                 "batch size ", B.batch_size(), " differs from A's ", A.batch_size());
  if (A.pattern() == B.pattern() ||
      (A.nnz() == B.nnz() && at::equal(A.crow_indices(), B.crow_indices()) &&
       at::equal(A.col_indices(), B.col_indices()))) {
    return A.with_values(A.values() * alpha + B.values() * beta);
  }
  auto va = A.values() * alpha, vb = B.values() * beta;
  if (A.is_batched() != B.is_batched()) {
    const int64_t b = std::max(A.batch_size(), B.batch_size());
    if (!A.is_batched()) va = va.unsqueeze(0).expand({b, A.nnz()});
    if (!B.is_batched()) vb = vb.unsqueeze(0).expand({b, B.nnz()});
  }
  CooOptions opt;
  opt.check = false;
  return SparseMatrix::from_coo(
      at::cat({A.row_indices().to(at::kLong), B.row_indices().to(at::kLong)}),
      at::cat({A.col_indices().to(at::kLong), B.col_indices().to(at::kLong)}),
      at::cat({va, vb}, -1), {A.rows(), A.cols()}, opt);
}

}  // namespace dsla
