// One-device overlapping additive Schwarz ("asm"): M⁻¹ = Σ_b R_Eᵀ A[E, E]⁻¹ R_E with E the
// block's rows grown by one layer, against that sum built densely; symmetric for SPD A (CG takes
// it), the adjoint for a general A; batched = per member; fewer CG iterations than block Jacobi
// of the same blocks.
#include <dsla/generators.h>
#include <dsla/solve.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "solve/make_preconditioner.h"
#include "solve/precond/preconditioner.h"

namespace {

using dsla::SparseMatrix;
using dsla::precond::make_preconditioner;
using dsla::precond::Options;

at::Tensor dense_asm(const SparseMatrix& A, int64_t bs) {
  auto Ad = A.to_dense();
  const int64_t n = Ad.size(0);
  auto M = at::zeros_like(Ad);
  for (int64_t s = 0; s < n; s += bs) {
    std::vector<int64_t> E;
    for (int64_t j = 0; j < n; ++j) {
      bool in = j >= s && j < std::min(n, s + bs);
      for (int64_t i = s; i < std::min(n, s + bs) && !in; ++i) in = Ad[i][j].item<double>() != 0;
      if (in) E.push_back(j);
    }
    auto e = at::tensor(E, at::kLong);
    auto sub = Ad.index_select(0, e).index_select(1, e);
    auto inv = at::linalg_inv(sub);
    for (size_t a = 0; a < E.size(); ++a)
      for (size_t b = 0; b < E.size(); ++b) M[E[a]][E[b]] += inv[a][b];
  }
  return M;
}

at::Tensor apply_dense(const dsla::precond::Preconditioner& P, bool adj) {
  const int64_t n = P.rows();
  auto I = at::eye(n, at::TensorOptions().dtype(P.dtype())).unsqueeze(0).contiguous();
  auto y = at::empty_like(I);
  adj ? P.apply_adjoint(I, y) : P.apply(I, y);
  return y.select(0, 0);
}

TEST(Schwarz, MatchesDefinitionAndAdjoint) {
  for (bool sym : {true, false}) {
    auto A = sym ? dsla::random_spd(37, 0.12, 5) : dsla::random_sparse(37, 37, 0.1, 6);
    for (int64_t bs : {5, 8}) {
      Options o;
      o.kind = "asm";
      o.block_size = bs;
      auto P = make_preconditioner(A, o);
      auto ref = dense_asm(A, bs);
      EXPECT_LT((apply_dense(*P, false) - ref).abs().max().item<double>(), 1e-10) << bs;
      EXPECT_LT((apply_dense(*P, true) - ref.t()).abs().max().item<double>(), 1e-10) << bs;
      EXPECT_EQ(sym, P->adjoint().get() == P.get());
    }
  }
}

TEST(Schwarz, BatchedUpdateAndIterations) {
  auto A = dsla::poisson2d(30);
  auto v2 = at::stack({A.values(), A.values() * 3.0});
  Options o;
  o.kind = "asm";
  o.block_size = 16;
  auto P = make_preconditioner(SparseMatrix(A.pattern(), v2), o);
  const int64_t n = A.rows();
  auto x = at::sin(at::arange(n, at::kDouble)).view({1, n, 1});
  auto y = at::empty({2, n, 1}, at::kDouble);
  P->apply(x, y);
  EXPECT_LT((y.select(0, 1) * 3.0 - y.select(0, 0)).abs().max().item<double>(), 1e-12);
  auto P1 = make_preconditioner(A, o);
  P1->update(SparseMatrix(A.pattern(), v2[1]));
  auto y1 = at::empty({1, n, 1}, at::kDouble);
  P1->apply(x, y1);
  EXPECT_LT((y1.select(0, 0) - y.select(0, 1)).abs().max().item<double>(), 1e-12);
  auto b = at::ones({n}, at::kDouble);
  auto iters = [&](const std::string& pc) {
    dsla::SolveOptions so;
    so.method = dsla::Method::CG;
    so.precond = pc;
    so.rtol = 1e-10;
    dsla::SolveInfo info;
    dsla::solve(A, b, so, &info);
    EXPECT_TRUE(info.converged) << pc << info.message;
    return info.iterations;
  };
  EXPECT_LT(iters("asm"), iters("jacobi"));
}

}  // namespace
