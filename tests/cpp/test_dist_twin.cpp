// DistMatrix::twin against the real thing: the twin of rank r of P is, block for block, what
// dist::generate gives rank r on P threads as ranks (diagonal and ghost blocks, owned and ghost
// ids in local order, neighbours, send lists); its loopback exchange moves the send blocks into
// the ghosts; CG runs on it; errors name their argument.
#include <dsla/dist.h>
#include <dsla/solve.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include <vector>

#include "dist/halo_plan.h"
#include "dist_harness.h"

namespace {

using dsla::dist::Comm;
using dsla::dist::DistMatrix;
using dsla_test::run_ranks;

void expect_same_blocks(const std::string& kind, int64_t n, int P) {
  std::vector<DistMatrix> real(P);
  run_ranks(P, [&](const Comm& c) { real[c.rank()] = dsla::dist::generate(c, kind, n); });
  run_ranks(1, [&](const Comm& solo) {
    for (int r = 0; r < P; ++r) {
      SCOPED_TRACE(kind + ":" + std::to_string(n) + " rank " + std::to_string(r) + " of " +
                   std::to_string(P));
      auto T = DistMatrix::twin(solo, kind, n, r, P);
      const auto& R = real[r];
      // A twin of one rank is the real matrix (nothing looped back), not a twin.
      EXPECT_EQ(T.is_twin(), P > 1);
      ASSERT_EQ(T.n_owned(), R.n_owned());
      EXPECT_EQ(T.n_interior(), R.n_interior());
      EXPECT_EQ(T.nnz(), R.nnz());
      EXPECT_TRUE(at::equal(T.owned(), R.owned()));
      EXPECT_TRUE(at::equal(T.ghost(), R.ghost()));
      EXPECT_TRUE(at::equal(T.diag().to_dense(), R.diag().to_dense()));
      EXPECT_TRUE(at::equal(T.offd().to_dense(), R.offd().to_dense()));
      const auto &tp = T.plan(), &rp = R.plan();
      EXPECT_EQ(tp.recv_ranks, rp.recv_ranks);
      EXPECT_EQ(tp.recv_off, rp.recv_off);
      EXPECT_EQ(tp.send_ranks, rp.send_ranks);
      EXPECT_EQ(tp.send_off, rp.send_off);
      EXPECT_TRUE(at::equal(tp.send_idx.cpu(), rp.send_idx.cpu()));
    }
  });
}

TEST(DistTwin, BlocksEqualTheRealRanks) {
  DSLA_SKIP_WITHOUT_GLOO();
  expect_same_blocks("poisson3d", 7, 4);  // a 2 x 2 x 1 process grid
  expect_same_blocks("poisson3d", 6, 8);
  expect_same_blocks("poisson2d", 9, 3);
  expect_same_blocks("aniso2d", 8, 4);
  expect_same_blocks("poisson2d", 5, 1);  // no neighbours
}

TEST(DistTwin, LoopbackExchangeAndSolve) {
  DSLA_SKIP_WITHOUT_GLOO();
  run_ranks(1, [&](const Comm& solo) {
    auto T = DistMatrix::twin(solo, "poisson3d", 10, 1, 4);
    const auto& p = T.plan();
    // The ghosts from each neighbour are the rows sent to it.
    auto x = at::arange(T.n_owned(), at::kDouble).view({1, -1, 1});
    auto g = T.halo(x).view(-1);
    for (size_t i = 0; i < p.recv_ranks.size(); ++i) {
      auto got = g.narrow(0, p.recv_off[i], p.recv_off[i + 1] - p.recv_off[i]);
      auto want = p.send_idx.narrow(0, p.send_off[i], p.send_off[i + 1] - p.send_off[i]);
      EXPECT_TRUE(at::equal(got, want.to(at::kDouble)));
    }
    // The twin's operator is SPD (diagonally dominant): CG + Jacobi converges on it.
    dsla::SolveOptions o;
    o.method = dsla::Method::CG;
    o.precond = "jacobi";
    o.rtol = 1e-10;
    dsla::SolveInfo info;
    auto b = at::ones({T.n_owned()}, at::kDouble);
    auto y = dsla::dist::solve(T, b, o, &info);
    EXPECT_TRUE(info.converged) << info.message;
    EXPECT_LT((T.matmul(y) - b).norm().item<double>(), 1e-8 * b.norm().item<double>());
    EXPECT_THROW(T.gather(y), c10::ValueError);
  });
  auto msg = dsla_test::run_ranks_errors(
      2, [&](const Comm& c) { DistMatrix::twin(c, "poisson3d", 10, 1, 4); });
  for (const auto& m : msg) EXPECT_NE(m.find("'comm'"), std::string::npos) << m;
  run_ranks(1, [&](const Comm& solo) {
    EXPECT_THROW(DistMatrix::twin(solo, "convdiff2d", 10, 0, 2), c10::ValueError);
    EXPECT_THROW(DistMatrix::twin(solo, "poisson2d", 10, 2, 2), c10::ValueError);
  });
}

}  // namespace
