// dsla::dist::Comm on P threads as P ranks (Gloo over one HashStore): each collective against
// the value it must produce, and error agreement (a rank refusing its input makes every rank
// raise; a rank that never arrives makes the others time out, not hang).
#include <dsla/dist.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include "dist_harness.h"

namespace {

using dsla::dist::Comm;
using dsla_test::run_ranks;

TEST(DistComm, Collectives) {
  DSLA_SKIP_WITHOUT_GLOO();
  for (int P : {1, 2, 3, 4}) {
    SCOPED_TRACE(P);
    run_ranks(P, [&](const Comm& c) {
      EXPECT_EQ(c.size(), P);
      EXPECT_EQ(c.backend(), "gloo");
      // allreduce: double, complex, int64, bool.
      auto d = at::full({3}, double(c.rank() + 1), at::kDouble);
      c.allreduce_sum_(d);
      EXPECT_TRUE(at::equal(d, at::full({3}, P * (P + 1) / 2.0, at::kDouble)));
      auto z = at::full({2}, c10::complex<double>(c.rank(), 1), at::kComplexDouble);
      c.allreduce_sum_(z);
      EXPECT_TRUE(at::allclose(
          z, at::full({2}, c10::complex<double>(P * (P - 1) / 2.0, P), at::kComplexDouble)));
      auto m = at::tensor({int64_t(c.rank())}, at::kLong);
      c.allreduce_max_(m);
      EXPECT_EQ(m.item<int64_t>(), P - 1);
      // allgatherv: rank r contributes r rows of value r.
      auto g = c.allgatherv(at::full({c.rank(), 2}, double(c.rank()), at::kDouble));
      EXPECT_EQ(g.size(0), P * (P - 1) / 2);
      // alltoallv: rank r sends (d + 1) rows of value 10 r + d to rank d.
      std::vector<int64_t> counts;
      std::vector<at::Tensor> parts;
      for (int dst = 0; dst < P; ++dst) {
        counts.push_back(dst + 1);
        parts.push_back(at::full({dst + 1}, 10.0 * c.rank() + dst, at::kDouble));
      }
      std::vector<int64_t> rc;
      auto got = c.alltoallv(at::cat(parts), counts, &rc);
      ASSERT_EQ(got.size(0), P * (c.rank() + 1));
      for (int s = 0; s < P; ++s) {
        EXPECT_EQ(rc[s], c.rank() + 1);
        EXPECT_EQ(got[s * (c.rank() + 1)].item<double>(), 10.0 * s + c.rank());
      }
      auto b = at::full({2}, double(c.rank()), at::kDouble);
      c.broadcast_(b, P - 1);
      EXPECT_EQ(b[0].item<double>(), P - 1);
      c.barrier();
      c.check_same(42, "x", "the answer");
    });
  }
}

TEST(DistComm, AgreeRaisesOnEveryRank) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto msg = dsla_test::run_ranks_errors(
      3, [](const Comm& c) { c.agree(c.rank() != 1, "argument 'x': rank one's input is bad"); });
  EXPECT_NE(msg[1].find("rank one's input is bad"), std::string::npos) << msg[1];
  for (int r : {0, 2}) EXPECT_NE(msg[r].find("rank 1 refused"), std::string::npos) << msg[r];
  auto diff = dsla_test::run_ranks_errors(
      2, [](const Comm& c) { c.check_same(c.rank(), "shape", "the global shape"); });
  for (const auto& m : diff) EXPECT_NE(m.find("differs across ranks"), std::string::npos) << m;
}

TEST(DistComm, MissingPeerTimesOut) {
  DSLA_SKIP_WITHOUT_GLOO();
  // Rank 1 leaves before the all-reduce: rank 0 must raise within the timeout, not hang.
  auto msg = dsla_test::run_ranks_errors(
      2,
      [](const Comm& c) {
        if (c.rank() == 1) throw std::runtime_error("rank 1 failed");
        auto t = at::ones({1}, at::kDouble);
        c.allreduce_sum_(t);
      },
      std::chrono::milliseconds(1500));
  EXPECT_NE(msg[1].find("rank 1 failed"), std::string::npos);
  EXPECT_FALSE(msg[0].empty());
}

}  // namespace
