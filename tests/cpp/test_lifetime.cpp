// Lifetimes: a matrix dropped by its user frees its pattern and everything cached on it
// (transpose, symmetry, factorizations, AMG structures). A strong reference cycle through a
// pattern's caches leaks every matrix of a training loop that builds a new one each step.
#include <dsla/amg.h>
#include <dsla/config.h>
#include <dsla/dsla.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <functional>
#include <memory>

namespace {

using dsla::SparseMatrix;

// Builds a matrix, runs `use` on it, drops everything and reports whether its pattern (and the
// pattern of its transpose, when one was made) is gone.
void expect_freed(const std::function<void(const SparseMatrix&)>& use) {
  std::weak_ptr<const dsla::Pattern> p, pt;
  {
    auto A = dsla::poisson2d(12);
    p = A.pattern();
    use(A);
    pt = A.pattern()->transpose();  // made here if `use` did not (it then must be freed too)
  }
  EXPECT_TRUE(p.expired()) << "the pattern outlived its matrix";
  EXPECT_TRUE(pt.expired()) << "the transpose's pattern outlived the matrix";
}

TEST(Lifetime, TransposeDoesNotKeepPatternAlive) {
  expect_freed([](const SparseMatrix& A) { (void)A.transpose(); });
  expect_freed([](const SparseMatrix& A) { (void)A.transpose().transpose(); });
  expect_freed([](const SparseMatrix& A) { (void)A.pattern()->transpose_perm(); });
  expect_freed([](const SparseMatrix& A) { (void)A.pattern()->transpose()->transpose_perm(); });
  expect_freed([](const SparseMatrix& A) { (void)A.is_symmetric(); });
}

TEST(Lifetime, TransposeOutlivingItsOriginStillWorks) {
  SparseMatrix At;
  std::weak_ptr<const dsla::Pattern> p;
  {
    auto A = dsla::SparseMatrix::from_coo(at::tensor({0, 1, 2}, at::kLong),
                                          at::tensor({1, 2, 0}, at::kLong),
                                          at::tensor({1.0, 2.0, 3.0}, at::kDouble), {3, 4});
    p = A.pattern();
    At = A.transpose();
  }
  EXPECT_TRUE(p.expired());
  // The transpose's own transpose is rebuilt on request and equals the original.
  auto Att = At.transpose();
  EXPECT_TRUE(at::equal(Att.to_dense(), At.to_dense().t()));
  auto perm = At.pattern()->transpose_perm();
  EXPECT_TRUE(at::equal(At.values().index_select(0, perm), Att.values()));
}

TEST(Lifetime, SolversAndHierarchiesFreeThePattern) {
  auto b = [](const SparseMatrix& A) { return at::ones({A.rows()}, at::kDouble); };
  expect_freed([&](const SparseMatrix& A) {
    dsla::SolveOptions o;
    o.method = dsla::Method::CG;
    (void)dsla::solve(A, b(A), o);
  });
  expect_freed([&](const SparseMatrix& A) {
    dsla::SolveOptions o;
    o.method = dsla::Method::GMRES;
    o.precond = "ilu0";
    (void)dsla::solve(A, b(A), o);
  });
  expect_freed([&](const SparseMatrix& A) {
    dsla::SolveOptions o;
    o.method = dsla::Method::CG;
    o.precond = "ic0";
    (void)dsla::solve(A, b(A), o);
  });
  expect_freed([&](const SparseMatrix& A) {
    dsla::SolveOptions o;
    o.method = dsla::Method::CG;
    o.precond = "amg";
    (void)dsla::solve(A, b(A), o);
  });
  expect_freed([&](const SparseMatrix& A) { (void)dsla::amg::AmgHierarchy::build(A); });
  expect_freed([&](const SparseMatrix& A) { (void)dsla::spgemm(A, A); });
  expect_freed([&](const SparseMatrix& A) { (void)dsla::spgemm(A.transpose(), A); });
#if DSLA_HAVE_SUITESPARSE
  for (auto m :
       {dsla::Method::Cholesky, dsla::Method::LDLT, dsla::Method::LU, dsla::Method::Auto}) {
    expect_freed([&](const SparseMatrix& A) {
      dsla::SolveOptions o;
      o.method = m;
      (void)dsla::solve(A, b(A), o);
    });
  }
  expect_freed([&](const SparseMatrix& A) { (void)dsla::logdet(A); });
#endif
}

}  // namespace
