// dsla::nonlinear_solve over the ranks (dist::nonlinear_options) on P threads as ranks: Newton
// with a distributed Jacobian and JFNK on a 2-D Bratu problem give the one-process solution and
// the same Newton step count on every rank, within one of one process's.
#include <dsla/dist.h>
#include <dsla/generators.h>
#include <dsla/nonlinear.h>
#include <dsla/ops.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include <vector>

#include "dist_harness.h"

namespace {

using dsla::NonlinearInfo;
using dsla::NonlinearOptions;
using dsla::dist::Comm;
using dsla::dist::DistMatrix;

// A + diag(d) in A's distribution (the diagonal block's diagonal entries come first in values()).
DistMatrix add_diag(const DistMatrix& A, const at::Tensor& d) {
  const auto& D = A.diag();
  auto row = D.pattern()->row().to(at::kLong), col = D.col_indices().to(at::kLong);
  auto on = (row == col).to(at::kDouble);
  auto v = A.values().clone();
  v.narrow(0, 0, D.nnz()).add_(d.index_select(0, row) * on);
  return A.with_values(v);
}

TEST(DistNonlinear, NewtonAndJfnkMatchOneProcess) {
  DSLA_SKIP_WITHOUT_GLOO();
  const int64_t n = 10, N = n * n;
  auto G = dsla::poisson2d(n);
  const double c = 6.0 / double((n + 1) * (n + 1));
  // One process.
  NonlinearOptions o;
  o.rtol = 1e-11;
  o.warn = false;
  NonlinearInfo i1;
  dsla::ResidualFn F1 = [&](const at::Tensor& u) { return dsla::matmul(G, u) - c * at::exp(u); };
  auto u1 = dsla::nonlinear_solve(F1, at::zeros({N}, at::kDouble), o, {}, {}, &i1);
  ASSERT_TRUE(i1.converged) << i1.message;
  for (int P : {2, 3}) {
    SCOPED_TRACE("P=" + std::to_string(P));
    auto parts = at::randint(P, {N}, at::TensorOptions().dtype(at::kLong));
    std::vector<int64_t> steps(P), free_steps(P);
    std::vector<at::Tensor> ug(P), ufg(P);
    dsla_test::run_ranks(P, [&](const Comm& comm) {
      auto A = dsla_test::from_global(comm, G, parts);
      dsla::ResidualFn F = [&](const at::Tensor& u) { return A.matmul(u) - c * at::exp(u); };
      dsla::dist::DistJacobianFn J = [&](const at::Tensor& u) {
        return add_diag(A, -c * at::exp(u));
      };
      NonlinearInfo info, info_free;
      auto u = dsla::nonlinear_solve(F, at::zeros({A.n_owned()}, at::kDouble),
                                     dsla::dist::nonlinear_options(A, o, J), {}, {}, &info);
      NonlinearOptions of = o;
      of.rtol = 1e-9;
      auto uf = dsla::nonlinear_solve(F, at::zeros({A.n_owned()}, at::kDouble),
                                      dsla::dist::nonlinear_options(A, of), {}, {}, &info_free);
      EXPECT_TRUE(info.converged && info_free.converged) << info.message << info_free.message;
      steps[comm.rank()] = info.iterations;
      free_steps[comm.rank()] = info_free.iterations;
      ug[comm.rank()] = A.gather(u);
      ufg[comm.rank()] = A.gather(uf);
    });
    for (int r = 0; r < P; ++r) {
      EXPECT_EQ(steps[r], steps[0]);
      EXPECT_EQ(free_steps[r], free_steps[0]);
    }
    EXPECT_LE(std::abs(steps[0] - i1.iterations), 1);
    EXPECT_LT((ug[0] - u1).abs().max().template item<double>(), 1e-10);
    EXPECT_LT((ufg[0] - u1).abs().max().template item<double>(), 1e-7);
  }
}

}  // namespace
