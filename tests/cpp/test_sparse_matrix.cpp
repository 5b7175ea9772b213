// SparseMatrix and Pattern: construction, conversion, structure caches, products (vs dense).
#include <dsla/dsla.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <limits>

#include "core/coo.h"

namespace {

using dsla::SparseMatrix;

at::Tensor dbl(std::initializer_list<double> v) {
  return at::tensor(std::vector<double>(v));
}
at::Tensor i64(std::initializer_list<int64_t> v) {
  return at::tensor(std::vector<int64_t>(v));
}

TEST(SparseMatrix, FromCooSortsAndSumsDuplicates) {
  // Unsorted input with a duplicate (1, 0) twice.
  auto A = SparseMatrix::from_coo(i64({2, 1, 0, 1}), i64({2, 0, 1, 0}), dbl({5, 1, 2, 3}), {3, 3});
  EXPECT_EQ(A.nnz(), 3);
  auto D = A.to_dense();
  EXPECT_DOUBLE_EQ(D[1][0].item<double>(), 4.0);
  EXPECT_DOUBLE_EQ(D[0][1].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(D[2][2].item<double>(), 5.0);
  EXPECT_EQ(A.pattern()->index_dtype(), at::kInt);
}

// The ATen COO -> CSR (what a CUDA from_coo runs) against the host kernel on the same entries:
// unsorted, many duplicates, empty rows, nothing at all; the one-key and the two-sort paths.
TEST(SparseMatrix, AtenCooToCsrMatchesTheHostKernel) {
  auto g = at::detail::createCPUGenerator(7);
  for (int64_t nnz : {0, 1, 50, 4000}) {
    const int64_t rows = 37, cols = 23;
    auto r = at::randint(rows, {nnz}, g, at::kLong), c = at::randint(cols, {nnz}, g, at::kLong);
    auto v = at::randn({nnz}, g, at::kDouble);
    at::Tensor map;
    auto ref = dsla::detail::from_coo_mapped(r, c, v, {rows, cols}, {}, map);
    for (int64_t key_cols : {cols, std::numeric_limits<int64_t>::max() / 2}) {
      // key_cols huge: rows x cols overflows one int64 key, so the two stable sorts run.
      at::Tensor crow, col, m;
      const int64_t n =
          dsla::detail::coo_to_csr_aten(r, c, rows, key_cols, at::kLong, crow, col, m);
      EXPECT_EQ(n, ref.nnz());
      EXPECT_TRUE(at::equal(crow, ref.pattern()->crow().to(at::kLong)));
      EXPECT_TRUE(at::equal(col, ref.pattern()->col().to(at::kLong)));
      EXPECT_TRUE(at::equal(m, map));
    }
    // map: summing the entries into their positions gives the merged values.
    EXPECT_TRUE(
        at::allclose(at::zeros({ref.nnz()}, at::kDouble).index_add(0, map, v), ref.values()));
  }
}

// Entries already sorted by (row, col) skip the sort: the same CSR, and the identity reported
// only when nothing was merged.
TEST(SparseMatrix, AtenCooToCsrTakesSortedEntriesAsTheyAre) {
  const int64_t rows = 5, cols = 4;
  auto r = i64({0, 0, 1, 3, 3, 4}), c = i64({1, 3, 0, 0, 2, 3});
  at::Tensor crow, col, m;
  bool identity = false;
  EXPECT_EQ(dsla::detail::coo_to_csr_aten(r, c, rows, cols, at::kInt, crow, col, m, &identity), 6);
  EXPECT_TRUE(identity);
  EXPECT_TRUE(at::equal(crow, at::tensor({0, 2, 3, 3, 5, 6}, at::kInt)));
  EXPECT_TRUE(at::equal(col, c.to(at::kInt)));
  EXPECT_TRUE(at::equal(m, at::arange(6, at::kLong)));
  // Sorted with a duplicate: merged, not the identity.
  auto r2 = i64({0, 1, 1, 2}), c2 = i64({2, 0, 0, 1});
  EXPECT_EQ(dsla::detail::coo_to_csr_aten(r2, c2, 3, 3, at::kLong, crow, col, m, &identity), 3);
  EXPECT_FALSE(identity);
  EXPECT_TRUE(at::equal(m, i64({0, 1, 1, 2})));
  EXPECT_TRUE(at::equal(col, i64({2, 0, 1})));
  // Unsorted and unique: sorted, not the identity.
  EXPECT_EQ(dsla::detail::coo_to_csr_aten(i64({1, 0}), i64({0, 1}), 2, 2, at::kLong, crow, col, m,
                                          &identity),
            2);
  EXPECT_FALSE(identity);
  EXPECT_TRUE(at::equal(m, i64({1, 0})));
}

TEST(SparseMatrix, DuplicatesRejectedWhenAsked) {
  dsla::CooOptions o;
  o.sum_duplicates = false;
  EXPECT_THROW(SparseMatrix::from_coo(i64({0, 0}), i64({1, 1}), dbl({1, 2}), {2, 2}, o),
               c10::ValueError);
}

TEST(SparseMatrix, BadInputNamesTheArgument) {
  try {
    SparseMatrix::from_coo(i64({0, 3}), i64({0, 0}), dbl({1, 2}), {3, 3});
    FAIL();
  } catch (const c10::IndexError& e) {
    EXPECT_NE(std::string(e.what()).find("'row'"), std::string::npos);
  }
  EXPECT_THROW(SparseMatrix::from_coo(i64({0}), i64({-1}), dbl({1}), {3, 3}), c10::IndexError);
  EXPECT_THROW(SparseMatrix::from_coo(i64({0, 1}), i64({0}), dbl({1, 2}), {3, 3}), c10::ValueError);
  EXPECT_THROW(SparseMatrix::from_coo(i64({0}), i64({0}), dbl({NAN}), {3, 3}), c10::ValueError);
  EXPECT_THROW(SparseMatrix::from_coo(i64({0}), i64({0}), at::ones({1}, at::kInt), {3, 3}),
               c10::TypeError);
  EXPECT_THROW(SparseMatrix::from_coo(i64({0}), i64({0}), dbl({1}), {-1, 3}), c10::ValueError);
}

TEST(Pattern, FromCsrValidates) {
  auto crow = at::tensor(std::vector<int32_t>{0, 2, 3});
  auto good = at::tensor(std::vector<int32_t>{0, 1, 1});
  EXPECT_NO_THROW(dsla::Pattern::from_csr(crow, good, 2, 2));
  auto unsorted = at::tensor(std::vector<int32_t>{1, 0, 1});
  EXPECT_THROW(dsla::Pattern::from_csr(crow, unsorted, 2, 2), c10::ValueError);
  auto range = at::tensor(std::vector<int32_t>{0, 5, 1});
  EXPECT_THROW(dsla::Pattern::from_csr(crow, range, 2, 2), c10::IndexError);
  EXPECT_THROW(dsla::Pattern::from_csr(crow, good.to(at::kLong), 2, 2), c10::TypeError);
}

TEST(SparseMatrix, EmptyAndOneByOne) {
  auto E = SparseMatrix::from_coo(at::empty({0}, at::kLong), at::empty({0}, at::kLong),
                                  at::empty({0}, at::kDouble), {0, 0});
  EXPECT_EQ(E.nnz(), 0);
  EXPECT_EQ(dsla::matmul(E, at::empty({0}, at::kDouble)).numel(), 0);
  auto Z = SparseMatrix::from_coo(at::empty({0}, at::kLong), at::empty({0}, at::kLong),
                                  at::empty({0}, at::kDouble), {3, 2});
  EXPECT_TRUE(at::equal(dsla::matmul(Z, at::ones({2}, at::kDouble)), at::zeros({3}, at::kDouble)));
  auto O = SparseMatrix::from_coo(i64({0}), i64({0}), dbl({3}), {1, 1});
  EXPECT_DOUBLE_EQ(dsla::matmul(O, dbl({2}))[0].item<double>(), 6.0);
}

TEST(SparseMatrix, MatmulMatchesDenseAllTypes) {
  for (auto dt : {at::kFloat, at::kDouble, at::kComplexFloat, at::kComplexDouble}) {
    for (auto idt : {at::kInt, at::kLong}) {
      dsla::GenOptions g;
      auto A0 = dsla::random_sparse(40, 30, 0.1, 7, g);
      dsla::CooOptions o;
      o.index_dtype = idt;
      auto A = SparseMatrix::from_coo(A0.row_indices(), A0.col_indices(), A0.values(), {40, 30}, o)
                   .to(dt);
      if (at::isComplexType(dt)) {
        A = A.with_values(A.values() * c10::complex<double>(1.0, 0.5));
      }
      EXPECT_EQ(A.pattern()->index_dtype(), idt);
      auto D = A.to_dense();
      auto x = at::randn({30}, at::TensorOptions().dtype(dt));
      auto X = at::randn({30, 3}, at::TensorOptions().dtype(dt));
      const double tol = (dt == at::kFloat || dt == at::kComplexFloat) ? 1e-4 : 1e-12;
      EXPECT_TRUE(at::allclose(dsla::matmul(A, x), at::matmul(D, x), tol, tol));
      EXPECT_TRUE(at::allclose(dsla::matmul(A, X), at::matmul(D, X), tol, tol));
      auto y = at::randn({40}, at::TensorOptions().dtype(dt));
      EXPECT_TRUE(at::allclose(dsla::matmul_transpose(A, y), at::matmul(D.t(), y), tol, tol));
    }
  }
}

TEST(SparseMatrix, BatchedMatmul) {
  auto A = dsla::poisson2d(5);
  const int64_t B = 3;
  auto vals =
      A.values().unsqueeze(0).repeat({B, 1}) * at::arange(1, B + 1, at::kDouble).unsqueeze(1);
  auto Ab = A.with_values(vals);
  EXPECT_TRUE(Ab.is_batched());
  auto x = at::randn({B, 25}, at::kDouble);
  auto y = dsla::matmul(Ab, x);
  auto D = Ab.to_dense();
  EXPECT_TRUE(at::allclose(y, at::bmm(D, x.unsqueeze(-1)).squeeze(-1)));
  // An unbatched right-hand side is broadcast over the batch.
  auto x1 = at::randn({25}, at::kDouble);
  EXPECT_TRUE(at::allclose(dsla::matmul(Ab, x1), at::matmul(D, x1)));
  auto X = at::randn({B, 25, 2}, at::kDouble);
  EXPECT_TRUE(at::allclose(dsla::matmul(Ab, X), at::bmm(D, X)));
}

TEST(SparseMatrix, MatmulShapeAndTypeErrors) {
  auto A = dsla::poisson2d(3);
  EXPECT_THROW(dsla::matmul(A, at::ones({8}, at::kDouble)), c10::ValueError);
  EXPECT_THROW(dsla::matmul(A, at::ones({9}, at::kFloat)), c10::TypeError);
  EXPECT_THROW(dsla::matmul(A, at::ones({2, 9, 1}, at::kDouble)), c10::ValueError);
}

TEST(SparseMatrix, TransposeIsCachedAndInvolutive) {
  auto A = dsla::random_sparse(30, 20, 0.2, 3);
  auto T = A.transpose();
  EXPECT_EQ(T.rows(), 20);
  EXPECT_TRUE(at::equal(T.to_dense(), A.to_dense().t()));
  EXPECT_EQ(A.pattern()->transpose(), A.pattern()->transpose());  // cached
  EXPECT_EQ(A.pattern()->transpose()->transpose().get(), A.pattern().get());
  EXPECT_TRUE(at::equal(T.transpose().values(), A.values()));
}

TEST(SparseMatrix, DiagonalSymmetryNorms) {
  auto A = dsla::poisson2d(4);
  EXPECT_TRUE(A.is_symmetric());
  EXPECT_TRUE(A.pattern()->is_structurally_symmetric());
  EXPECT_TRUE(at::equal(A.diagonal(), at::full({16}, 4.0, at::kDouble)));
  EXPECT_FALSE(dsla::convdiff2d(4, 1.0).is_symmetric());
  auto D = A.to_dense();
  EXPECT_NEAR(A.norm("fro").item<double>(), at::linalg_norm(D, "fro").item<double>(), 1e-12);
  EXPECT_NEAR(A.norm("1").item<double>(), D.abs().sum(0).max().item<double>(), 1e-12);
  EXPECT_NEAR(A.norm("inf").item<double>(), D.abs().sum(1).max().item<double>(), 1e-12);
  EXPECT_TRUE(at::allclose(A.row_sums(), D.sum(1)));
  EXPECT_TRUE(at::allclose(A.col_sums(), D.sum(0)));
  EXPECT_THROW(A.norm("2"), c10::ValueError);
  // A missing diagonal entry reads as zero.
  auto B = SparseMatrix::from_coo(i64({0, 1}), i64({1, 0}), dbl({2, 2}), {2, 2});
  EXPECT_TRUE(at::equal(B.diagonal(), at::zeros({2}, at::kDouble)));
  EXPECT_FALSE(B.pattern()->has_full_diagonal());
  // Symmetric values on an unsymmetric pattern (an explicit zero) still count as symmetric.
  auto C = SparseMatrix::from_coo(i64({0, 1, 0}), i64({0, 1, 1}), dbl({1, 1, 0}), {2, 2});
  EXPECT_TRUE(C.is_symmetric());
}

TEST(SparseMatrix, AddAndSubmatrixAndDense) {
  auto A = dsla::random_sparse(20, 20, 0.1, 1), B = dsla::random_sparse(20, 20, 0.1, 2);
  auto C = dsla::add(A, B, 2.0, -1.0);
  EXPECT_TRUE(at::allclose(C.to_dense(), 2 * A.to_dense() - B.to_dense()));
  auto rows = i64({3, 1, 7}), cols = i64({0, 5, 6, 2});
  auto S = A.submatrix(rows, cols);
  EXPECT_TRUE(at::allclose(S.to_dense(), A.to_dense().index_select(0, rows).index_select(1, cols)));
  EXPECT_THROW(A.submatrix(i64({1, 1}), cols), c10::ValueError);
  auto D = at::randn({6, 5}, at::kDouble) * (at::rand({6, 5}) > 0.5);
  EXPECT_TRUE(at::equal(SparseMatrix::from_dense(D).to_dense(), D));
  auto tc = A.to_torch_coo();
  EXPECT_TRUE(at::allclose(SparseMatrix::from_torch(tc).to_dense(), A.to_dense()));
  EXPECT_TRUE(at::allclose(SparseMatrix::from_torch(A.to_torch_csr()).to_dense(), A.to_dense()));
}

TEST(Generators, CanonicalProblems) {
  auto P = dsla::poisson2d(3);
  EXPECT_EQ(P.rows(), 9);
  EXPECT_EQ(P.nnz(), 9 + 4 * 6);  // diagonal + 2 * (2 * n * (n - 1))
  auto P3 = dsla::poisson3d(3);
  EXPECT_EQ(P3.rows(), 27);
  EXPECT_TRUE(P3.is_symmetric());
  EXPECT_EQ(dsla::aniso2d(4, 1e-3).rows(), 16);
  // Upwind convection-diffusion is an M-matrix: diagonally dominant.
  auto C = dsla::convdiff2d(8, 10.0);
  EXPECT_TRUE((C.row_sums() >= -1e-12).all().item<bool>());
  auto S = dsla::random_spd(50, 0.1, 4);
  EXPECT_TRUE(S.is_symmetric());
  EXPECT_GT(at::linalg_eigvalsh(S.to_dense()).min().item<double>(), 0.0);
  EXPECT_EQ(dsla::generate("poisson2d:5").rows(), 25);
  EXPECT_THROW(dsla::generate("poisson2d:x"), c10::ValueError);
  EXPECT_THROW(dsla::generate("nope:3"), c10::ValueError);
  EXPECT_THROW(dsla::poisson2d(0), c10::ValueError);
}

TEST(SparseMatrix, RealMatrixMatmul) {
  auto A = dsla::read_mtx(std::string(DSLA_DATA_DIR) + "/orsirr_1.mtx");
  auto x = at::randn({A.cols()}, at::kDouble);
  EXPECT_TRUE(at::allclose(dsla::matmul(A, x), at::matmul(A.to_dense(), x), 1e-10, 1e-10));
}

}  // namespace
