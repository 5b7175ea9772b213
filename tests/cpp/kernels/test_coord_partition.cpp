// Coordinate partitions: balance, determinism, RCB quadrants, the Hilbert curve's adjacency.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/cpu/coord_partition.h"

namespace {

namespace kc = dsla::kernels::cpu;

void expect_balanced(const std::vector<int64_t>& part, int64_t parts) {
  const int64_t n = static_cast<int64_t>(part.size());
  std::vector<int64_t> size(static_cast<size_t>(parts), 0);
  for (int64_t p : part) {
    ASSERT_GE(p, 0);
    ASSERT_LT(p, parts);
    ++size[p];
  }
  for (int64_t s : size) {
    EXPECT_GE(s, n / parts);
    EXPECT_LE(s, (n + parts - 1) / parts);
  }
}

std::vector<double> grid2d(int64_t side) {
  std::vector<double> x;
  for (int64_t i = 0; i < side; ++i)
    for (int64_t j = 0; j < side; ++j) {
      x.push_back(static_cast<double>(j));
      x.push_back(static_cast<double>(i));
    }
  return x;
}

TEST(CoordPartition, BalancedForEveryPartCount) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1.0, 5.0);
  for (int64_t d : {1, 2, 3, 5}) {
    for (int64_t n : {0, 1, 7, 100, 1001}) {
      std::vector<double> x(static_cast<size_t>(n * d));
      for (auto& v : x) v = u(rng);
      for (int64_t parts : {1, 2, 3, 7, 16, 1500}) {
        std::vector<int64_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
        kc::rcb_partition(n, d, x.data(), parts, a.data());
        expect_balanced(a, parts);
        kc::hilbert_partition(n, d, x.data(), parts, b.data());
        expect_balanced(b, parts);
      }
    }
  }
}

TEST(CoordPartition, TiesAndIdenticalPointsStayBalanced) {
  std::vector<double> x(200, 1.5);  // 100 equal points in 2-D
  std::vector<int64_t> part(100);
  kc::rcb_partition(100, 2, x.data(), 3, part.data());
  expect_balanced(part, 3);
  EXPECT_EQ(part[0], 0);  // ties by index: the first points go to the first part
  EXPECT_EQ(part[99], 2);
  kc::hilbert_partition(100, 2, x.data(), 3, part.data());
  expect_balanced(part, 3);
  EXPECT_EQ(part[0], 0);
  EXPECT_EQ(part[99], 2);
}

TEST(CoordPartition, RcbCutsAGridIntoQuadrants) {
  const int64_t side = 16;
  const auto x = grid2d(side);
  std::vector<int64_t> part(side * side);
  kc::rcb_partition(side * side, 2, x.data(), 4, part.data());
  for (int64_t i = 0; i < side; ++i)
    for (int64_t j = 0; j < side; ++j) {
      const int64_t p = part[i * side + j];
      const int64_t q = part[(i < side / 2 ? 0 : side - 1) * side + (j < side / 2 ? 0 : side - 1)];
      EXPECT_EQ(p, q) << i << " " << j;  // every point in its corner's part
    }
  // A long thin domain is cut across its length first.
  std::vector<double> thin;
  for (int64_t k = 0; k < 100; ++k) {
    thin.push_back(static_cast<double>(k));
    thin.push_back(static_cast<double>(k % 2));
  }
  std::vector<int64_t> tp(100);
  kc::rcb_partition(100, 2, thin.data(), 2, tp.data());
  for (int64_t k = 0; k < 100; ++k) EXPECT_EQ(tp[k], k < 50 ? 0 : 1);
}

TEST(CoordPartition, HilbertCurveStepsToGridNeighbours) {
  for (int64_t d : {2, 3}) {
    const int bits = 3;
    const int64_t side = int64_t{1} << bits;
    int64_t n = 1;
    for (int64_t k = 0; k < d; ++k) n *= side;
    std::vector<uint64_t> key(static_cast<size_t>(n));
    std::vector<std::vector<uint64_t>> pts(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      std::vector<uint64_t> g(static_cast<size_t>(d));
      int64_t r = i;
      for (int64_t k = 0; k < d; ++k) {
        g[k] = static_cast<uint64_t>(r % side);
        r /= side;
      }
      pts[i] = g;
      key[i] = kc::hilbert_key(g.data(), d, bits);
    }
    // A bijection onto [0, n) along which consecutive points are grid neighbours.
    std::vector<int64_t> at(static_cast<size_t>(n), -1);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_LT(key[i], static_cast<uint64_t>(n));
      ASSERT_EQ(at[key[i]], -1);
      at[key[i]] = i;
    }
    for (int64_t k = 0; k + 1 < n; ++k) {
      int64_t dist = 0;
      for (int64_t j = 0; j < d; ++j)
        dist += std::llabs(static_cast<long long>(pts[at[k]][j]) -
                           static_cast<long long>(pts[at[k + 1]][j]));
      EXPECT_EQ(dist, 1) << "d=" << d << " step " << k;
    }
  }
}

TEST(CoordPartition, HilbertFullResolutionKeysOrderACoarseGridAlongTheCurve) {
  // d = 2 (32 bits) and 3 (21 bits) take unrolled paths: a coarse grid placed in the top bits
  // must come out in curve order with consecutive points neighbours, as with few bits.
  for (int64_t d : {2, 3}) {
    const int full = kc::hilbert_bits(d), coarse = 3;
    const int64_t side = int64_t{1} << coarse;
    int64_t n = 1;
    for (int64_t k = 0; k < d; ++k) n *= side;
    std::vector<std::pair<uint64_t, std::vector<uint64_t>>> keyed;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<uint64_t> g(static_cast<size_t>(d)), big(static_cast<size_t>(d));
      int64_t r = i;
      for (int64_t k = 0; k < d; ++k) {
        g[k] = static_cast<uint64_t>(r % side);
        big[k] = g[k] << (full - coarse);
        r /= side;
      }
      keyed.push_back({kc::hilbert_key(big.data(), d, full), g});
    }
    std::sort(keyed.begin(), keyed.end());
    for (int64_t k = 0; k + 1 < n; ++k) {
      int64_t dist = 0;
      for (int64_t j = 0; j < d; ++j)
        dist += std::llabs(static_cast<long long>(keyed[k].second[j]) -
                           static_cast<long long>(keyed[k + 1].second[j]));
      EXPECT_EQ(dist, 1) << "d=" << d << " step " << k;
      EXPECT_LT(keyed[k].first, keyed[k + 1].first);
    }
  }
}

TEST(CoordPartition, HilbertOrderOfOneDimensionIsTheAxis) {
  std::vector<double> x{3.0, -1.0, 2.0, 2.0, 10.0};
  std::vector<int64_t> order(5);
  kc::hilbert_order(5, 1, x.data(), order.data());
  EXPECT_EQ(order, (std::vector<int64_t>{1, 2, 3, 0, 4}));
}

TEST(CoordPartition, HilbertPartsAreCompactOnAGrid) {
  // Each part of a Hilbert partition of a 32 x 32 grid into 4 is one quadrant.
  const int64_t side = 32;
  const auto x = grid2d(side);
  std::vector<int64_t> part(side * side);
  kc::hilbert_partition(side * side, 2, x.data(), 4, part.data());
  for (int64_t i = 0; i < side; ++i)
    for (int64_t j = 0; j < side; ++j)
      EXPECT_EQ(part[i * side + j],
                part[(i < side / 2 ? 0 : side - 1) * side + (j < side / 2 ? 0 : side - 1)]);
}

}  // namespace
