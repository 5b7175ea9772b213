// Every reduction through the space, on CUDA (issue #13, item 2): each Krylov method, the fused
// CUDA CG steps included, must take its inner products and norms from the operator's
// VectorSpace. The harness is the mirror space of ../space_operator.h.
#include <ATen/ATen.h>
#include <dsla/generators.h>
#include <dsla/linear_operator.h>
#include <dsla/solve.h>
#include <dsla/sparse_matrix.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "../space_operator.h"
#include "solve/krylov/cg_steps.h"
#include "solve/krylov/krylov.h"

namespace {

using dsla::Method;

using MirrorOperator = dsla_test::SpaceOperator<dsla_test::MirrorSpace>;

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
