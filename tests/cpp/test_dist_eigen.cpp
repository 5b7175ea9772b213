// Distributed eigsh on P threads as P ranks against dense eigvalsh of the global matrix: SA and
// LA, Jacobi and none, shift-invert (sigma, SM) and LM, P = 1, 2, 3 with a non-contiguous partition
// and an empty rank; the same eigenvalues on every rank; vectors orthonormal over all ranks with
// small residuals; argument errors raise on every rank.
#include <dsla/dist.h>
#include <dsla/generators.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include "dist_harness.h"

namespace {

using dsla::EigenInfo;
using dsla::EigenOptions;
using dsla::SparseMatrix;
using dsla::dist::Comm;
using dsla::dist::DistMatrix;
using dsla_test::from_global;
using dsla_test::run_ranks;

void expect_eigsh(const SparseMatrix& G, const at::Tensor& parts, int P, const std::string& which,
                  const std::string& precond, c10::optional<double> sigma = c10::nullopt) {
  SCOPED_TRACE(which + " " + precond + " P=" + std::to_string(P) +
               (sigma ? " sigma=" + std::to_string(*sigma) : ""));
  const int64_t k = 3, N = G.rows();
  auto w = at::linalg_eigvalsh(G.to_dense());
  at::Tensor ref;
  if (sigma || which == "SM" || which == "LM") {  // the k nearest σ / largest |λ|, ascending
    auto key = which == "LM" ? -w.abs() : (w - (sigma ? *sigma : 0.0)).abs();
    ref = std::get<0>(w.index_select(0, std::get<1>(key.sort()).slice(0, 0, k)).sort());
  } else {
    ref = which == "SA" ? w.slice(0, 0, k) : w.slice(0, N - k, N);
  }
  std::vector<at::Tensor> lams(P), Ug(P);
  std::vector<EigenInfo> info(P);
  run_ranks(P, [&](const Comm& c) {
    auto A = from_global(c, G, parts);
    EigenOptions o;
    o.which = which;
    o.precond = precond;
    o.sigma = sigma;
    o.tol = 1e-10;
    auto [lam, U] = dsla::dist::eigsh(A, k, o, &info[c.rank()]);
    lams[c.rank()] = lam;
    Ug[c.rank()] = A.gather(U.contiguous());
  });
  for (int r = 0; r < P; ++r) {
    EXPECT_TRUE(info[r].ok) << info[r].message;
    EXPECT_TRUE(at::equal(lams[r], lams[0]));
  }
  EXPECT_TRUE(at::allclose(lams[0], ref, 1e-9, 1e-9)) << lams[0] << ref;
  auto U = Ug[0];
  EXPECT_LT((at::matmul(G.to_dense(), U) - U * lams[0]).norm().item<double>(), 1e-7);
  EXPECT_TRUE(at::allclose(at::matmul(U.t(), U), at::eye(k, U.options()), 1e-9, 1e-9));
}

TEST(DistEigsh, MatchesDenseOnEveryLayout) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto G = dsla::poisson2d(9);  // 81 rows: LOBPCG, not the dense fallback, on P > 1
  const int64_t N = G.rows();
  auto two = at::div(at::arange(N, at::kLong) * 2, N, "floor");
  auto empty = (at::arange(N, at::kLong) % 2) * 2;  // rank 1 of 3 owns nothing
  for (const char* which : {"SA", "LA"}) {
    expect_eigsh(G, two, 2, which, "auto");
    expect_eigsh(G, two, 2, which, "none");
  }
  expect_eigsh(G, empty, 3, "SA", "jacobi");
  expect_eigsh(G, at::zeros({N}, at::kLong), 1, "SA", "auto");
}

// Shift-invert through a distributed inner solve (MINRES inside the spectrum, CG at σ = 0 of the
// SPD matrix) and "LM" (both ends), against dense eigvalsh.
TEST(DistEigsh, ShiftInvertAndLargestMagnitude) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto G = dsla::poisson2d(9);
  const int64_t N = G.rows();
  auto two = at::div(at::arange(N, at::kLong) * 2, N, "floor");
  auto empty = (at::arange(N, at::kLong) % 2) * 2;
  expect_eigsh(G, two, 2, "SA", "auto", 3.3);
  expect_eigsh(G, empty, 3, "SA", "auto", 5.05);
  expect_eigsh(G, two, 2, "SM", "auto");
  expect_eigsh(G, two, 2, "LM", "auto");
}

TEST(DistEigsh, ArgumentErrorsRaiseOnEveryRank) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto G = dsla::poisson2d(6);
  auto parts = at::div(at::arange(36, at::kLong) * 2, 36, "floor");
  auto msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    EigenOptions o;
    o.which = "XX";
    dsla::dist::eigsh(from_global(c, G, parts), 2, o);
  });
  for (const auto& m : msg) EXPECT_NE(m.find("'SA', 'LA', 'SM' or 'LM'"), std::string::npos) << m;
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, G, parts);
    EigenOptions o;
    o.X0 = at::zeros({A.n_owned() + c.rank(), 3}, at::kDouble);
    dsla::dist::eigsh(A, 2, o);
  });
  EXPECT_NE(msg[1].find("X0"), std::string::npos) << msg[1];
  EXPECT_FALSE(msg[0].empty());
  auto N = dsla::convdiff2d(6, 5.0);
  msg = dsla_test::run_ranks_errors(
      2, [&](const Comm& c) { dsla::dist::eigsh(from_global(c, N, parts), 2); });
  for (const auto& m : msg) EXPECT_NE(m.find("not Hermitian"), std::string::npos) << m;
}

}  // namespace
