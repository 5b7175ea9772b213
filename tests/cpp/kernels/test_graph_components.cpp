// Connected components kernels against brute force: reachability by repeated relaxation (weak:
// over the symmetrized graph; strong: i and j together iff each reaches the other).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/graph_components.h"

namespace {

namespace kc = dsla::kernels::cpu;

struct Csr {
  int64_t n = 0;
  std::vector<int64_t> crow, col;
};

Csr random_graph(int64_t n, double p, unsigned seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution edge(p);
  Csr g;
  g.n = n;
  g.crow.push_back(0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j)
      if (i == j || edge(rng)) g.col.push_back(j);
    g.crow.push_back(static_cast<int64_t>(g.col.size()));
  }
  return g;
}

// reach[i * n + j]: a path i -> j (closure of the edges, undirected when `both`).
std::vector<char> reachability(const Csr& g, bool both) {
  const int64_t n = g.n;
  std::vector<char> r(static_cast<size_t>(n * n), 0);
  for (int64_t i = 0; i < n; ++i) {
    r[i * n + i] = 1;
    for (int64_t p = g.crow[i]; p < g.crow[i + 1]; ++p) {
      r[i * n + g.col[p]] = 1;
      if (both) r[g.col[p] * n + i] = 1;
    }
  }
  for (int64_t k = 0; k < n; ++k)  // Floyd–Warshall closure
    for (int64_t i = 0; i < n; ++i)
      if (r[i * n + k])
        for (int64_t j = 0; j < n; ++j)
          if (r[k * n + j]) r[i * n + j] = 1;
  return r;
}

void expect_components(const Csr& g, bool strong) {
  const int64_t n = g.n;
  std::vector<int64_t> labels(static_cast<size_t>(n), -1);
  const int64_t count = strong
                            ? kc::strong_components(n, g.crow.data(), g.col.data(), labels.data())
                            : kc::weak_components(n, g.crow.data(), g.col.data(), labels.data());
  const auto r = reachability(g, !strong);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const bool together = r[i * n + j] && r[j * n + i];
      EXPECT_EQ(labels[i] == labels[j], together) << i << " " << j;
    }
  }
  // Numbered by smallest vertex: the first vertex of label c comes before that of c + 1.
  int64_t next = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_LE(labels[i], next);
    if (labels[i] == next) ++next;
  }
  EXPECT_EQ(next, count);
}

TEST(GraphComponents, MatchBruteForceOnRandomGraphs) {
  for (unsigned seed = 0; seed < 12; ++seed) {
    for (double p : {0.0, 0.01, 0.03, 0.08}) {
      const Csr g = random_graph(40 + seed, p, seed);
      expect_components(g, false);
      expect_components(g, true);
    }
  }
}

TEST(GraphComponents, EmptyAndSingleVertex) {
  std::vector<int64_t> crow{0}, col, labels;
  EXPECT_EQ(kc::weak_components<int64_t>(0, crow.data(), col.data(), labels.data()), 0);
  EXPECT_EQ(kc::strong_components<int64_t>(0, crow.data(), col.data(), labels.data()), 0);
  std::vector<int32_t> crow1{0, 0}, col1;
  std::vector<int64_t> l1(1, -1);
  EXPECT_EQ(kc::weak_components<int32_t>(1, crow1.data(), col1.data(), l1.data()), 1);
  EXPECT_EQ(l1[0], 0);
  EXPECT_EQ(kc::strong_components<int32_t>(1, crow1.data(), col1.data(), l1.data()), 1);
}

TEST(GraphComponents, LongPathNeedsNoRecursion) {
  // A directed cycle of 10^6 vertices: one strong component (a recursive DFS would overflow).
  const int64_t n = 1000000;
  std::vector<int64_t> crow(n + 1), col(n), labels(n);
  for (int64_t i = 0; i < n; ++i) {
    crow[i] = i;
    col[i] = (i + 1) % n;
  }
  crow[n] = n;
  EXPECT_EQ(kc::strong_components(n, crow.data(), col.data(), labels.data()), 1);
  col[n - 1] = n - 1;  // cut the cycle: a path, n strong components, one weak one
  EXPECT_EQ(kc::strong_components(n, crow.data(), col.data(), labels.data()), n);
  EXPECT_EQ(labels[0], 0);
  EXPECT_EQ(labels[n - 1], n - 1);
  EXPECT_EQ(kc::weak_components(n, crow.data(), col.data(), labels.data()), 1);
}

}  // namespace
