// dsla::spgemm (C = A B, sparse x sparse) against dense at::matmul: shapes, dtypes, index
// dtypes, batches, real matrices, the Galerkin triple product, the plan cache, and gradients
// (fast kernels and the double-backward path) against autograd through dense products.
#include <dsla/generators.h>
#include <dsla/io.h>
#include <dsla/ops.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>

#include "core/spgemm.h"

namespace {

using dsla::SparseMatrix;

// Random rows x cols matrix with about density * rows * cols entries; rows listed in
// `empty_rows` and columns in `empty_cols` get none.
SparseMatrix random_matrix(int64_t rows, int64_t cols, double density, at::ScalarType dtype,
                           uint64_t seed, at::ScalarType index_dtype = at::kInt,
                           std::vector<int64_t> empty_rows = {},
                           std::vector<int64_t> empty_cols = {}, int64_t batch = 0) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(density * rows * cols));
  auto row = at::randint(std::max<int64_t>(rows, 1), {n}, gen, at::kLong);
  auto col = at::randint(std::max<int64_t>(cols, 1), {n}, gen, at::kLong);
  auto keep = at::ones({n}, at::kBool);
  for (auto r : empty_rows) keep &= row != r;
  for (auto c : empty_cols) keep &= col != c;
  if (rows == 0 || cols == 0) keep.zero_();
  row = row.masked_select(keep);
  col = col.masked_select(keep);
  std::vector<int64_t> vshape = {row.numel()};
  if (batch > 0) vshape.insert(vshape.begin(), batch);
  auto vals = at::randn(vshape, gen, at::TensorOptions().dtype(dtype));
  dsla::CooOptions o;
  o.index_dtype = index_dtype;
  return SparseMatrix::from_coo(row, col, vals, {rows, cols}, o);
}

double tol(at::ScalarType t) {
  return (t == at::kFloat || t == at::kComplexFloat) ? 1e-4 : 1e-11;
}

void expect_product(const SparseMatrix& A, const SparseMatrix& B) {
  auto C = dsla::spgemm(A, B);
  ASSERT_EQ(C.rows(), A.rows());
  ASSERT_EQ(C.cols(), B.cols());
  auto ref = at::matmul(A.to_dense(), B.to_dense());
  auto got = C.to_dense();
  ASSERT_EQ(got.sizes(), ref.sizes());
  const double t = tol(A.dtype());
  EXPECT_TRUE(at::allclose(got, ref, t, t)) << "max err " << (got - ref).abs().max();
}

TEST(Spgemm, RandomRectangularAllDtypes) {
  for (auto dt : {at::kDouble, at::kFloat, at::kComplexDouble, at::kComplexFloat}) {
    for (uint64_t s = 0; s < 3; ++s) {
      SCOPED_TRACE(std::string(c10::toString(dt)) + " seed " + std::to_string(s));
      auto A = random_matrix(17, 23, 0.15, dt, 10 + s);
      auto B = random_matrix(23, 9, 0.2, dt, 20 + s);
      expect_product(A, B);
    }
  }
}

// The entries per row of C = A B without C (AMG sizes its blocked Galerkin product by them):
// C's own row lengths, on the CPU and (when present) the GPU, with empty rows, int64 indices and
// rows long enough for the warp and block kernels.
TEST(Spgemm, RowNnzEqualsTheProductsRowLengths) {
  std::vector<c10::Device> devices{c10::kCPU};
  if (at::hasCUDA()) devices.emplace_back(c10::kCUDA);
  for (auto dev : devices) {
    for (auto idt : {at::kInt, at::kLong}) {
      for (double density : {0.05, 0.6}) {
        SCOPED_TRACE(dev.str() + " " + c10::toString(idt) + " density " + std::to_string(density));
        auto A = random_matrix(70, 300, density, at::kDouble, 3, idt, {0, 9}).to(dev);
        auto B = random_matrix(300, 400, density, at::kDouble, 4, idt).to(dev);
        auto got = dsla::detail::spgemm_row_nnz(A.pattern(), B.pattern());
        auto C = dsla::detail::spgemm_pattern(A.pattern(), B.pattern());
        auto want = (C->crow().narrow(0, 1, 70) - C->crow().narrow(0, 0, 70)).to(at::kLong);
        ASSERT_EQ(got.scalar_type(), at::kLong);
        EXPECT_EQ(got.device(), dev);
        EXPECT_TRUE(at::equal(got.cpu(), want.cpu()));
        EXPECT_EQ(got[0].item<int64_t>(), 0);
        // Against the dense product's nonzero count per row (no cancellation: random values).
        auto dense = at::matmul(A.to_dense(), B.to_dense()).cpu();
        EXPECT_TRUE(at::equal(got.cpu(), (dense != 0).sum(1)));
      }
    }
  }
}

// spgemm_forget drops a CPU plan with C's pattern (the blocked Galerkin product counts A P once
// and must not keep its whole pattern on A for the level's life); the next product recomputes it.
TEST(Spgemm, ForgetDropsTheCpuPlan) {
  auto A = random_matrix(40, 50, 0.2, at::kDouble, 5);
  auto B = random_matrix(50, 30, 0.2, at::kDouble, 6);
  std::weak_ptr<const dsla::Pattern> c = dsla::detail::spgemm_pattern(A.pattern(), B.pattern());
  EXPECT_FALSE(c.expired());  // held by the plan cached on A
  dsla::detail::spgemm_forget(A.pattern(), B.pattern());
  EXPECT_TRUE(c.expired());
  expect_product(A, B);
}

TEST(Spgemm, EmptyRowsAndColumns) {
  auto A = random_matrix(12, 10, 0.3, at::kDouble, 1, at::kInt, {0, 5, 11}, {3, 4});
  auto B = random_matrix(10, 8, 0.3, at::kDouble, 2, at::kInt, {1, 7}, {0, 6});
  expect_product(A, B);
  // A zero matrix (nnz 0) times anything.
  auto Z = random_matrix(12, 10, 0.0, at::kDouble, 3, at::kInt, {}, {}, 0);
  auto Zero = SparseMatrix::from_coo(at::empty({0}, at::kLong), at::empty({0}, at::kLong),
                                     at::empty({0}, at::kDouble), {12, 10});
  auto C = dsla::spgemm(Zero, B);
  EXPECT_EQ(C.nnz(), 0);
  expect_product(Zero, B);
  expect_product(Z, B);
}

TEST(Spgemm, ZeroSizeShapes) {
  auto E = [](int64_t r, int64_t c) {
    return SparseMatrix::from_coo(at::empty({0}, at::kLong), at::empty({0}, at::kLong),
                                  at::empty({0}, at::kDouble), {r, c});
  };
  expect_product(E(0, 4), random_matrix(4, 3, 0.5, at::kDouble, 4));
  expect_product(E(3, 0), E(0, 5));
  expect_product(random_matrix(3, 4, 0.5, at::kDouble, 5), E(4, 0));
  EXPECT_EQ(dsla::spgemm(E(3, 0), E(0, 5)).nnz(), 0);
}

TEST(Spgemm, Int64AndMixedIndices) {
  auto A64 = random_matrix(15, 13, 0.2, at::kDouble, 6, at::kLong);
  auto B64 = random_matrix(13, 11, 0.2, at::kDouble, 7, at::kLong);
  auto B32 = random_matrix(13, 11, 0.2, at::kDouble, 7, at::kInt);
  EXPECT_EQ(dsla::spgemm(A64, B64).pattern()->index_dtype(), at::kLong);
  expect_product(A64, B64);
  expect_product(A64, B32);
  auto A32 = random_matrix(15, 13, 0.2, at::kDouble, 6, at::kInt);
  EXPECT_EQ(dsla::spgemm(A32, B32).pattern()->index_dtype(), at::kInt);
}

TEST(Spgemm, Batched) {
  const int64_t nb = 3;
  auto Ab = random_matrix(9, 7, 0.3, at::kDouble, 8, at::kInt, {}, {}, nb);
  auto Bb = random_matrix(7, 6, 0.3, at::kComplexDouble, 9, at::kInt, {}, {}, nb);
  auto B1 = random_matrix(7, 6, 0.3, at::kDouble, 10);
  auto A1 = random_matrix(9, 7, 0.3, at::kComplexDouble, 11);
  expect_product(Ab, B1);                         // [3, n] x [n]
  expect_product(A1, Bb);                         // [n] x [3, n]
  expect_product(Ab.to(at::kComplexDouble), Bb);  // [3, n] x [3, n]
  EXPECT_EQ(dsla::spgemm(Ab, B1).values().sizes(),
            (std::vector<int64_t>{nb, dsla::spgemm(Ab, B1).nnz()}));
  auto A2 = random_matrix(9, 7, 0.3, at::kComplexDouble, 12, at::kInt, {}, {}, 2);
  EXPECT_THROW(dsla::spgemm(A2, Bb), c10::ValueError);
}

TEST(Spgemm, BadInput) {
  auto A = random_matrix(5, 4, 0.5, at::kDouble, 13);
  auto B = random_matrix(5, 4, 0.5, at::kDouble, 14);
  try {
    dsla::spgemm(A, B);
    FAIL() << "shape mismatch accepted";
  } catch (const c10::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("argument 'B'"), std::string::npos) << e.what();
  }
  auto Bf = random_matrix(4, 3, 0.5, at::kFloat, 15);
  EXPECT_THROW(dsla::spgemm(A, Bf), c10::TypeError);
  EXPECT_THROW(dsla::spgemm(SparseMatrix(), Bf), c10::ValueError);
}

TEST(Spgemm, RealMatrices) {
  for (const char* name : {"bcsstk08.mtx", "orsirr_1.mtx", "impcol_a.mtx"}) {
    const std::string path = std::string(DSLA_DATA_DIR) + "/" + name;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
    SCOPED_TRACE(name);
    auto A = dsla::read_mtx(path);
    auto B = A.rows() == A.cols() ? A : A.transpose();
    // Relative tolerance: these matrices have entries up to 1e9.
    auto C = dsla::spgemm(A, B);
    auto ref = at::matmul(A.to_dense(), B.to_dense());
    const double scale = ref.abs().max().item<double>();
    EXPECT_LE((C.to_dense() - ref).abs().max().item<double>(), 1e-12 * scale);
  }
}

// P: n x m aggregation (P[i, agg(i)] = 1), the AMG use: Galerkin product Pᵀ A P.
TEST(Spgemm, GalerkinTripleProduct) {
  auto A = dsla::poisson2d(24);
  const int64_t n = A.rows(), m = 50;
  auto agg = at::randint(m, {n}, at::make_generator<at::CPUGeneratorImpl>(3), at::kLong);
  auto P =
      SparseMatrix::from_coo(at::arange(n, at::kLong), agg, at::ones({n}, at::kDouble), {n, m});
  auto Ac = dsla::spgemm(P.transpose(), dsla::spgemm(A, P));
  auto Pd = P.to_dense();
  auto ref = at::matmul(Pd.t(), at::matmul(A.to_dense(), Pd));
  EXPECT_TRUE(at::allclose(Ac.to_dense(), ref, 1e-12, 1e-12));
}

TEST(Spgemm, PlanCachedAndNotLeaked) {
  auto A = dsla::poisson2d(200);
  auto t0 = std::chrono::steady_clock::now();
  auto C1 = dsla::spgemm(A, A);
  auto t1 = std::chrono::steady_clock::now();
  auto A2 = A.with_values(A.values() * 2.0);  // same pattern, new values
  auto C2 = dsla::spgemm(A2, A);
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(C1.pattern(), C2.pattern()) << "symbolic phase was not reused";
  EXPECT_TRUE(at::allclose(C2.values(), C1.values() * 2.0));
  std::cout << "[ info ] poisson2d(200) A*A first "
            << std::chrono::duration<double>(t1 - t0).count() << " s, repeat (numeric only) "
            << std::chrono::duration<double>(t2 - t1).count() << " s\n";
  // A's cache must not keep B's pattern alive.
  std::weak_ptr<const dsla::Pattern> wb;
  {
    auto B = random_matrix(A.cols(), 5, 0.001, at::kDouble, 16);
    wb = B.pattern();
    dsla::spgemm(A, B);
  }
  EXPECT_TRUE(wb.expired());
}

// Loss L = Re Σ (C ∘ R) through spgemm vs through dense matmul: both values' gradients.
TEST(Spgemm, GradientsMatchDense) {
  for (auto dt : {at::kDouble, at::kComplexDouble}) {
    for (int64_t batch : {0, 2}) {
      SCOPED_TRACE(std::string(c10::toString(dt)) + " batch " + std::to_string(batch));
      auto A = random_matrix(11, 8, 0.3, dt, 17, at::kInt, {2}, {}, batch);
      auto B = random_matrix(8, 10, 0.3, dt, 18, at::kInt, {}, {4});
      auto av = A.values().clone().requires_grad_(), bv = B.values().clone().requires_grad_();
      auto Ag = A.with_values(av), Bg = B.with_values(bv);
      auto R = at::randn({11, 10}, at::TensorOptions().dtype(dt));
      auto loss = at::real((dsla::spgemm(Ag, Bg).to_dense() * R).sum());
      auto g = torch::autograd::grad({loss}, {av, bv});
      auto loss_ref = at::real((at::matmul(Ag.to_dense(), Bg.to_dense()) * R).sum());
      auto gr = torch::autograd::grad({loss_ref}, {av, bv});
      EXPECT_TRUE(at::allclose(g[0], gr[0], 1e-12, 1e-12));
      EXPECT_TRUE(at::allclose(g[1], gr[1], 1e-12, 1e-12));
    }
  }
}

TEST(Spgemm, DoubleBackwardMatchesDense) {
  auto A = random_matrix(7, 6, 0.4, at::kDouble, 19);
  auto B = random_matrix(6, 5, 0.4, at::kDouble, 20);
  auto R = at::randn({7, 5}, at::kDouble);
  auto run = [&](bool sparse) {
    auto av = A.values().clone().requires_grad_(), bv = B.values().clone().requires_grad_();
    auto Ag = A.with_values(av), Bg = B.with_values(bv);
    auto Cd = sparse ? dsla::spgemm(Ag, Bg).to_dense() : at::matmul(Ag.to_dense(), Bg.to_dense());
    auto loss = (Cd * R).sum();
    auto g = torch::autograd::grad({loss}, {av}, {}, /*retain_graph=*/true, /*create_graph=*/true);
    auto gg = torch::autograd::grad({(g[0] * g[0]).sum()}, {bv});
    return gg[0];
  };
  EXPECT_TRUE(at::allclose(run(true), run(false), 1e-12, 1e-12));
}

// A very wide product takes the hashed column maps (kernels::cpu::HashSlots).
TEST(Spgemm, WideProductUsesHashPath) {
  auto A = random_matrix(4, 6, 0.5, at::kDouble, 21);
  auto B = random_matrix(6, 20000, 0.0005, at::kComplexDouble, 22);
  expect_product(A.to(at::kComplexDouble), B);
  auto av = A.values().clone().to(at::kComplexDouble).requires_grad_();
  auto Ag = A.to(at::kComplexDouble).with_values(av);
  auto bv = B.values().clone().requires_grad_();
  auto Bg = B.with_values(bv);
  auto loss = at::real(dsla::spgemm(Ag, Bg).values().sum());
  auto g = torch::autograd::grad({loss}, {av, bv});
  auto loss_ref = at::real(at::matmul(Ag.to_dense(), Bg.to_dense()).sum());
  auto gr = torch::autograd::grad({loss_ref}, {av, bv});
  EXPECT_TRUE(at::allclose(g[0], gr[0], 1e-12, 1e-12));
  EXPECT_TRUE(at::allclose(g[1], gr[1], 1e-12, 1e-12));
}

}  // namespace
