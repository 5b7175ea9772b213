// The structure API (include/dsla/structure.h) and the solver presets: components against the
// dense reachability of small matrices, the split's blocks against submatrix, definiteness
// against dense eigenvalues, the matrix types, and presets applied to SolveOptions.
#include <dsla/config.h>
#include <dsla/dsla.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

namespace {

using dsla::SparseMatrix;

at::Tensor i64(std::vector<int64_t> v) {
  return at::tensor(v);
}

// Two blocks {0, 2} and {1, 3, 4} interleaved, plus the isolated row 5.
SparseMatrix two_blocks() {
  return SparseMatrix::from_coo(i64({0, 2, 0, 2, 1, 3, 4, 3, 1, 4, 5}),
                                i64({0, 2, 2, 0, 1, 3, 4, 1, 4, 3, 5}),
                                at::arange(1, 12, at::kDouble), {6, 6});
}

TEST(Structure, WeakAndStrongComponents) {
  auto A = two_blocks();
  auto c = dsla::connected_components(A);
  EXPECT_EQ(c.count, 3);
  EXPECT_TRUE(c.labels.equal(i64({0, 1, 0, 1, 1, 2})));
  // A directed path 0 -> 1 -> 2: one weak component, three strong ones; a cycle: one.
  auto P = SparseMatrix::from_coo(i64({0, 1}), i64({1, 2}), at::ones({2}, at::kDouble), {3, 3});
  EXPECT_EQ(dsla::connected_components(P).count, 1);
  EXPECT_EQ(dsla::connected_components(P, dsla::Connection::Strong).count, 3);
  auto C =
      SparseMatrix::from_coo(i64({0, 1, 2}), i64({1, 2, 0}), at::ones({3}, at::kDouble), {3, 3});
  EXPECT_EQ(dsla::connected_components(C, dsla::Connection::Strong).count, 1);
  // Explicit zeros are edges: the components are of the pattern.
  auto Z = SparseMatrix::from_coo(i64({0, 1}), i64({1, 0}), at::zeros({2}, at::kDouble), {2, 2});
  EXPECT_EQ(dsla::connected_components(Z).count, 1);
  EXPECT_THROW(dsla::connected_components(
                   SparseMatrix::from_coo(i64({0}), i64({0}), at::ones({1}, at::kDouble), {2, 3})),
               c10::ValueError);
  auto E = SparseMatrix::from_coo(i64({}), i64({}), at::ones({0}, at::kDouble), {0, 0});
  EXPECT_EQ(dsla::connected_components(E).count, 0);
  EXPECT_TRUE(dsla::split_components(E).empty());
}

TEST(Structure, SplitHoldsEveryEntryOnce) {
  auto A = two_blocks();
  auto blocks = dsla::split_components(A);
  ASSERT_EQ(blocks.size(), 3u);
  int64_t nnz = 0;
  for (const auto& b : blocks) {
    nnz += b.matrix.nnz();
    EXPECT_TRUE(b.matrix.to_dense().equal(A.submatrix(b.index, b.index).to_dense()));
  }
  EXPECT_EQ(nnz, A.nnz());
  EXPECT_TRUE(blocks[1].index.equal(i64({1, 3, 4})));
  // Batched values stay batched; gradients reach A's values.
  auto vals = at::stack({A.values(), 2 * A.values()}).set_requires_grad(true);
  auto Ab = A.with_values(vals);
  auto bb = dsla::split_components(Ab);
  EXPECT_EQ(bb[1].matrix.values().sizes(), (at::IntArrayRef{2, 6}));
  at::Tensor s = at::zeros({}, at::kDouble);
  for (const auto& b : bb) s = s + b.matrix.values().sum();
  s.backward();
  EXPECT_TRUE(vals.grad().equal(at::ones_like(vals)));
}

TEST(Structure, PositiveDefiniteAgreesWithEigenvalues) {
  for (int64_t seed = 0; seed < 4; ++seed) {
    auto S = dsla::random_spd(30, 0.1, static_cast<uint64_t>(seed));
    const double lmin = at::linalg_eigvalsh(S.to_dense()).min().item<double>();
    for (double shift : {0.0, lmin - 1e-3, lmin + 1e-3}) {
      auto I = SparseMatrix::from_coo(at::arange(30), at::arange(30),
                                      at::full({30}, shift, at::kDouble), {30, 30});
      auto M = dsla::add(S, I, 1.0, -1.0);
      const bool want = at::linalg_eigvalsh(M.to_dense()).min().item<double>() > 0;
      for (const char* f : {"auto", "dense"}) {
        dsla::DefinitenessOptions o;
        o.factorization = f;
        EXPECT_EQ(dsla::is_positive_definite(M, o).item<bool>(), want)
            << "seed " << seed << " shift " << shift << " " << f;
      }
    }
  }
}

TEST(Structure, PositiveDefiniteEdgeCases) {
  auto P = dsla::poisson2d(6);
  EXPECT_TRUE(dsla::is_positive_definite(P).item<bool>());
  // Neumann Laplacian (singular, semidefinite): row sums zero.
  auto N = P.with_values(P.values().clone());
  auto d = N.diagonal() - N.row_sums();  // the diagonal that makes each row sum zero
  auto pos = N.pattern()->diag_pos();
  auto v = N.values().clone();
  v.index_put_({pos}, d);
  EXPECT_FALSE(dsla::is_positive_definite(N.with_values(v)).item<bool>());
  // Nonsymmetric: not definite by definition; rectangular: false; 0 x 0: true.
  EXPECT_FALSE(dsla::is_positive_definite(dsla::generate("convdiff2d:5:2")).item<bool>());
  EXPECT_FALSE(dsla::is_positive_definite(
                   SparseMatrix::from_coo(i64({0}), i64({0}), at::ones({1}, at::kDouble), {2, 3}))
                   .item<bool>());
  auto E = SparseMatrix::from_coo(i64({}), i64({}), at::ones({0}, at::kDouble), {0, 0});
  EXPECT_TRUE(dsla::is_positive_definite(E).item<bool>());
  // Batched: one answer per member.
  auto B = P.with_values(at::stack({P.values(), -P.values()}));
  auto r = dsla::is_positive_definite(B);
  ASSERT_EQ(r.sizes(), (at::IntArrayRef{2}));
  EXPECT_TRUE(r[0].item<bool>());
  EXPECT_FALSE(r[1].item<bool>());
  // NaN is refused by name; options are checked.
  auto bad = P.values().clone();
  bad[0] = NAN;
  EXPECT_THROW(dsla::is_positive_definite(P.with_values(bad)), c10::ValueError);
  dsla::DefinitenessOptions o;
  o.factorization = "qr";
  EXPECT_THROW(dsla::is_positive_definite(P, o), c10::ValueError);
  o = {};
  o.dense_max_rows = 10;
  o.factorization = "auto";
  if (!DSLA_HAVE_SUITESPARSE) {
    EXPECT_THROW(dsla::is_positive_definite(P, o), c10::NotImplementedError);
  }
}

TEST(Structure, MatrixTypes) {
  using T = dsla::MatrixType;
  auto P = dsla::poisson2d(5);
  EXPECT_EQ(dsla::detect_matrix_type(P), T::SPD);
  EXPECT_EQ(dsla::detect_matrix_type(P.scale(-1.0)), T::Symmetric);
  dsla::MatrixTypeOptions nodef;
  nodef.definite = false;
  EXPECT_EQ(dsla::detect_matrix_type(P, nodef), T::Symmetric);
  EXPECT_EQ(dsla::detect_matrix_type(dsla::generate("convdiff2d:5:2")), T::General);
  auto K = SparseMatrix::from_coo(i64({0, 1}), i64({1, 0}), at::tensor({2.0, -2.0}), {2, 2});
  EXPECT_EQ(dsla::detect_matrix_type(K), T::SkewSymmetric);
  auto Pc = P.to(at::kComplexDouble);
  EXPECT_EQ(dsla::detect_matrix_type(Pc), T::HPD);
  auto i = c10::complex<double>(0, 1);
  auto H =
      SparseMatrix::from_coo(i64({0, 1, 0, 1}), i64({1, 0, 0, 1}),
                             at::tensor(std::vector<c10::complex<double>>{i, -i, 1, -1}), {2, 2});
  EXPECT_EQ(dsla::detect_matrix_type(H), T::Hermitian);
  auto Cs = SparseMatrix::from_coo(i64({0, 1}), i64({1, 0}),
                                   at::tensor(std::vector<c10::complex<double>>{i, i}), {2, 2});
  EXPECT_EQ(dsla::detect_matrix_type(Cs), T::Symmetric);
  auto Sh = SparseMatrix::from_coo(i64({0, 1, 0}), i64({1, 0, 0}),
                                   at::tensor(std::vector<c10::complex<double>>{1, -1, i}), {2, 2});
  EXPECT_EQ(dsla::detect_matrix_type(Sh), T::SkewHermitian);
  // The tolerance is named: a 1e-9 asymmetry is general at rtol 1e-12, symmetric at 1e-6.
  auto v = P.values().clone();
  v[1] += 1e-9;
  dsla::MatrixTypeOptions loose;
  loose.rtol = 1e-6;
  EXPECT_EQ(dsla::detect_matrix_type(P.with_values(v)), T::General);
  EXPECT_EQ(dsla::detect_matrix_type(P.with_values(v), loose), T::SPD);
  EXPECT_EQ(dsla::to_string(T::SkewHermitian), "skew-hermitian");
}

TEST(Presets, TableAndOverrides) {
  const auto& all = dsla::solve_presets();
  EXPECT_EQ(all.size(), 12u);
  for (const char* cls : {"spd", "general", "indefinite", "convection"})
    for (const char* target : {"cpu", "gpu", "direct"})
      EXPECT_NO_THROW(dsla::solve_preset(std::string(cls) + "-" + target));
  EXPECT_THROW(dsla::solve_preset("spd"), c10::ValueError);
  dsla::SolveOptions o;
  o.rtol = 1e-11;
  auto p = dsla::with_preset(o, dsla::solve_preset("spd-cpu"));
  EXPECT_EQ(p.method, dsla::Method::CG);
  EXPECT_EQ(p.precond, "amg");
  EXPECT_EQ(p.rtol, 1e-11);  // a preset chooses the algorithm only
  EXPECT_TRUE(dsla::is_direct(dsla::solve_preset("general-direct").method));
  // Every iterative CPU preset solves its class's model problem.
  for (auto [name, spec] : {std::pair<const char*, const char*>{"spd-cpu", "poisson2d:16"},
                            {"general-cpu", "convdiff2d:16:2"},
                            {"convection-cpu", "convdiff2d:16:100"}}) {
    auto A = dsla::generate(spec);
    dsla::SolveInfo info;
    dsla::solve(A, at::ones({A.rows()}, at::kDouble),
                dsla::with_preset({}, dsla::solve_preset(name)), &info);
    EXPECT_TRUE(info.converged) << name << ": " << info.message;
  }
}

}  // namespace
