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
using dsla_test::from_global;
using dsla_test::run_ranks;

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

// The one Chebyshev on the distributed operator: the spectral estimate reduces across ranks, so
// every rank holds the same polynomial; against the one-process CG + Chebyshev. The Lanczos
// start vector is drawn by global offset, and a rank's local order (interior rows first) is not
// the global one, so the interval differs in the last digits and the counts by a few.
TEST(DistSolve, ChebyshevAcrossRanks) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto S = dsla::poisson2d(12);
  const int64_t n = S.rows();
  auto b = at::sin(at::arange(n, at::kDouble) * 0.37) + 1;
  SolveInfo ref_info;
  auto ref = dsla::solve(S, b, opts(Method::CG, "chebyshev"), &ref_info);
  ASSERT_TRUE(ref_info.converged);
  for (int P : {2, 3}) {
    auto parts = at::div(at::arange(n, at::kLong) * P, n, "floor");
    std::vector<SolveInfo> info(P);
    std::vector<at::Tensor> xs(P);
    run_ranks(P, [&](const Comm& c) {
      auto A = from_global(c, S, parts);
      SolveInfo i;
      xs[c.rank()] = A.gather(
          dsla::dist::solve(A, b.index_select(0, A.owned()), opts(Method::CG, "chebyshev"), &i));
      info[c.rank()] = i;
    });
    for (int r = 0; r < P; ++r) {
      EXPECT_TRUE(info[r].converged) << info[r].message;
      EXPECT_EQ(info[r].iterations, info[0].iterations);
      EXPECT_EQ(info[r].preconditioner, "chebyshev");
    }
    EXPECT_LE(std::abs(info[0].iterations - ref_info.iterations), 1)
        << info[0].iterations << " vs " << ref_info.iterations;
    EXPECT_LT(info[0].iterations, 40);  // Jacobi-CG needs about 2x more on this grid
    EXPECT_LT(rel(xs[0], ref), 1e-9);
  }
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

// x0 (forward solves) and a user preconditioner M on owned slices, against the one-process
// solve with the same x0 / the built-in Jacobi; a user M that throws on one rank, or a bad x0 or
// M on one rank, makes every rank raise.
TEST(DistSolve, InitialGuessAndUserPreconditioner) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto S = dsla::poisson2d(10);
  auto b = at::sin(at::arange(100, at::kDouble) * 0.37) + 1;
  auto parts = at::div(at::arange(100, at::kLong) * 2, 100, "floor");
  SolveInfo zero_info, ref_info;
  auto exact = dsla::solve(S, b, opts(Method::CG, "jacobi"), &zero_info);
  auto x0g = exact + 0.01 * at::cos(at::arange(100, at::kDouble));
  auto o0 = opts(Method::CG, "jacobi");
  o0.x0 = x0g;
  auto ref = dsla::solve(S, b, o0, &ref_info);
  ASSERT_TRUE(ref_info.converged);
  ASSERT_LT(ref_info.iterations, zero_info.iterations);
  std::vector<SolveInfo> info(2), info_exact(2), info_user(2), info_jac(2);
  std::vector<at::Tensor> xs(2), xu(2);
  run_ranks(2, [&](const Comm& c) {
    auto A = from_global(c, S, parts);
    auto bl = b.index_select(0, A.owned());
    auto o = opts(Method::CG, "jacobi");
    o.x0 = x0g.index_select(0, A.owned());
    auto x0_before = o.x0.clone();
    SolveInfo i;
    xs[c.rank()] = A.gather(dsla::dist::solve(A, bl, o, &i));
    info[c.rank()] = i;
    EXPECT_TRUE(at::equal(o.x0, x0_before));  // x0 is read, never written
    o.x0 = exact.index_select(0, A.owned());
    dsla::dist::solve(A, bl, o, &i);
    info_exact[c.rank()] = i;
    // M = D⁻¹ on the owned slice: the built-in Jacobi's iterates.
    auto d = A.diag().diagonal().reshape({1, -1, 1});
    auto u = opts(Method::CG, "none");
    u.M = dsla::make_operator(A.n_owned(), A.n_owned(), at::kDouble, c10::Device(c10::kCPU),
                              [d](const at::Tensor& x, at::Tensor& y) { at::div_out(y, x, d); });
    xu[c.rank()] = A.gather(dsla::dist::solve(A, bl, u, &i));
    info_user[c.rank()] = i;
    dsla::dist::solve(A, bl, opts(Method::CG, "jacobi"), &i);
    info_jac[c.rank()] = i;
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(info[r].converged) << info[r].message;
    EXPECT_EQ(info[r].iterations, info[0].iterations);
    EXPECT_EQ(info_exact[r].iterations, 0) << info_exact[r].message;
    EXPECT_EQ(info_user[r].preconditioner, "user");
    EXPECT_EQ(info_user[r].iterations, info_jac[r].iterations);
  }
  EXPECT_LE(std::abs(info[0].iterations - ref_info.iterations), 1);
  EXPECT_LT(rel(xs[0], ref), 1e-9);
  EXPECT_LT(rel(xu[0], exact), 1e-9);

  // A user M that throws on rank 1 at its third apply.
  auto msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, S, parts);
    auto calls = std::make_shared<int>(0);
    auto u = opts(Method::CG, "none");
    const int rank = c.rank();
    u.M = dsla::make_operator(A.n_owned(), A.n_owned(), at::kDouble, c10::Device(c10::kCPU),
                              [calls, rank](const at::Tensor& x, at::Tensor& y) {
                                TORCH_CHECK_VALUE(rank != 1 || ++*calls < 3, "user M broke");
                                y.copy_(x);
                              });
    dsla::dist::solve(A, at::ones({A.n_owned()}, at::kDouble), u);
  });
  EXPECT_NE(msg[1].find("user M broke"), std::string::npos) << msg[1];
  EXPECT_NE(msg[0].find("rank 1 failed"), std::string::npos) << msg[0];
  // x0 of the wrong length on rank 1; M of the wrong size on rank 1.
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, S, parts);
    auto o = opts(Method::CG, "none");
    o.x0 = at::zeros({A.n_owned() + c.rank()}, at::kDouble);
    dsla::dist::solve(A, at::ones({A.n_owned()}, at::kDouble), o);
  });
  EXPECT_NE(msg[1].find("x0"), std::string::npos) << msg[1];
  EXPECT_FALSE(msg[0].empty());
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, S, parts);
    auto u = opts(Method::CG, "none");
    const int64_t n = A.n_owned() + c.rank();
    u.M = dsla::make_operator(n, n, at::kDouble, c10::Device(c10::kCPU),
                              [](const at::Tensor& x, at::Tensor& y) { y.copy_(x); });
    dsla::dist::solve(A, at::ones({A.n_owned()}, at::kDouble), u);
  });
  EXPECT_NE(msg[1].find("argument 'M'"), std::string::npos) << msg[1];
  EXPECT_FALSE(msg[0].empty());
}

}  // namespace
