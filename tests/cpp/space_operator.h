// Test spaces for "every reduction through the space" (issue #13, item 2), shared by the CPU
// (test_vector_space.cpp) and CUDA (cuda/test_cuda_space.cpp) suites.
//
// SpaceOperator<Space>: a matrix as a LinearOperator whose VectorSpace is `Space` (a member the
// test reads), offering matrix() so that CG may take its fused steps.
// MirrorSpace: as if a second rank held an identical copy of every vector — reduce_ doubles each
// partial in place (exact in binary floating point). 2 aᴴb is an inner product, so every method's
// iterates equal the stock space's, while a reduction taken behind the space's back mixes
// doubled and undoubled sums and goes wrong. Local (the fused steps are chosen) but not
// capturable, so the fused CUDA CG runs its kernels without a graph and reduces between them.
#pragma once

#include <dsla/linear_operator.h>
#include <dsla/sparse_matrix.h>

#include <ATen/ATen.h>

namespace dsla_test {

class MirrorSpace final : public dsla::VectorSpace {
 public:
  void reduce_(at::Tensor& partial) const override {
    partial.mul_(2);
    ++count;
  }
  bool capturable() const override { return false; }
  mutable int64_t count = 0;
};

template <class Space>
class SpaceOperator final : public dsla::LinearOperator {
 public:
  explicit SpaceOperator(const dsla::SparseMatrix& A) : A_(dsla::make_operator(A)) {}
  int64_t rows() const override { return A_->rows(); }
  int64_t cols() const override { return A_->cols(); }
  at::ScalarType dtype() const override { return A_->dtype(); }
  c10::Device device() const override { return A_->device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override { A_->apply(x, y); }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override { A_->apply_adjoint(x, y); }
  const dsla::VectorSpace& space() const override { return space_; }
  const dsla::SparseMatrix* matrix() const override { return A_->matrix(); }
  Space space_;

 private:
  dsla::LinearOperatorPtr A_;
};

}  // namespace dsla_test
