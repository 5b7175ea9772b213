// Minimal LinearOperator / VectorSpace defaults so the preconditioner branch links on its own.
// The solve branch owns this file; its version replaces this one at merge.
#include <dsla/linear_operator.h>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace dsla {

at::Tensor VectorSpace::dot(const at::Tensor& a, const at::Tensor& b) const {
  return (a.conj() * b).sum(1, /*keepdim=*/true);
}

at::Tensor VectorSpace::norm(const at::Tensor& a) const {
  return at::real(dot(a, a)).sqrt();
}

void LinearOperator::apply_adjoint(const at::Tensor& x, at::Tensor& y) const {
  TORCH_CHECK_NOT_IMPLEMENTED(false, "dsla: this operator has no adjoint (apply_adjoint)");
}

const VectorSpace& LinearOperator::space() const {
  static const VectorSpace local;
  return local;
}

}  // namespace dsla
