// Distributed solves on P threads as P ranks against the one-process solve of the same global
// matrix (DESIGN-distributed 6.11): every Krylov method, with Jacobi where the one-process
// oracle has the same preconditioner (answers to 1e-10, iterations within ±1, SolveInfo the
// same on every rank), block Jacobi against the exact solution, several right-hand sides, a
// non-contiguous partition with an empty rank, and a rank failing mid-setup or with bad b.
#include <dsla/dist.h>
#include <dsla/generators.h>
#include <dsla/solve.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include <mutex>

#include "dist_harness.h"

namespace {

using dsla::Method;
using dsla::SolveInfo;
using dsla::SolveOptions;
using dsla::SparseMatrix;
using dsla::dist::Comm;
using dsla::dist::DistMatrix;
using dsla_test::run_ranks;

DistMatrix from_global(const Comm& c, const SparseMatrix& G, const at::Tensor& parts) {
  auto owned = at::nonzero(parts == c.rank()).view(-1);
  auto r = G.row_indices().to(at::kLong), col = G.col_indices().to(at::kLong);
  auto keep = at::nonzero(parts.index_select(0, r) == c.rank()).view(-1);
  return DistMatrix::from_local_coo(c, r.index_select(0, keep), col.index_select(0, keep),
                                    G.values().index_select(-1, keep), {G.rows(), G.cols()}, owned);
}

SolveOptions opts(Method m, const std::string& precond) {
  SolveOptions o;
  o.method = m;
  o.precond = precond;
  o.rtol = 1e-11;
  o.warn = false;
  o.maxiter = 4000;
  o.restart = 20;
  return o;
}

double rel(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).norm().item<double>() / b.norm().item<double>();
}

// Solves on P ranks; checks against the one-process solve (same method and preconditioner).
void expect_same(const SparseMatrix& G, const at::Tensor& b, const at::Tensor& parts, int P,
                 Method m, const std::string& precond) {
  SCOPED_TRACE(dsla::to_string(m) + "+" + precond + " P=" + std::to_string(P));
  SolveInfo ref_info;
  auto ref = dsla::solve(G, b, opts(m, precond), &ref_info);
  ASSERT_TRUE(ref_info.converged) << ref_info.message;
  std::vector<SolveInfo> info(P);
  std::vector<at::Tensor> xs(P);
  run_ranks(P, [&](const Comm& c) {
    auto A = from_global(c, G, parts);
    auto bl = b.index_select(0, A.owned());
    SolveInfo i;
    auto x = dsla::dist::solve(A, bl, opts(m, precond), &i);
    // Batched values: x [B, n_owned(, k)]; gather takes the rows first.
    xs[c.rank()] =
        A.is_batched() ? A.gather(x.transpose(0, 1).contiguous()).transpose(0, 1) : A.gather(x);
    info[c.rank()] = i;
  });
  for (int r = 0; r < P; ++r) {
    EXPECT_TRUE(info[r].converged) << info[r].message;
    EXPECT_EQ(info[r].iterations, info[0].iterations);
    EXPECT_EQ(info[r].residual, info[0].residual);
    EXPECT_TRUE(at::equal(xs[r], xs[0]));
  }
  EXPECT_LE(std::abs(info[0].iterations - ref_info.iterations), 1);
  EXPECT_LT(rel(xs[0], ref), 1e-9);
  EXPECT_EQ(info[0].preconditioner, ref_info.preconditioner);
}

at::Tensor parts_with_empty_rank(int64_t n) {
  // Rank 1 of 3 owns nothing; ranks 0 and 2 interleave.
  auto p = (at::arange(n, at::kLong) % 2) * 2;
  return p;
}

TEST(DistSolve, EveryMethodMatchesOneProcess) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto S = dsla::poisson2d(10);
  auto N = dsla::convdiff2d(10, 2.0);
  auto b = at::sin(at::arange(100, at::kDouble) * 0.37) + 1;
  // Every method on two ranks, with and without Jacobi; the short ones on three (time: CI).
  auto parts2 = at::div(at::arange(100, at::kLong) * 2, 100, "floor");
  for (const char* pc : {"none", "jacobi"}) {
    expect_same(S, b, parts2, 2, Method::CG, pc);
    expect_same(S, b, parts2, 2, Method::MINRES, pc);
    expect_same(N, b, parts2, 2, Method::BiCGStab, pc);
    expect_same(N, b, parts2, 2, Method::GMRES, pc);
    expect_same(N, b, parts2, 2, Method::FGMRES, pc);
  }
  expect_same(N, b, parts2, 2, Method::LSQR, "none");
  expect_same(N, b, parts2, 2, Method::LSMR, "none");
  auto parts3 = at::div(at::arange(100, at::kLong) * 3, 100, "floor");
  expect_same(S, b, parts3, 3, Method::MINRES, "jacobi");
  expect_same(N, b, parts3, 3, Method::BiCGStab, "jacobi");
  expect_same(N, b, parts3, 3, Method::FGMRES, "jacobi");
  // P = 4 and one rank.
  expect_same(S, b, at::arange(100, at::kLong) % 4, 4, Method::CG, "jacobi");
  expect_same(S, b, at::zeros({100}, at::kLong), 1, Method::CG, "jacobi");
}

TEST(DistSolve, EmptyRankAndSeveralRightHandSides) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto S = dsla::poisson2d(10);
  auto N = dsla::convdiff2d(10, 2.0);
  auto b = at::sin(at::arange(100, at::kDouble) * 0.37) + 1;
  auto B = at::stack({b, at::cos(at::arange(100, at::kDouble))}, 1);
  expect_same(S, b, parts_with_empty_rank(100), 3, Method::CG, "none");
  expect_same(S, B, parts_with_empty_rank(100), 3, Method::CG, "jacobi");
  expect_same(N, B, parts_with_empty_rank(100), 3, Method::GMRES, "jacobi");
}

TEST(DistSolve, ComplexAndBatchedValues) {
  DSLA_SKIP_WITHOUT_GLOO();
  // Complex: a nonsymmetric matrix with an imaginary shift (GMRES), and a Hermitian positive
  // definite one (CG): the halo and the all-reduces carry complex data as its real view.
  auto N = dsla::convdiff2d(8, 2.0).to(at::kComplexDouble);
  auto Nz = N.with_values(N.values() + c10::complex<double>(0, 0.5) * at::ones_like(N.values()));
  auto Dh = dsla::poisson2d(8).to_dense().to(at::kComplexDouble);
  auto off = at::triu(at::ones_like(Dh), 1) * (Dh != 0) * c10::complex<double>(0, 0.3);
  auto H = SparseMatrix::from_dense(Dh + off - off.t());  // + i·0.3 above, − i·0.3 below
  auto bz = at::complex(at::sin(at::arange(64, at::kDouble)), at::cos(at::arange(64, at::kDouble)));
  auto parts = at::arange(64, at::kLong) % 3;
  expect_same(Nz, bz, parts, 3, Method::GMRES, "jacobi");
  expect_same(H, bz, parts, 3, Method::CG, "jacobi");
  // Batched values [2, nnz]: one pattern, two matrices, solved together.
  auto S = dsla::poisson2d(8);
  auto Sb = S.with_values(at::stack({S.values(), S.values() * 2}));
  auto b = at::ones({64}, at::kDouble);
  expect_same(Sb, b, parts, 3, Method::CG, "jacobi");
}

TEST(DistSolve, BlockJacobiAndAuto) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto N = dsla::convdiff2d(10, 2.0);
  auto b = at::sin(at::arange(100, at::kDouble) * 0.37) + 1;
  auto exact = at::linalg_solve(N.to_dense(), b.unsqueeze(1)).squeeze(1);
  for (const char* pc : {"block_jacobi", "block_jacobi:ilu0", "block_jacobi:ssor"}) {
    SCOPED_TRACE(pc);
    run_ranks(3, [&](const Comm& c) {
      auto A = from_global(c, N, at::div(at::arange(100, at::kLong) * 3, 100, "floor"));
      SolveInfo i;
      auto x = dsla::dist::solve(A, b.index_select(0, A.owned()), opts(Method::GMRES, pc), &i);
      EXPECT_TRUE(i.converged) << i.message;
      EXPECT_NE(i.preconditioner.find("block_jacobi("), std::string::npos) << i.preconditioner;
      EXPECT_LT(rel(A.gather(x), exact), 1e-8);
    });
  }
  // auto: CG + Jacobi on an SPD matrix, GMRES on a nonsymmetric one.
  run_ranks(2, [&](const Comm& c) {
    auto A = dsla::dist::generate(c, "poisson2d", 8);
    SolveOptions o;
    o.rtol = 1e-10;
    dsla::dist::DistSolver s(A, o);
    EXPECT_EQ(s.method(), Method::CG);
    EXPECT_EQ(s.preconditioner(), "jacobi");
    auto B = from_global(c, N, at::arange(100, at::kLong) % 2);
    EXPECT_EQ(dsla::dist::DistSolver(B, o).method(), Method::GMRES);
  });
}

TEST(DistSolve, FailuresRaiseOnEveryRank) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto S = dsla::poisson2d(6);
  auto parts = at::div(at::arange(36, at::kLong) * 2, 36, "floor");
  // NaN in one rank's b.
  auto msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, S, parts);
    auto b = at::ones({A.n_owned()}, at::kDouble);
    if (c.rank() == 1) b[0] = NAN;
    dsla::dist::solve(A, b, opts(Method::CG, "jacobi"));
  });
  EXPECT_NE(msg[1].find("NaN"), std::string::npos) << msg[1];
  EXPECT_NE(msg[0].find("rank 1"), std::string::npos) << msg[0];
  // A preconditioner that fails to set up on one rank only: a zero diagonal entry there.
  auto D = S.to_dense();
  D[30][30] = 0;
  auto Z = SparseMatrix::from_dense(D);
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, Z, parts);
    dsla::dist::solve(A, at::ones({A.n_owned()}, at::kDouble), opts(Method::GMRES, "jacobi"));
  });
  EXPECT_FALSE(msg[1].empty());
  EXPECT_NE(msg[0].find("rank 1 failed"), std::string::npos) << msg[0];
  // Wrong-length b on one rank; a direct method.
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, S, parts);
    dsla::dist::solve(A, at::ones({A.n_owned() + c.rank()}, at::kDouble), opts(Method::CG, "none"));
  });
  EXPECT_NE(msg[1].find("owned slice"), std::string::npos) << msg[1];
  EXPECT_FALSE(msg[0].empty());
  msg = dsla_test::run_ranks_errors(1, [&](const Comm& c) {
    auto A = from_global(c, S, at::zeros({36}, at::kLong));
    dsla::dist::solve(A, at::ones({36}, at::kDouble), opts(Method::Cholesky, "none"));
  });
  EXPECT_NE(msg[0].find("direct factorization"), std::string::npos) << msg[0];
}

}  // namespace
