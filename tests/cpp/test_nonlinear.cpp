// dsla::nonlinear_solve (C++ callables): 1D Bratu with Newton (assembled and JFNK), Picard and
// Anderson on a lagged fixed point, failure reporting, implicit-function gradients (assembled and
// matrix-free adjoints) against finite differences.
#include <dsla/config.h>
#include <dsla/errors.h>
#include <dsla/nonlinear.h>
#include <dsla/ops.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <gtest/gtest.h>

#include <utility>

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

// Bratu-type residual F(u) = L u - lam e^u and its assembled Jacobian L - lam diag(e^u).
std::pair<dsla::ResidualFn, dsla::JacobianFn> bratu(const SparseMatrix& L, double lam) {
  auto F = [L, lam](const at::Tensor& u) { return dsla::matmul(L, u) - lam * at::exp(u); };
  auto dmask = (L.row_indices() == L.col_indices());
  auto rows = L.row_indices().to(at::kLong);
  auto J = [L, lam, dmask, rows](const at::Tensor& u) {
    auto v = L.values() -
             at::where(dmask, lam * at::exp(u.index_select(0, rows)), at::zeros_like(L.values()));
    return L.with_values(v);
  };
  return {F, J};
}

TEST(Nonlinear, BratuNewtonAssembledAndJfnkAgree) {
  const int64_t n = 100;
  const double lam = 2.0;
  auto L = laplace1d(n);
  auto [F, J] = bratu(L, lam);
  NonlinearOptions o;
  o.rtol = 1e-10;
  NonlinearInfo info;
  auto u = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, J, {}, &info);
  EXPECT_TRUE(info.converged) << info.message;
  EXPECT_LE(info.iterations, 6);
  // Direct LU where the build has SuiteSparse; else CG + AMG (the Jacobian is SPD here).
  EXPECT_EQ(info.linear_solver, DSLA_HAVE_SUITESPARSE ? "lu" : "cg+amg");
  EXPECT_LT(F(u).norm().item<double>(), 1e-8 * info.residual_history.front());
  NonlinearInfo info2;
  auto u2 = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, {}, {}, &info2);
  EXPECT_TRUE(info2.converged) << info2.message;
  EXPECT_TRUE(at::allclose(u, u2, 1e-6, 1e-8));
  EXPECT_EQ(info2.linear_solver, "jfnk-gmres");
  // Picard and Anderson on the lagged map u = L⁻¹ lam e^u (direct, or CG to rounding).
  dsla::SolveOptions so;
  so.rtol = 1e-14;
  dsla::Solver S(L, so);
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

TEST(Nonlinear, IterativeInnerSolveOnNonsymmetricJacobian) {
  // -u'' + c u' = lam e^u (upwind convection): a nonsymmetric Jacobian. Every build: GMRES +
  // ILU0 when asked for; method Auto picks LU (direct build) or GMRES + ILU0 (no SuiteSparse).
  const int64_t n = 80;
  const double lam = 1.0, c = 20.0, h = 1.0 / double(n + 1);
  auto D = laplace1d(n).to_dense() +
           c / h * (at::eye(n, at::kDouble) - at::diag(at::ones({n - 1}, at::kDouble), -1));
  auto L = SparseMatrix::from_dense(D);
  auto [F, J] = bratu(L, lam);
  NonlinearOptions o;
  o.rtol = 1e-11;
  NonlinearInfo info;
  auto u = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, J, {}, &info);
  EXPECT_TRUE(info.converged) << info.message;
  EXPECT_EQ(info.linear_solver, DSLA_HAVE_SUITESPARSE ? "lu" : "gmres+ilu0");
  o.linear.method = dsla::Method::GMRES;
  o.linear.precond = "ilu0";
  o.linear.rtol = 1e-12;
  NonlinearInfo info2;
  auto u2 = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, J, {}, &info2);
  EXPECT_TRUE(info2.converged) << info2.message;
  EXPECT_EQ(info2.linear_solver, "gmres+ilu0");
  EXPECT_TRUE(at::allclose(u, u2, 1e-9, 1e-12));
}

TEST(Nonlinear, DirectLinearSolverWhenAsked) {
  if (!DSLA_HAVE_SUITESPARSE) GTEST_SKIP() << "dsla built without SuiteSparse: no direct solver";
  const int64_t n = 50;
  auto L = laplace1d(n);
  auto F = [L](const at::Tensor& u) { return dsla::matmul(L, u) - at::exp(u); };
  auto dmask = (L.row_indices() == L.col_indices());
  auto rows = L.row_indices().to(at::kLong);
  auto J = [L, dmask, rows](const at::Tensor& u) {
    return L.with_values(L.values() - at::where(dmask, at::exp(u.index_select(0, rows)),
                                                at::zeros_like(L.values())));
  };
  NonlinearOptions o;
  o.linear.method = dsla::Method::Cholesky;
  NonlinearInfo info;
  dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, J, {}, &info);
  EXPECT_TRUE(info.converged) << info.message;
  EXPECT_EQ(info.linear_solver, "cholesky");
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

// F(u; vals, lam) = A(vals) u - lam e^u with gradients to lam and to A's values; the loss w·u*.
TEST(Nonlinear, ImplicitGradientMatchesFiniteDifferences) {
  const int64_t n = 30;
  auto L = laplace1d(n);
  auto w = at::linspace(-1.0, 2.0, n, at::kDouble);
  auto dmask = (L.row_indices() == L.col_indices());
  auto rows = L.row_indices().to(at::kLong);
  // loss(vals, lam) and its gradient through the requested adjoint.
  auto run = [&](const at::Tensor& vals, const at::Tensor& lam, bool assembled, bool exact_jvp) {
    auto A = L.with_values(vals);
    dsla::ResidualFn F = [A, lam](const at::Tensor& u) {
      return dsla::matmul(A, u) - lam * at::exp(u);
    };
    dsla::JacobianFn J;
    if (assembled) {
      J = [A, lam, dmask, rows](const at::Tensor& u) {
        auto e = lam.detach() * at::exp(u.index_select(0, rows));
        return A.with_values(A.values().detach() - at::where(dmask, e, at::zeros_like(e)));
      };
    }
    NonlinearOptions o;
    o.rtol = 1e-13;
    if (exact_jvp) o.jvp = dsla::autograd_jvp(F);
    NonlinearInfo info;
    auto u = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), {vals, lam}, o, J, {}, &info);
    EXPECT_TRUE(info.converged) << info.message;
    return (w * u).sum();
  };
  const double lam0 = 1.5, e = 1e-6;
  for (int mode = 0; mode < 3; ++mode) {
    const bool assembled = mode == 0, exact = mode == 1;
    auto vals = L.values().detach().clone().requires_grad_(true);
    auto lam = at::full({}, lam0, at::kDouble).requires_grad_(true);
    auto loss = run(vals, lam, assembled, exact);
    // One node whose parents are the inputs' accumulators: nothing of the iterations is kept.
    ASSERT_TRUE(loss.grad_fn() != nullptr);
    loss.backward();
    ASSERT_TRUE(lam.grad().defined() && vals.grad().defined());
    at::NoGradGuard ng;
    auto f = [&](const at::Tensor& v, double l) {
      return run(v, at::full({}, l, at::kDouble), assembled, exact).item<double>();
    };
    const double fd_lam = (f(vals.detach(), lam0 + e) - f(vals.detach(), lam0 - e)) / (2 * e);
    EXPECT_NEAR(lam.grad().item<double>(), fd_lam, 1e-6 * std::max(1.0, std::abs(fd_lam)))
        << "mode " << mode;
    // A directional derivative in the values (a small perturbation keeps J nonsingular).
    auto dv = at::rand_like(vals.detach()) * 1e-3 * L.values().abs().max();
    const double fd_v =
        (f(vals.detach() + e * dv, lam0) - f(vals.detach() - e * dv, lam0)) / (2 * e);
    const double g_v = (vals.grad() * dv).sum().item<double>();
    EXPECT_NEAR(g_v, fd_v, 1e-5 * std::max(1.0, std::abs(fd_v))) << "mode " << mode;
  }
}

TEST(Nonlinear, ExactJvpMatchesFiniteDifferenceJfnk) {
  const int64_t n = 60;
  auto L = laplace1d(n);
  auto [F, J] = bratu(L, 2.0);
  NonlinearOptions o;
  o.rtol = 1e-10;
  o.linear.rtol = 1e-10;
  NonlinearInfo fd, ex;
  auto u1 = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, {}, {}, &fd);
  o.jvp = dsla::autograd_jvp(F);
  auto u2 = dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o, {}, {}, &ex);
  EXPECT_TRUE(fd.converged) << fd.message;
  EXPECT_TRUE(ex.converged) << ex.message;
  EXPECT_EQ(ex.linear_solver, "jfnk-gmres");
  EXPECT_TRUE(at::allclose(u1, u2, 1e-7, 1e-9));
  // A named preconditioner needs a matrix: refused by name without a Jacobian.
  o.linear.precond = "amg";
  EXPECT_THROW(dsla::nonlinear_solve(F, at::zeros({n}, at::kDouble), o), c10::ValueError);
}

}  // namespace
