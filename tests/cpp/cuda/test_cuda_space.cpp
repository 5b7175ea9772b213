// Every reduction through the space, on CUDA (issue #13, item 2): each Krylov method, the fused
// CUDA CG steps included, must take its inner products and norms from the operator's
// VectorSpace. The harness: a "mirror" space, as if a second rank held an identical copy of
// every vector — reduce_ doubles each partial in place (exact in binary floating point). It is
// an inner product (2 aᴴb), so every method's iterates are the same as with the stock space
// (ratios of reductions, and norms scaled alike on both sides of every test), while a method
// that takes one reduction behind the space's back mixes doubled and undoubled sums and goes
// wrong. The space is local (the fused steps are chosen) but not capturable, so the fused CUDA
// CG runs its kernels without a graph and reduces between them.
#include <ATen/ATen.h>
#include <dsla/generators.h>
#include <dsla/linear_operator.h>
#include <dsla/solve.h>
#include <dsla/sparse_matrix.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "solve/krylov/cg_steps.h"
#include "solve/krylov/krylov.h"

namespace {

using dsla::Method;

class MirrorSpace final : public dsla::VectorSpace {
 public:
  void reduce_(at::Tensor& partial) const override {
    partial.mul_(2);
    ++count;
  }
  bool capturable() const override { return false; }
  mutable int64_t count = 0;
};

class MirrorOperator final : public dsla::LinearOperator {
 public:
  explicit MirrorOperator(const dsla::SparseMatrix& A) : A_(dsla::make_operator(A)) {}
  int64_t rows() const override { return A_->rows(); }
  int64_t cols() const override { return A_->cols(); }
  at::ScalarType dtype() const override { return A_->dtype(); }
  c10::Device device() const override { return A_->device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override { A_->apply(x, y); }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override { A_->apply_adjoint(x, y); }
  const dsla::VectorSpace& space() const override { return space_; }
  const dsla::SparseMatrix* matrix() const override { return A_->matrix(); }
  MirrorSpace space_;

 private:
  dsla::LinearOperatorPtr A_;
};

struct Run {
  at::Tensor x;
  dsla::SolveInfo info;
  int64_t host_checks = 0;
};

Run solve(const dsla::LinearOperator& op, const at::Tensor& b, Method m, const at::Tensor& dinv) {
  dsla::SolveOptions o;
  o.method = m;
  o.rtol = 1e-10;
  o.warn = false;
  o.maxiter = 3000;
  dsla::krylov::Problem P;
  P.A = &op;
  P.opt = &o;
  P.dinv = dinv;
  P.x_is_zero = true;
  Run r;
  r.x = at::zeros_like(b);
  dsla::krylov::CgTuning tuning;
  {
    dsla::krylov::CgTuningScope scope(tuning);
    dsla::krylov::run(m, P, b, r.x, r.info);
  }
  r.host_checks = tuning.host_checks;
  return r;
}

TEST(CudaVectorSpace, EveryMethodReducesThroughTheSpace) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto A = dsla::poisson2d(24).to(at::Device(at::kCUDA, 0));
  const int64_t n = A.rows();
  auto b = (at::sin(at::arange(n, at::kDouble) * 0.37) + 1).cuda().view({1, n, 1});
  auto dinv = (1.0 / A.diagonal()).view({1, n, 1});
  struct Case {
    Method m;
    bool jacobi;
  };
  for (auto c : {Case{Method::CG, true}, Case{Method::CG, false}, Case{Method::BiCGStab, false},
                 Case{Method::GMRES, false}, Case{Method::MINRES, false}}) {
    SCOPED_TRACE(dsla::to_string(c.m) + (c.jacobi ? " + jacobi" : ""));
    auto d = c.jacobi ? dinv : at::Tensor();
    auto ref = solve(*dsla::make_operator(A), b, c.m, d);
    MirrorOperator op(A);
    auto got = solve(op, b, c.m, d);
    ASSERT_TRUE(ref.info.converged) << ref.info.message;
    ASSERT_TRUE(got.info.converged) << got.info.message;
    EXPECT_EQ(got.info.iterations, ref.info.iterations);
    EXPECT_TRUE(at::allclose(got.x, ref.x, 1e-9, 1e-11));
    EXPECT_GT(op.space_.count, got.info.iterations);
    if (c.m == Method::CG) {
      // The fused CUDA steps ran (block reads), in both runs.
      EXPECT_GT(ref.host_checks, 0);
      EXPECT_GT(got.host_checks, 0);
    }
  }
}

}  // namespace
