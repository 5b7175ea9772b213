// dsla::Solver: method selection, reuse for adjoint and many right-hand sides, refactor,
// autograd (one node, gradients against finite differences), bad input.
#include <dsla/config.h>
#include <dsla/generators.h>
#include <dsla/ops.h>
#include <dsla/solve.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/autograd.h>

#include <gtest/gtest.h>

namespace {

using dsla::Method;
using dsla::SolveInfo;
using dsla::SolveOptions;
using dsla::Solver;
using dsla::SparseMatrix;

at::Tensor dense_general(int64_t n, int seed = 2) {
  at::manual_seed(seed);
  auto r = at::randn({n, n}, at::kDouble) * (at::rand({n, n}) < 0.3);
  return r + at::diag(r.abs().sum(1) + 1);
}

TEST(Solver, AutoPicksAndSays) {
  auto P = dsla::poisson2d(8);
  Solver s(P);
  if (DSLA_HAVE_SUITESPARSE) {
    EXPECT_EQ(s.method(), Method::Cholesky);
    EXPECT_EQ(Solver(SparseMatrix::from_dense(dense_general(10))).method(), Method::LU);
  } else {
    EXPECT_EQ(s.method(), Method::CG);
  }
  SolveInfo info;
  s.solve(at::ones({64}, at::kDouble), &info);
  EXPECT_TRUE(info.converged);
  EXPECT_EQ(info.method, s.method());
  auto R = SparseMatrix::from_dense(at::randn({5, 3}, at::kDouble));
  EXPECT_EQ(Solver(R).method(), Method::LSQR);
}

TEST(Solver, AdjointMultiRhsRefactor) {
  auto D = dense_general(20);
  auto A = SparseMatrix::from_dense(D);
  std::vector<Method> methods = {Method::GMRES, Method::BiCGStab};
  if (DSLA_HAVE_SUITESPARSE) methods.push_back(Method::LU);
  for (Method m : methods) {
    SolveOptions o;
    o.method = m;
    o.rtol = 1e-12;
    Solver s(A, o);
    auto b = at::randn({20, 3}, at::kDouble);
    EXPECT_TRUE(at::allclose(s.solve(b), at::linalg_solve(D, b), 1e-7, 1e-9));
    EXPECT_TRUE(at::allclose(s.solve_adjoint(b), at::linalg_solve(D.t(), b), 1e-7, 1e-9));
    s.refactor(A.values() * 3);
    EXPECT_TRUE(at::allclose(s.solve(b), at::linalg_solve(3 * D, b), 1e-7, 1e-9));
    EXPECT_EQ(s.version(), 1);
  }
}

TEST(Solver, GradientMatchesFiniteDifference) {
  auto A0 = dsla::poisson2d(6);
  auto b0 = at::rand({36}, at::kDouble);
  auto w = at::rand({36}, at::kDouble);
  auto dv = at::rand({A0.nnz()}, at::kDouble);
  dv = (dv + dv.index_select(0, A0.pattern()->transpose_perm())) / 2;  // keep A symmetric
  std::vector<Method> methods = {Method::CG, Method::GMRES, Method::MINRES};
  if (DSLA_HAVE_SUITESPARSE) methods.push_back(Method::Cholesky);
  for (Method m : methods) {
    SolveOptions o;
    o.method = m;
    o.rtol = 1e-13;
    auto v = A0.values().clone().requires_grad_(true);
    auto x = dsla::solve(A0.with_values(v), b0, o);
    (w * x).sum().backward();
    const double eps = 1e-6;
    c10::AutoGradMode ng(false);
    auto xp = dsla::solve(A0.with_values(A0.values() + eps * dv), b0, o);
    auto xm = dsla::solve(A0.with_values(A0.values() - eps * dv), b0, o);
    const double fd = ((w * (xp - xm)).sum() / (2 * eps)).item<double>();
    const double an = (v.grad() * dv).sum().item<double>();
    EXPECT_NEAR(an, fd, 1e-6 * std::abs(fd) + 1e-9) << dsla::to_string(m);
  }
}

TEST(Solver, OneGraphNodePerSolve) {
  auto A = dsla::poisson2d(10);
  auto v = A.values().clone().requires_grad_(true);
  SolveOptions o;
  o.method = Method::CG;
  auto x = dsla::solve(A.with_values(v), at::ones({100}, at::kDouble), o);
  // x = view(SolveFunction(...)): the solve node's inputs lead straight to the leaves.
  auto fn = x.grad_fn();
  ASSERT_TRUE(fn);
  int solve_nodes = 0;
  std::vector<torch::autograd::Node*> stack = {fn.get()};
  while (!stack.empty()) {
    auto* f = stack.back();
    stack.pop_back();
    if (f->name().find("SolveFunction") != std::string::npos) ++solve_nodes;
    for (const auto& e : f->next_edges())
      if (e.function) stack.push_back(e.function.get());
  }
  EXPECT_EQ(solve_nodes, 1);
}

TEST(Solver, BadInput) {
  auto A = dsla::poisson2d(4);
  EXPECT_THROW(dsla::solve(A, at::ones({5}, at::kDouble)), c10::ValueError);
  EXPECT_THROW(dsla::solve(A, at::ones({16}, at::kFloat)), c10::TypeError);
  EXPECT_THROW(dsla::solve(A, at::full({16}, NAN, at::kDouble)), c10::ValueError);
  SolveOptions bad;
  bad.rtol = -1;
  EXPECT_THROW(dsla::solve(A, at::ones({16}, at::kDouble), bad), c10::ValueError);
  auto R = SparseMatrix::from_dense(at::ones({3, 2}, at::kDouble));
  SolveOptions cg;
  cg.method = Method::CG;
  EXPECT_THROW(dsla::solve(R, at::ones({3}, at::kDouble), cg), c10::ValueError);
  if (DSLA_HAVE_SUITESPARSE) {
    auto S = SparseMatrix::from_dense(at::tensor({1.0, 2.0, 2.0, 4.0}, at::kDouble).view({2, 2}));
    SolveOptions lu;
    lu.method = Method::LU;
    EXPECT_THROW(dsla::solve(S, at::ones({2}, at::kDouble), lu), dsla::SingularMatrixError);
  }
  // n = 0: an empty solution, no error.
  auto E = SparseMatrix::from_dense(at::zeros({0, 0}, at::kDouble));
  EXPECT_EQ(dsla::solve(E, at::zeros({0}, at::kDouble)).numel(), 0);
}

TEST(Solver, Batched) {
  auto D = at::stack({dense_general(8, 1), dense_general(8, 1) * 2});
  auto A = SparseMatrix::from_dense(D);
  auto b = at::randn({2, 8}, at::kDouble);
  std::vector<Method> methods = {Method::GMRES, Method::BiCGStab};
  if (DSLA_HAVE_SUITESPARSE) methods.push_back(Method::LU);
  for (Method m : methods) {
    SolveOptions o;
    o.method = m;
    o.rtol = 1e-12;
    auto x = dsla::solve(A, b, o);
    EXPECT_TRUE(at::allclose(x, at::linalg_solve(D, b.unsqueeze(-1)).squeeze(-1), 1e-7, 1e-9));
  }
}

}  // namespace
