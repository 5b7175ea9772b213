// DistMatrix on P threads as P ranks: construction from each rank's rows of a global matrix
// (contiguous, random non-contiguous, and partitions with empty ranks), the product and its
// adjoint against the global matrix, gathers, the generators' boxes against the one-process
// generators, and bad input refused on every rank.
#include <dsla/dist.h>
#include <dsla/generators.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include "dist/dist_internal.h"
#include "dist_harness.h"

namespace {

using dsla::SparseMatrix;
using dsla::dist::Comm;
using dsla::dist::DistMatrix;
using dsla_test::from_global;
using dsla_test::run_ranks;

at::Tensor random_parts(int64_t n, int P, int seed) {
  auto g = at::detail::createCPUGenerator(seed);
  return at::randint(P, {n}, g, at::kLong);
}

at::Tensor contiguous_parts(int64_t n, int P) {
  auto p = at::empty({n}, at::kLong);
  for (int r = 0; r < P; ++r) {
    auto [lo, hi] = dsla::dist::contiguous_range(n, r, P);
    p.narrow(0, lo, hi - lo).fill_(r);
  }
  return p;
}

void expect_products(const SparseMatrix& G, const at::Tensor& parts, int P) {
  const int64_t n = G.rows();
  auto X = at::randn({n, 2}, at::kDouble);
  auto D = G.to_dense();
  auto Y = D.matmul(X), Yh = D.t().matmul(X);
  run_ranks(P, [&](const Comm& c) {
    auto A = from_global(c, G, parts);
    EXPECT_EQ(A.rows(), n);
    EXPECT_EQ(A.nnz(), G.nnz());
    const auto& own = A.owned();
    EXPECT_EQ(own.numel(), (parts == c.rank()).sum().item<int64_t>());
    auto x = X.index_select(0, own);
    EXPECT_TRUE(at::allclose(A.matmul(x), Y.index_select(0, own)));
    EXPECT_TRUE(
        at::allclose(A.matmul(x.select(1, 0).contiguous()), Y.select(1, 0).index_select(0, own)));
    auto x3 = x.unsqueeze(0).contiguous();
    auto y3 = at::empty_like(x3);
    A.apply_adjoint(x3, y3);
    EXPECT_TRUE(at::allclose(y3.squeeze(0), Yh.index_select(0, own)));
    EXPECT_TRUE(at::equal(A.gather(x), X));
    EXPECT_TRUE(at::allclose(A.gather_matrix().to_dense(), D));
    // Interior rows first: no ghost column in them.
    EXPECT_EQ(A.offd().rows(), A.n_owned() - A.n_interior());
  });
}

// Aᴴ x by a scatter over A's entries (detail::apply_adjoint_uncached, the symmetry probe's: no
// transpose formed and cached on A) against the blocks' transposes (DistMatrix::apply_adjoint)
// and the dense Aᴴ X: a nonsymmetric matrix with duplicates, real and complex, one and two
// value sets, two right-hand sides, three ranks of a random layout.
TEST(DistMatrix, AdjointByScatterMatchesTheTransposes) {
  DSLA_SKIP_WITHOUT_GLOO();
  const int P = 3;
  const int64_t n = 40;
  auto parts = random_parts(n, P, 9);
  auto g = at::detail::createCPUGenerator(21);
  auto ids = at::arange(n, at::kLong);
  auto row = at::cat({ids, at::randint(n, {150}, g, at::kLong)});
  auto col = at::cat({ids, at::randint(n, {150}, g, at::kLong)});
  for (auto dt : {at::kDouble, at::kComplexDouble}) {
    for (int64_t B : {1, 2}) {
      auto v = at::randn({B, row.numel()}, g, dt);
      auto G = SparseMatrix::from_coo(row, col, B == 1 ? v[0] : v, {n, n});
      auto D = G.to_dense().reshape({B, n, n});
      auto X = at::randn({n, 2}, g, dt);
      auto Yh = D.conj().transpose(1, 2).matmul(X);  // [B, n, 2]
      run_ranks(P, [&](const Comm& c) {
        auto A = from_global(c, G, parts);
        const auto& own = A.owned();
        auto x3 = X.index_select(0, own).unsqueeze(0).contiguous();
        auto by_scatter = at::empty({B, A.n_owned(), 2}, x3.options());
        auto by_transpose = at::empty_like(by_scatter);
        dsla::dist::detail::apply_adjoint_uncached(A, x3, by_scatter);
        A.apply_adjoint(x3, by_transpose);
        auto want = Yh.index_select(1, own);
        EXPECT_TRUE(at::allclose(by_scatter, want, 1e-12, 1e-12)) << dt << " B=" << B;
        EXPECT_TRUE(at::allclose(by_transpose, want, 1e-12, 1e-12)) << dt << " B=" << B;
      });
    }
  }
}

// entry_pos: each local entry's position in values(), duplicates (split over the diagonal and
// off-diagonal blocks) included: scattering the entries' values there gives values().
TEST(DistMatrix, FromLocalCooReportsWhereEachEntryLands) {
  const int P = 3;
  const int64_t n = 30;
  auto parts = random_parts(n, P, 5);
  run_ranks(P, [&](const Comm& c) {
    auto owned = at::nonzero(parts == c.rank()).view(-1);
    // Every owned row: its diagonal, two random columns, and one of them again (a duplicate).
    const int64_t k = owned.numel();
    auto gl = at::detail::createCPUGenerator(11 + c.rank());
    auto cols = at::randint(n, {k, 2}, gl, at::kLong);
    auto row = at::cat({owned, owned, owned, owned});
    auto col = at::cat({owned, cols.select(1, 0), cols.select(1, 1), cols.select(1, 0)});
    auto val = at::rand({row.numel()}, gl, at::kDouble).add_(1);
    at::Tensor pos;
    auto A = DistMatrix::from_local_coo(c, row, col, val, {n, n}, owned, &pos);
    ASSERT_EQ(pos.numel(), row.numel());
    EXPECT_TRUE(
        at::allclose(at::zeros({A.local_nnz()}, at::kDouble).index_add(0, pos, val), A.values()));
    // The same positions for new values: one scatter instead of another from_local_coo.
    auto val2 = val * 3;
    auto B = DistMatrix::from_local_coo(c, row, col, val2, {n, n}, owned);
    EXPECT_TRUE(
        at::allclose(at::zeros({A.local_nnz()}, at::kDouble).index_add(0, pos, val2), B.values()));
  });
}

// row / col moved in may be overwritten by their positions (one entry-sized array fewer); a
// caller's own tensors never are. One rank owning the contiguous range: the overwriting path.
TEST(DistMatrix, FromLocalCooWritesOnlyIndexArraysMovedIn) {
  const int64_t n = 12;
  run_ranks(1, [&](const Comm& c) {
    auto owned = at::arange(n, at::kLong);
    auto gl = at::detail::createCPUGenerator(3);
    auto row = at::cat({owned, at::randint(n, {20}, gl, at::kLong)});
    auto col = at::cat({owned, at::randint(n, {20}, gl, at::kLong)});
    auto val = at::rand({row.numel()}, gl, at::kDouble).add_(1);
    const auto row0 = row.clone(), col0 = col.clone();
    at::Tensor pos_kept, pos_moved;
    auto A = DistMatrix::from_local_coo(c, row, col, val, {n, n}, owned, &pos_kept);
    EXPECT_TRUE(at::equal(row, row0));
    EXPECT_TRUE(at::equal(col, col0));
    auto B =
        DistMatrix::from_local_coo(c, row0.clone(), col0.clone(), val, {n, n}, owned, &pos_moved);
    EXPECT_TRUE(at::equal(pos_kept, pos_moved));
    EXPECT_TRUE(at::equal(A.diag().pattern()->col(), B.diag().pattern()->col()));
    EXPECT_TRUE(at::allclose(A.values(), B.values()));
  });
}

// Owned sets that are each one contiguous range but overlap, or leave a gap, are not a
// partition: the range shortcut of the halo plan must not take them, and every rank raises.
TEST(DistMatrix, ContiguousOwnedRangesThatDoNotTileAreRefused) {
  DSLA_SKIP_WITHOUT_GLOO();
  const int64_t n = 10;
  for (int64_t second : {4, 6}) {  // rank 1 owns [second, 10): overlap at 4, gap at 6
    SCOPED_TRACE(second);
    run_ranks(2, [&](const Comm& c) {
      auto owned = c.rank() == 0 ? at::arange(0, 5, at::kLong) : at::arange(second, n, at::kLong);
      auto val = at::ones({owned.numel()}, at::kDouble);
      try {
        DistMatrix::from_local_coo(c, owned, owned, val, {n, n}, owned);
        ADD_FAILURE() << "rank " << c.rank() << " accepted a non-partition";
      } catch (const c10::Error& e) {
        EXPECT_NE(std::string(e.what()).find("owned"), std::string::npos) << e.what();
      }
    });
  }
}

TEST(DistMatrix, ProductsMatchTheGlobalMatrix) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto G = dsla::convdiff2d(9, 3.0);  // nonsymmetric: the adjoint is a different product
  for (int P : {1, 2, 3, 4}) {
    SCOPED_TRACE(P);
    expect_products(G, contiguous_parts(G.rows(), P), P);
    expect_products(G, random_parts(G.rows(), P, 3 + P), P);
  }
  // An empty rank, and more ranks than rows.
  auto parts = contiguous_parts(G.rows(), 2);  // rank 2 owns nothing
  expect_products(G, parts, 3);
  auto S = dsla::poisson2d(1);  // one row, two ranks
  expect_products(S, at::zeros({1}, at::kLong), 2);
}

TEST(DistMatrix, GeneratorBoxesMatchOneProcess) {
  DSLA_SKIP_WITHOUT_GLOO();
  for (int P : {1, 2, 3, 4}) {
    SCOPED_TRACE(P);
    run_ranks(P, [&](const Comm& c) {
      auto A = dsla::dist::generate(c, "poisson3d", 5);
      EXPECT_TRUE(at::equal(A.gather_matrix().to_dense(), dsla::poisson3d(5).to_dense()));
      auto B = dsla::dist::generate(c, "poisson2d", 7);
      EXPECT_TRUE(at::equal(B.gather_matrix().to_dense(), dsla::poisson2d(7).to_dense()));
      // Boxes: ghosts only at the box faces.
      EXPECT_LE(B.n_ghost(), 4 * 7);
    });
  }
}

TEST(DistMatrix, BadInputRaisesOnEveryRank) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto G = dsla::poisson2d(4);
  // Overlapping ownership: rank 1 also claims row 0.
  auto msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto owned = c.rank() == 0 ? at::arange(0, 8, at::kLong) : at::arange(0, 16, at::kLong);
    auto r = at::zeros({0}, at::kLong);
    DistMatrix::from_local_coo(c, r, r, at::zeros({0}, at::kDouble), {16, 16}, owned);
  });
  for (const auto& m : msg) EXPECT_NE(m.find("owned"), std::string::npos) << m;
  // A row this rank does not own; a different global shape on one rank.
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto owned = at::arange(c.rank() * 8, c.rank() * 8 + 8, at::kLong);
    auto r = at::tensor({c.rank() == 1 ? int64_t(0) : int64_t(1)}, at::kLong);
    DistMatrix::from_local_coo(c, r, r, at::ones({1}, at::kDouble), {16, 16}, owned);
  });
  EXPECT_NE(msg[1].find("does not own"), std::string::npos) << msg[1];
  EXPECT_NE(msg[0].find("rank 1"), std::string::npos) << msg[0];
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto owned = at::arange(c.rank() * 8, c.rank() * 8 + 8, at::kLong);
    auto r = at::zeros({0}, at::kLong);
    const int64_t n = c.rank() == 0 ? 16 : 17;
    DistMatrix::from_local_coo(c, r, r, at::zeros({0}, at::kDouble), {n, n}, owned);
  });
  for (const auto& m : msg) EXPECT_NE(m.find("differs across ranks"), std::string::npos) << m;
}

}  // namespace
