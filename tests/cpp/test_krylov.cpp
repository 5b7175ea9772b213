// Krylov methods through the public API: every method on random and real matrices against dense
// solves, the fused CG kernels against the generic path, status reporting.
#include <dsla/generators.h>
#include <dsla/io.h>
#include <dsla/ops.h>
#include <dsla/solve.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <gtest/gtest.h>

#include <fstream>

#include "core/products.h"
#include "solve/krylov/cg_steps.h"

namespace {

using dsla::Method;
using dsla::SolveInfo;
using dsla::SolveOptions;
using dsla::SparseMatrix;
using dsla::Status;

std::string data(const std::string& name) {
  return std::string(DSLA_DATA_DIR) + "/" + name;
}
bool have(const std::string& name) {
  return std::ifstream(data(name)).good();
}

at::Tensor dense_spd(int64_t n, at::ScalarType dt = at::kDouble) {
  at::manual_seed(1);
  auto r = at::randn({n, n}, at::kDouble) * (at::rand({n, n}) < 0.3);
  auto s = r + r.t();
  return (s + at::diag(s.abs().sum(1) + 1)).to(dt);
}

at::Tensor dense_general(int64_t n) {
  at::manual_seed(2);
  auto r = at::randn({n, n}, at::kDouble) * (at::rand({n, n}) < 0.3);
  return r + at::diag(r.abs().sum(1) + 1);
}

SolveOptions opts(Method m, double rtol = 1e-10) {
  SolveOptions o;
  o.method = m;
  o.rtol = rtol;
  o.warn = false;
  o.maxiter = 20000;
  return o;
}

TEST(Krylov, EveryMethodRandomSpd) {
  auto D = dense_spd(40);
  auto A = SparseMatrix::from_dense(D);
  auto b = at::randn({40, 3}, at::kDouble);
  auto ref = at::linalg_solve(D, b);
  for (Method m : {Method::CG, Method::BiCGStab, Method::GMRES, Method::FGMRES, Method::MINRES,
                   Method::LSQR, Method::LSMR}) {
    SolveInfo info;
    auto x = dsla::solve(A, b, opts(m), &info);
    EXPECT_TRUE(info.converged) << info.message;
    EXPECT_LE(info.residual, 1e-10) << dsla::to_string(m);
    EXPECT_TRUE(at::allclose(x, ref, 1e-7, 1e-8)) << dsla::to_string(m);
  }
}

TEST(Krylov, NonsymmetricRandom) {
  auto D = dense_general(50);
  auto A = SparseMatrix::from_dense(D);
  auto b = at::randn({50}, at::kDouble);
  auto ref = at::linalg_solve(D, b);
  for (Method m : {Method::BiCGStab, Method::GMRES, Method::FGMRES, Method::LSQR, Method::LSMR}) {
    auto x = dsla::solve(A, b, opts(m));
    EXPECT_TRUE(at::allclose(x, ref, 1e-7, 1e-8)) << dsla::to_string(m);
  }
}

TEST(Krylov, RealMatrices) {
  struct Case {
    const char* file;
    Method m;
  };
  for (auto c : {Case{"bcsstk03.mtx", Method::CG}, Case{"gr_30_30.mtx", Method::CG},
                 Case{"sherman1.mtx", Method::MINRES}, Case{"orsirr_1.mtx", Method::GMRES},
                 Case{"sherman5.mtx", Method::GMRES}, Case{"cage8.mtx", Method::BiCGStab},
                 Case{"add32.mtx", Method::BiCGStab}}) {
    if (!have(c.file)) continue;
    auto A = dsla::read_mtx(data(c.file));
    auto b = dsla::matmul(A, at::ones({A.cols()}, at::kDouble));
    auto o = opts(c.m);
    o.restart = 50;
    SolveInfo info;
    auto x = dsla::solve(A, b, o, &info);
    EXPECT_TRUE(info.converged) << c.file << ": " << info.message;
    auto r = (b - dsla::matmul(A, x)).norm() / b.norm();
    EXPECT_LE(r.item<double>(), 1.01e-10) << c.file;
    EXPECT_NEAR(r.item<double>(), info.residual, 1e-12 + 1e-3 * info.residual);
    auto ref = at::linalg_solve(A.to_dense(), b);
    EXPECT_LT(((x - ref).norm() / ref.norm()).item<double>(), 1e-4) << c.file;
  }
}

TEST(Krylov, LeastSquaresRectangular) {
  at::manual_seed(3);
  auto D = at::randn({60, 20}, at::kDouble) * (at::rand({60, 20}) < 0.4);
  D.narrow(0, 0, 20).add_(at::eye(20, at::kDouble));
  auto A = SparseMatrix::from_dense(D);
  auto b = at::randn({60}, at::kDouble);
  auto ref = std::get<0>(at::linalg_lstsq(D, b.unsqueeze(-1))).squeeze(-1);
  for (Method m : {Method::LSQR, Method::LSMR}) {
    SolveInfo info;
    auto x = dsla::solve(A, b, opts(m, 1e-12), &info);
    EXPECT_TRUE(info.converged) << info.message;
    EXPECT_TRUE(at::allclose(x, ref, 1e-7, 1e-8)) << dsla::to_string(m);
  }
}

TEST(Krylov, FusedCgMatchesGenericAndThreads) {
  auto A = dsla::poisson2d(40);
  auto b = at::ones({1600, 2}, at::kDouble);
  auto o = opts(Method::CG);
  o.precond = "jacobi";
  SolveInfo fused_info, generic_info;
  auto xf = dsla::solve(A, b, o, &fused_info);
  // A matrix-free operator forces the generic path with the same Jacobi preconditioner.
  auto dinv = (1 / A.diagonal()).view({1, -1, 1});
  o.M = dsla::make_operator(1600, 1600, at::kDouble, at::kCPU,
                            [dinv](const at::Tensor& x, at::Tensor& y) { y.copy_(dinv * x); });
  auto xg = dsla::solve(A, b, o, &generic_info);
  EXPECT_TRUE(at::allclose(xf, xg, 1e-8, 1e-10));
  EXPECT_NEAR(fused_info.iterations, generic_info.iterations, 2);
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  auto x2 = dsla::solve(A, b, opts(Method::CG));
  at::set_num_threads(saved);
  EXPECT_TRUE(at::allclose(xf, x2, 1e-8, 1e-10));
}

TEST(Krylov, CgStepsKernelMatchesAten) {
  auto A = dsla::poisson2d(12);
  const auto& p = *A.pattern();
  auto v = A.values().unsqueeze(0).contiguous();
  auto pv = at::randn({1, 144, 3}, at::kDouble);
  auto q = at::empty_like(pv);
  auto pq = at::empty({1, 1, 3}, at::kDouble);
  dsla::krylov::cg_spmv_dot(p, v, pv, q, pq);
  auto qr = dsla::matmul(A, pv.squeeze(0));
  EXPECT_TRUE(at::allclose(q.squeeze(0), qr));
  EXPECT_TRUE(at::allclose(pq.view({3}), (pv.squeeze(0) * qr).sum(0)));
}

TEST(Krylov, IndefiniteBreakdownAndMaxiter) {
  auto D = at::diag(at::tensor({1.0, -1.0, 2.0}, at::kDouble));
  auto A = SparseMatrix::from_dense(D);
  auto o = opts(Method::CG);
  o.precond = "none";
  SolveInfo info;
  dsla::solve(A, at::ones({3}, at::kDouble), o, &info);
  EXPECT_EQ(info.status, Status::Indefinite);
  EXPECT_FALSE(info.converged);
  o.raise_on_failure = true;
  EXPECT_THROW(dsla::solve(A, at::ones({3}, at::kDouble), o), dsla::SolveError);

  auto P = dsla::poisson2d(30);
  auto om = opts(Method::CG);
  om.maxiter = 3;
  dsla::solve(P, at::ones({900}, at::kDouble), om, &info);
  EXPECT_EQ(info.status, Status::MaxIterations);
  EXPECT_EQ(info.iterations, 3);

  auto S = SparseMatrix::from_dense(at::tensor({1.0, 2.0, 2.0, 4.0}, at::kDouble).view({2, 2}));
  for (Method m : {Method::GMRES, Method::BiCGStab}) {
    auto os = opts(m);
    os.precond = "none";
    os.maxiter = 50;
    dsla::solve(S, at::tensor({1.0, 0.0}, at::kDouble), os, &info);
    EXPECT_FALSE(info.converged) << info.message;
    EXPECT_GT(info.residual, 1e-3);
  }
}

TEST(Krylov, ComplexAndFloat32) {
  auto D = dense_spd(20).to(at::kComplexDouble);
  D = D + at::complex(at::zeros({20, 20}, at::kDouble), at::randn({20, 20}, at::kDouble) * 0.1);
  D = (D + D.conj().t()) / 2;
  auto A = SparseMatrix::from_dense(D);
  auto b = at::randn({20}, at::kComplexDouble);
  for (Method m : {Method::CG, Method::MINRES, Method::GMRES, Method::BiCGStab}) {
    auto x = dsla::solve(A, b, opts(m));
    EXPECT_TRUE(at::allclose(x, at::linalg_solve(D, b), 1e-7, 1e-8)) << dsla::to_string(m);
  }
  auto Af = dsla::poisson2d(10, dsla::GenOptions{at::kFloat});
  SolveInfo info;
  auto xf = dsla::solve(Af, at::ones({100}, at::kFloat), opts(Method::CG, 1e-5), &info);
  EXPECT_EQ(xf.scalar_type(), at::kFloat);
  EXPECT_TRUE(info.converged) << info.message;
}

// Mixed precision: float32 values, float64 vectors. The float32 matrix widened to float64 is the
// same matrix exactly, so its float64 solve is the reference (every product in float64): the
// iterates agree to rounding, and the true residual reaches rtol = 1e-12, beyond float32.
TEST(Krylov, MixedPrecisionCgMatchesWidenedMatrix) {
  auto D = dense_spd(60, at::kFloat);
  auto A32 = SparseMatrix::from_dense(D);
  auto A64 = SparseMatrix::from_dense(D.to(at::kDouble));
  at::manual_seed(3);
  for (int64_t k : {1, 3}) {
    auto b = k == 1 ? at::randn({60}, at::kDouble) : at::randn({60, k}, at::kDouble);
    for (const char* pc : {"jacobi", "none"}) {
      auto o = opts(Method::CG, 1e-12);
      o.precond = pc;
      SolveInfo i32, i64;
      auto x32 = dsla::solve(A32, b, o, &i32);
      auto x64 = dsla::solve(A64, b, o, &i64);
      EXPECT_EQ(x32.scalar_type(), at::kDouble);
      EXPECT_TRUE(i32.converged) << i32.message;
      EXPECT_EQ(i32.iterations, i64.iterations) << pc;
      EXPECT_TRUE(at::allclose(x32, x64, 1e-12, 1e-14)) << pc << " k=" << k;
      auto r = b - at::matmul(D.to(at::kDouble), x32);
      EXPECT_LT((r.norm() / b.norm()).item<double>(), 1e-11);
    }
  }
  // The products alone, against the widened matrix.
  auto x = at::randn({1, 60, 2}, at::kDouble);
  auto v32 = A32.values().unsqueeze(0).contiguous();
  auto y = dsla::detail::spmm(*A32.pattern(), v32, x);
  EXPECT_EQ(y.scalar_type(), at::kDouble);
  EXPECT_TRUE(at::allclose(y.squeeze(0), at::matmul(D.to(at::kDouble), x.squeeze(0)), 1e-13));
  auto q = at::empty_like(x);
  auto pq = at::empty({1, 1, 2}, at::kDouble);
  dsla::krylov::cg_spmv_dot(*A32.pattern(), v32, x, q, pq);
  EXPECT_TRUE(at::allclose(q, y, 1e-13));
  EXPECT_TRUE(at::allclose(pq.view({2}), (x * y).sum(1).view({2}), 1e-12));
  // 'auto' runs CG; other methods, preconditioners and the reverse pairing are refused by name.
  SolveInfo ia;
  auto oa = opts(Method::Auto);
  dsla::solve(A32, at::ones({60}, at::kDouble), oa, &ia);
  EXPECT_EQ(ia.method, Method::CG);
  EXPECT_THROW(dsla::solve(A32, at::ones({60}, at::kDouble), opts(Method::GMRES)), c10::TypeError);
  auto oi = opts(Method::CG);
  oi.precond = "ic0";
  EXPECT_THROW(dsla::solve(A32, at::ones({60}, at::kDouble), oi), c10::TypeError);
  EXPECT_THROW(dsla::solve(A64, at::ones({60}, at::kFloat), opts(Method::CG)), c10::TypeError);
  auto N = SparseMatrix::from_dense(dense_general(30).to(at::kFloat));
  EXPECT_THROW(dsla::solve(N, at::ones({30}, at::kDouble), oa), c10::TypeError);
}

}  // namespace
