// The cuDSS Factorization (src/cuda/cudss_factorization.cpp) against dense ATen solves on the CPU:
// the direct::Factorization contract on CUDA patterns. Skips without a GPU or without cuDSS.
#include <ATen/ATen.h>
#include <dsla/config.h>
#include <dsla/errors.h>
#include <dsla/generators.h>
#include <dsla/sparse_matrix.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <string>

#include "solve/direct/factorization.h"

namespace {

using dsla::SparseMatrix;
namespace direct = dsla::direct;

#define SKIP_WITHOUT_CUDSS()                                          \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"; \
  if (!DSLA_HAVE_CUDSS) GTEST_SKIP() << "dsla built without cuDSS"

void expect_close(const at::Tensor& got, const at::Tensor& want, double tol,
                  const std::string& what) {
  auto g = got.cpu().to(want.scalar_type());
  const double scale = std::max(1.0, want.abs().max().item<double>());
  const double err = (g - want).abs().max().item<double>();
  EXPECT_LE(err, tol * scale) << what << ": max error " << err;
}

at::Tensor dense_of(const SparseMatrix& A) {
  return A.to(c10::Device(at::kCPU)).to_dense();
}

SparseMatrix general(int64_t n, uint64_t seed) {
  at::manual_seed(seed);
  auto D = at::randn({n, n}, at::kDouble) * (at::rand({n, n}) < 0.3);
  D = D + at::diag(D.abs().sum(1) + 1);
  return SparseMatrix::from_dense(D);
}

TEST(Cudss, CholeskyLdltLuOnPoisson) {
  SKIP_WITHOUT_CUDSS();
  const SparseMatrix A = dsla::poisson2d(12).to(c10::Device(at::kCUDA));
  const at::Tensor D = dense_of(A);
  const at::Tensor b = at::randn({A.rows(), 3}, at::kDouble);
  const at::Tensor ref = at::linalg_solve(D, b);
  for (auto kind : {direct::Kind::Cholesky, direct::Kind::LDLT, direct::Kind::LU}) {
    auto f = direct::make_factorization(A.pattern(), kind, at::kDouble);
    f->factorize(A.values());
    EXPECT_EQ(f->name().rfind("cudss-", 0), 0u);
    expect_close(f->solve(b.cuda(), false), ref, 1e-10, f->name());
    expect_close(f->solve(b.cuda(), true), ref, 1e-10, f->name() + " adjoint");
    expect_close(f->solve(b.select(1, 0).cuda(), false), ref.select(1, 0), 1e-10,
                 f->name() + " vector");
    EXPECT_GT(f->rcond(), 0.0);
  }
}

TEST(Cudss, LuAdjointAndRefactor) {
  SKIP_WITHOUT_CUDSS();
  const SparseMatrix A = general(40, 3).to(c10::Device(at::kCUDA));
  const at::Tensor D = dense_of(A);
  const at::Tensor b = at::randn({40, 2}, at::kDouble);
  auto f = direct::make_factorization(A.pattern(), direct::Kind::LU, at::kDouble);
  f->factorize(A.values());
  expect_close(f->solve(b.cuda(), true), at::linalg_solve(D.t(), b), 1e-10, "A^T x = b");
  f->factorize(A.values() * 3);
  expect_close(f->solve(b.cuda(), false), at::linalg_solve(D * 3, b), 1e-10, "refactor");
  expect_close(f->solve(b.cuda(), true), at::linalg_solve(D.t() * 3, b), 1e-10, "refactor adjoint");
}

TEST(Cudss, AnalysisIsReusedForTheSamePattern) {
  SKIP_WITHOUT_CUDSS();
  const SparseMatrix A = dsla::poisson2d(10).to(c10::Device(at::kCUDA));
  {
    direct::make_factorization(A.pattern(), direct::Kind::Cholesky, at::kDouble)
        ->factorize(A.values());
  }
  const int64_t n0 = direct::analysis_count();
  for (int i = 0; i < 3; ++i) {
    auto f = direct::make_factorization(A.pattern(), direct::Kind::Cholesky, at::kDouble);
    f->factorize(A.values() * (i + 2));
  }
  EXPECT_EQ(direct::analysis_count(), n0);
}

TEST(Cudss, UniformBatch) {
  SKIP_WITHOUT_CUDSS();
  const SparseMatrix A = dsla::poisson2d(6).to(c10::Device(at::kCUDA));
  const int64_t B = 3, n = A.rows();
  const at::Tensor scale = at::arange(1, B + 1, at::kDouble).unsqueeze(1);
  const at::Tensor V = A.values().unsqueeze(0).cpu() * scale;  // [B, nnz]
  auto f = direct::make_factorization(A.pattern(), direct::Kind::Cholesky, at::kDouble, "auto", B);
  ASSERT_EQ(f->batch_size(), B);
  f->factorize(V.cuda());
  const at::Tensor b = at::randn({B, n, 2}, at::kDouble);
  const at::Tensor x = f->solve(b.cuda(), false);
  const at::Tensor D = dense_of(A);
  for (int64_t i = 0; i < B; ++i) {
    expect_close(x.select(0, i), at::linalg_solve(D * double(i + 1), b.select(0, i)), 1e-10,
                 "member " + std::to_string(i));
  }
}

TEST(Cudss, NotPositiveDefiniteIsSingularMatrixError) {
  SKIP_WITHOUT_CUDSS();
  const SparseMatrix A = dsla::poisson2d(5).to(c10::Device(at::kCUDA));
  auto f = direct::make_factorization(A.pattern(), direct::Kind::Cholesky, at::kDouble);
  EXPECT_THROW(f->factorize(-A.values()), dsla::SingularMatrixError);
}

TEST(Cudss, SlogdetCholesky) {
  SKIP_WITHOUT_CUDSS();
  const SparseMatrix A = dsla::poisson2d(5).to(c10::Device(at::kCUDA));
  auto f = direct::make_factorization(A.pattern(), direct::Kind::Cholesky, at::kDouble);
  f->factorize(A.values());
  auto [sign, logabs] = f->slogdet();
  auto ref = at::linalg_slogdet(dense_of(A));
  EXPECT_NEAR(logabs.item<double>(), std::get<1>(ref).item<double>(), 1e-9);
  EXPECT_EQ(sign.item<double>(), 1.0);
}

}  // namespace
