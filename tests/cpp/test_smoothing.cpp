// The one spectral estimate and the one Chebyshev (src/solve/precond: spectral_estimate.h,
// smoothing.h): the CPU kernel, the ATen recurrence (batches, complex) and the breakdown rule give
// the same tridiagonal; the estimate converges to the extreme eigenvalues of D⁻¹A (dense
// eigvalsh); AMG's Chebyshev smoother is the precond='chebyshev' polynomial with the same
// interval; smoothing from a guess is x + M⁻¹(b − A x) (dense M⁻¹) on the fused passes (one
// system, k = 1) and the ATen path (k > 1, batches), for Chebyshev and l1-Jacobi.
#include <dsla/generators.h>
#include <dsla/ops.h>
#include <gtest/gtest.h>

#include "solve/make_preconditioner.h"
#include "solve/precond/common.h"
#include "solve/precond/smoothing.h"
#include "solve/precond/spectral_estimate.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace {

using dsla::SparseMatrix;
namespace pd = dsla::precond::detail;

at::Tensor values_2d(const SparseMatrix& A) {
  return A.values().reshape({A.batch_size(), A.nnz()}).contiguous();
}
at::Tensor dinv_of(const SparseMatrix& A) {
  return A.diagonal().reshape({A.batch_size(), A.rows()}).reciprocal().unsqueeze(-1).contiguous();
}
SparseMatrix batch_of_two(const SparseMatrix& A) {
  return SparseMatrix(A.pattern(), at::stack({A.values(), A.values()}), false);
}
// Extreme eigenvalues of D^{-1/2} A D^{-1/2} (similar to D⁻¹A), dense.
std::pair<double, double> dense_extremes(const SparseMatrix& A) {
  auto Ad = A.to_dense().to(at::kDouble);
  auto s = Ad.diagonal().rsqrt();
  auto ev = at::linalg_eigvalsh(s.unsqueeze(1) * Ad * s.unsqueeze(0));
  return {ev.min().item<double>(), ev.max().item<double>()};
}
void expect_close(const at::Tensor& a, const at::Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a - b).abs().max().item<double>();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  EXPECT_LE(err, tol * scale) << what << ": max error " << err;
}
// M⁻¹ as a dense [n, n] (member 0), from n right-hand sides.
at::Tensor dense_inverse(const dsla::precond::Preconditioner& P) {
  const int64_t n = P.rows();
  auto I = at::eye(n, at::TensorOptions().dtype(P.dtype())).unsqueeze(0).contiguous();
  auto y = at::empty({1, n, n}, I.options());
  P.apply(I, y);
  return y[0];
}

TEST(SpectralEstimate, KernelAtenAndComplexGiveOneTridiagonal) {
  auto A = dsla::poisson2d(10);
  auto one = pd::estimate_spectrum(*A.pattern(), values_2d(A), dinv_of(A), 12, true);  // kernel
  auto A2 = batch_of_two(A);
  auto two = pd::estimate_spectrum(*A2.pattern(), values_2d(A2), dinv_of(A2), 12, true);  // ATen
  auto Ac = A.to(at::kComplexDouble);
  auto cx = pd::estimate_spectrum(*Ac.pattern(), values_2d(Ac), dinv_of(Ac), 12, true);
  ASSERT_TRUE(one.lanczos && two.lanczos && cx.lanczos);
  ASSERT_EQ(two.lmax.size(0), 2);
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_NEAR(two.lmax[b].item<double>(), one.lmax[0].item<double>(), 1e-12);
    EXPECT_NEAR(two.lmin[b].item<double>(), one.lmin[0].item<double>(), 1e-12);
  }
  EXPECT_NEAR(cx.lmax[0].item<double>(), one.lmax[0].item<double>(), 1e-12);
  EXPECT_NEAR(cx.lmin[0].item<double>(), one.lmin[0].item<double>(), 1e-12);
}

TEST(SpectralEstimate, ConvergesToTheExtremeEigenvalues) {
  auto A = dsla::random_spd(30, 0.2, 4);
  auto [lo, hi] = dense_extremes(A);
  auto est = pd::estimate_spectrum(*A.pattern(), values_2d(A), dinv_of(A), 30, true);
  EXPECT_NEAR(est.lmax[0].item<double>(), hi, 1e-8 * hi);
  EXPECT_NEAR(est.lmin[0].item<double>(), lo, 1e-8 * hi);
  // A few steps: Ritz values lie inside the spectrum.
  auto few = pd::estimate_spectrum(*A.pattern(), values_2d(A), dinv_of(A), 4, true);
  EXPECT_LE(few.lmax[0].item<double>(), hi * (1 + 1e-12));
  EXPECT_GE(few.lmin[0].item<double>(), lo * (1 - 1e-12));
}

TEST(SpectralEstimate, BreakdownEndsTheTridiagonalOnEveryPath) {
  // Blocks [[2, 1], [1, 2]]: D⁻¹A has the eigenvalues 0.5 and 1.5 only, so Lanczos breaks down
  // after two steps. The steps after it must add no Ritz value (a zero would be a false λmin).
  const int64_t m = 20, n = 2 * m;
  std::vector<int64_t> r, c;
  std::vector<double> v;
  for (int64_t k = 0; k < m; ++k) {
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        r.push_back(2 * k + i);
        c.push_back(2 * k + j);
        v.push_back(i == j ? 2.0 : 1.0);
      }
    }
  }
  auto A = SparseMatrix::from_coo(at::tensor(r), at::tensor(c), at::tensor(v), {n, n});
  auto A2 = batch_of_two(A);
  for (const auto* M : {&A, &A2}) {
    auto est = pd::estimate_spectrum(*M->pattern(), values_2d(*M), dinv_of(*M), 8, true);
    for (int64_t b = 0; b < est.lmax.size(0); ++b) {
      EXPECT_NEAR(est.lmin[b].item<double>(), 0.5, 1e-10);
      EXPECT_NEAR(est.lmax[b].item<double>(), 1.5, 1e-10);
    }
  }
}

TEST(SpectralEstimate, PowerIterationWhenNotHermitian) {
  auto A = dsla::random_sparse(40, 40, 0.1, 3);
  auto Ad = A.to_dense() + at::diag(at::arange(1, 41, at::kDouble));  // dominant real eigenvalue
  auto B = SparseMatrix::from_dense(Ad);
  auto est = pd::estimate_spectrum(*B.pattern(), values_2d(B), dinv_of(B), 300, false);
  EXPECT_FALSE(est.lanczos);
  EXPECT_FALSE(est.lmin.defined());
  auto rho = at::linalg_eigvals(Ad / Ad.diagonal().unsqueeze(1)).abs().max().item<double>();
  EXPECT_NEAR(est.lmax[0].item<double>(), rho, 0.05 * rho);
}

TEST(ChebyshevSmoother, IsThePreconditionerKindOnTheSameInterval) {
  auto A = dsla::random_spd(36, 0.15, 2);
  auto est = pd::estimate_spectrum(*A.pattern(), values_2d(A), dinv_of(A), 8, true);
  auto S = pd::make_chebyshev_smoother(A, dinv_of(A), est, 3, 10.0, true);
  dsla::precond::Options o;
  o.kind = "chebyshev";
  o.degree = 3;
  o.lambda_ratio = 10.0;
  o.power_iters = 8;
  o.estimate_lambda_min = false;
  auto P = dsla::precond::make_preconditioner(A, o);
  EXPECT_EQ(S->name(), P->name());
  expect_close(dense_inverse(*S), dense_inverse(*P), 1e-14, "AMG smoother vs precond");
  const auto iv = pd::chebyshev_intervals(*S)[0];
  EXPECT_DOUBLE_EQ(iv.second, 1.1 * est.lmax[0].item<double>());
  EXPECT_DOUBLE_EQ(iv.first, iv.second / 10.0);
}

// x ← x + M⁻¹(b − A x), `sweeps` times, densely.
at::Tensor reference_sweeps(const at::Tensor& Ad, const at::Tensor& Minv, const at::Tensor& b,
                            at::Tensor x, int64_t sweeps) {
  for (int64_t s = 0; s < sweeps; ++s) x = x + at::matmul(Minv, b - at::matmul(Ad, x));
  return x;
}

TEST(Smoothers, SmoothingIsRichardsonOnM) {
  auto A = dsla::random_spd(32, 0.2, 6);
  auto Ad = A.to_dense();
  auto est = pd::estimate_spectrum(*A.pattern(), values_2d(A), dinv_of(A), 8, true);
  std::vector<std::pair<std::string, pd::SmootherPtr>> smoothers = {
      {"chebyshev d3", pd::make_chebyshev_smoother(A, dinv_of(A), est, 3, 10.0, true)},
      {"chebyshev d1", pd::make_chebyshev_smoother(A, dinv_of(A), est, 1, 10.0, true)},
      {"l1_jacobi", pd::make_l1_jacobi_smoother(A, 0.8)}};
  auto g = at::Generator(at::detail::createCPUGenerator(7));
  for (const auto& [what, S] : smoothers) {
    auto Minv = dense_inverse(*S);
    for (int64_t k : {1, 3}) {  // k = 1: fused passes; k = 3: the ATen recurrence
      auto b = at::randn({1, 32, k}, g, at::kDouble);
      auto x0 = at::randn({1, 32, k}, g, at::kDouble);
      for (int64_t sweeps : {1, 2}) {
        at::Tensor x = x0.clone();
        S->smooth(b, x, false, sweeps);
        expect_close(x[0], reference_sweeps(Ad, Minv, b[0], x0[0], sweeps), 1e-12,
                     what + " k=" + std::to_string(k) + " sweeps=" + std::to_string(sweeps));
        at::Tensor z;
        S->smooth(b, z, true, sweeps);
        expect_close(z[0], reference_sweeps(Ad, Minv, b[0], at::zeros_like(x0[0]), sweeps), 1e-12,
                     what + " zero guess k=" + std::to_string(k));
      }
      auto y = at::empty_like(b);
      S->apply(b, y);  // apply == one sweep from zero
      expect_close(y[0], at::matmul(Minv, b[0]), 1e-12, what + " apply");
    }
  }
}

TEST(Smoothers, FusedAndAtenAgreeInFloat32AndBatches) {
  auto A = dsla::poisson2d(8).to(at::kFloat);
  auto P = dsla::precond::make_preconditioner(A, [] {
    dsla::precond::Options o;
    o.kind = "chebyshev";
    return o;
  }());
  auto b = at::rand({1, 64, 1}, at::kFloat);
  auto y1 = at::empty_like(b);
  P->apply(b, y1);  // fused passes
  auto b2 = at::cat({b, b}, 2);
  auto y2 = at::empty_like(b2);
  P->apply(b2, y2);  // ATen
  expect_close(y1[0].select(1, 0), y2[0].select(1, 1), 1e-5, "float32 fused vs aten");
  // A batch of two equal members smooths like one.
  auto A2 = batch_of_two(A.to(at::kDouble));
  auto est = pd::estimate_spectrum(*A2.pattern(), values_2d(A2), dinv_of(A2), 8, true);
  auto S2 = pd::make_chebyshev_smoother(A2, dinv_of(A2), est, 3, 10.0, true);
  auto A1 = A.to(at::kDouble);
  auto est1 = pd::estimate_spectrum(*A1.pattern(), values_2d(A1), dinv_of(A1), 8, true);
  auto S1 = pd::make_chebyshev_smoother(A1, dinv_of(A1), est1, 3, 10.0, true);
  auto bd = b.to(at::kDouble);
  at::Tensor x1, x2;
  S1->smooth(bd, x1, true, 2);
  S2->smooth(at::cat({bd, bd}, 0), x2, true, 2);
  expect_close(x2[0], x1[0], 1e-12, "batch member 0");
  expect_close(x2[1], x1[0], 1e-12, "batch member 1");
}

TEST(ChebyshevSmoother, RefusesANonPositiveSpectrum) {
  auto A = dsla::poisson2d(6);
  auto N = SparseMatrix(A.pattern(), -A.values(), false);
  pd::SpectrumEstimate est;
  est.lmax = at::full({1}, -2.0, at::kDouble);
  est.lmin = at::full({1}, -3.0, at::kDouble);
  est.lanczos = true;
  try {
    pd::make_chebyshev_smoother(N, dinv_of(N), est, 3, 10.0, true);
    FAIL() << "expected a ValueError";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("not positive definite"), std::string::npos) << e.what();
  }
}

}  // namespace
