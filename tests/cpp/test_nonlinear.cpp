// dsla::nonlinear_solve (C++ callables): 1D Bratu with Newton (assembled and JFNK), Picard and
// Anderson on a lagged fixed point, failure reporting.
#include <dsla/errors.h>
#include <dsla/nonlinear.h>
#include <dsla/ops.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

namespace {

using dsla::NonlinearInfo;
using dsla::NonlinearMethod;
using dsla::NonlinearOptions;
using dsla::SparseMatrix;

// -u'' = lam e^u on (0, 1), n interior points.
SparseMatrix laplace1d(int64_t n) {
  const double h2 = 1.0 / double((n + 1) * (n + 1));
  auto D = at::diag(at::full({n}, 2.0 / h2, at::kDouble)) -
           at::diag(at::full({n - 1}, 1.0 / h2, at::kDouble), 1) -
           at::diag(at::full({n - 1}, 1.0 / h2, at::kDouble), -1);
  return SparseMatrix::from_dense(D);
}

TEST(Nonlinear, BratuNewtonAssembledAndJfnkAgree) {
  const int64_t n = 100;
  const double lam = 2.0;
  auto L = laplace1d(n);
  auto F = [L, lam](const at::Tensor& u) { return dsla::matmul(L, u) - lam * at::exp(u); };
  auto dmask = (L.row_indices() == L.col_indices());
  auto rows = L.row_indices().to(at::kLong);
  auto J = [L, lam, dmask, rows](const at::Tensor& u) {
    auto v = L.values() -
             at::where(dmask, lam * at::exp(u.index_select(0, rows)), at::zeros_like(L.values()));
    return L.with_values(v);
  };
  NonlinearOptions o;
  o.rtol = 1e-10;
  NonlinearInfo info;
  auto u = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, J, {}, &info);
  EXPECT_TRUE(info.converged) << info.message;
  EXPECT_LE(info.iterations, 6);
  EXPECT_LT(F(u).norm().item<double>(), 1e-8 * info.residual_history.front());
  NonlinearInfo info2;
  auto u2 = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, {}, {}, &info2);
  EXPECT_TRUE(info2.converged) << info2.message;
  EXPECT_TRUE(at::allclose(u, u2, 1e-6, 1e-8));
  // Picard and Anderson on the lagged map u = L⁻¹ lam e^u.
  dsla::Solver S(L);
  auto G = [S, lam](const at::Tensor& u) { return S.solve(lam * at::exp(u)); };
  NonlinearInfo ip, ia;
  o.maxiter = 500;
  o.method = NonlinearMethod::Picard;
  auto up = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, {}, G, &ip);
  o.method = NonlinearMethod::Anderson;
  auto ua = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, {}, G, &ia);
  EXPECT_TRUE(ip.converged) << ip.message;
  EXPECT_TRUE(ia.converged) << ia.message;
  EXPECT_LT(ia.iterations, ip.iterations);
  EXPECT_TRUE(at::allclose(up, u, 1e-6, 1e-8));
  EXPECT_TRUE(at::allclose(ua, u, 1e-6, 1e-8));
}

TEST(Nonlinear, DivergenceAndBadInput) {
  NonlinearOptions o;
  o.method = NonlinearMethod::Picard;
  o.warn = false;
  NonlinearInfo info;
  auto G = [](const at::Tensor& u) { return 2 * u + 1; };
  dsla::nonlinear_solve({}, at::zeros({4}, at::kDouble), o, {}, G, &info);
  EXPECT_FALSE(info.converged);
  EXPECT_EQ(info.status, "diverged");
  o.raise_on_failure = true;
  EXPECT_THROW(dsla::nonlinear_solve({}, at::zeros({4}, at::kDouble), o, {}, G), dsla::SolveError);
  EXPECT_THROW(dsla::nonlinear_solve({}, at::zeros({4, 2}, at::kDouble), o, {}, G),
               c10::ValueError);
}

}  // namespace
