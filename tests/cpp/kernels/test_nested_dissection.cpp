// Nested dissection (kernels/cpu/nested_dissection.h): a permutation, a tree of 2^L - 1 part
// sizes in perm order, and the dissection property (an edge only joins a part and one of its
// ancestors' separators), on grids, random graphs, disconnected graphs and edge cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "kernels/cpu/nested_dissection.h"

using dsla::kernels::cpu::NdLayout;
using dsla::kernels::cpu::NdOrdering;
using dsla::kernels::cpu::nested_dissection;

namespace {

struct Csr {
  int64_t n = 0;
  std::vector<int64_t> crow, col;
};

// Symmetric CSR with the diagonal, from an edge list (duplicates removed).
Csr from_edges(int64_t n, const std::vector<std::pair<int64_t, int64_t>>& edges) {
  std::vector<std::set<int64_t>> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i].insert(i);
  for (auto [a, b] : edges) {
    rows[a].insert(b);
    rows[b].insert(a);
  }
  Csr g;
  g.n = n;
  g.crow.push_back(0);
  for (auto& r : rows) {
    g.col.insert(g.col.end(), r.begin(), r.end());
    g.crow.push_back(static_cast<int64_t>(g.col.size()));
  }
  return g;
}

Csr grid(int64_t m) {
  std::vector<std::pair<int64_t, int64_t>> e;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < m; ++c) {
      if (c + 1 < m) e.push_back({r * m + c, r * m + c + 1});
      if (r + 1 < m) e.push_back({r * m + c, (r + 1) * m + c});
    }
  return from_edges(m * m, e);
}

// Tree node (heap numbering) of every vertex, from the perm and tree of a BottomUp ordering.
std::vector<int64_t> node_of(const NdOrdering& o, int64_t n) {
  std::vector<int64_t> node(n, -1);
  int64_t pos = 0, k = 0;
  for (int d = o.levels - 1; d >= 0; --d)
    for (int64_t id = (int64_t(1) << d) - 1; id < (int64_t(1) << (d + 1)) - 1; ++id, ++k)
      for (int64_t j = 0; j < o.tree[k]; ++j) node[o.perm[pos++]] = id;
  return node;
}

bool ancestor_or_self(int64_t a, int64_t b) {  // a is b or an ancestor of b (heap ids)
  while (b > a) b = (b - 1) / 2;
  return a == b;
}

// Checks perm, tree and the dissection property; returns the separator share of n.
double check(const Csr& g, int levels, int64_t leaf) {
  const NdOrdering o = nested_dissection<int64_t>(g.n, g.crow.data(), g.col.data(), levels, leaf,
                                                  NdLayout::BottomUp, 2);
  EXPECT_EQ(o.levels, levels);
  EXPECT_EQ(static_cast<int64_t>(o.tree.size()), (int64_t(1) << levels) - 1);
  EXPECT_EQ(std::accumulate(o.tree.begin(), o.tree.end(), int64_t(0)), g.n);
  std::vector<int64_t> sorted = o.perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < g.n; ++i) EXPECT_EQ(sorted[i], i);
  const auto node = node_of(o, g.n);
  for (int64_t u = 0; u < g.n; ++u)
    for (int64_t q = g.crow[u]; q < g.crow[u + 1]; ++q) {
      const int64_t v = g.col[q];
      EXPECT_TRUE(ancestor_or_self(node[u], node[v]) || ancestor_or_self(node[v], node[u]))
          << "edge " << u << "-" << v << " joins parts " << node[u] << " and " << node[v];
    }
  const int64_t first_leaf = (int64_t(1) << (levels - 1)) - 1;
  int64_t sep = 0;
  for (int64_t u = 0; u < g.n; ++u) sep += node[u] < first_leaf;
  return double(sep) / double(std::max<int64_t>(g.n, 1));
}

}  // namespace

TEST(NestedDissection, GridSeparatorsAreSmall) {
  const Csr g = grid(64);
  const double share = check(g, 5, 32);
  // 15 separators of at most ~64 vertices each on a 4096-vertex grid: well under 25 %.
  EXPECT_LT(share, 0.25);
  EXPECT_GT(share, 0.0);
}

TEST(NestedDissection, PostorderHoldsTheSameParts) {
  const Csr g = grid(40);
  const auto a =
      nested_dissection<int64_t>(g.n, g.crow.data(), g.col.data(), 4, 16, NdLayout::BottomUp, 1);
  const auto b =
      nested_dissection<int64_t>(g.n, g.crow.data(), g.col.data(), 4, 16, NdLayout::Postorder, 2);
  // Postorder of a 4-level heap tree: 7 3 8 1 9 4 10 0 ... ; compare the part sizes per node.
  std::vector<int64_t> post;
  std::vector<std::pair<int64_t, bool>> st{{0, false}};
  while (!st.empty()) {
    auto [n, e] = st.back();
    st.pop_back();
    if (n >= 7 || e) {
      post.push_back(n);
      continue;
    }
    st.push_back({n, true});
    st.push_back({2 * n + 2, false});
    st.push_back({2 * n + 1, false});
  }
  std::vector<int64_t> size_a(15), size_b(15);
  int64_t k = 0;
  for (int d = 3; d >= 0; --d)
    for (int64_t id = (int64_t(1) << d) - 1; id < (int64_t(1) << (d + 1)) - 1; ++id)
      size_a[id] = a.tree[k++];
  for (size_t j = 0; j < post.size(); ++j) size_b[post[j]] = b.tree[j];
  EXPECT_EQ(size_a, size_b);  // deterministic dissection, whatever the thread count
}

TEST(NestedDissection, RandomAndDisconnectedGraphs) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 6; ++trial) {
    const int64_t n = 300 + 200 * trial;
    std::vector<std::pair<int64_t, int64_t>> e;
    std::uniform_int_distribution<int64_t> pick(0, n - 1);
    for (int64_t k = 0; k < 2 * n; ++k) {
      const int64_t a = pick(rng), b = pick(rng);
      // trials 3+: two halves never connected (and some isolated vertices)
      if (trial >= 3 && ((a < n / 2) != (b < n / 2))) continue;
      if (a != b) e.push_back({a, b});
    }
    check(from_edges(n, e), 1 + trial % 5, 8);
  }
}

TEST(NestedDissection, EdgeCases) {
  check(from_edges(1, {}), 1, 4);
  check(from_edges(1, {}), 3, 4);  // more parts than vertices: empty parts
  check(from_edges(5, {}), 3, 1);  // no edges at all
  check(from_edges(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}), 3, 1);  // a path
  std::vector<std::pair<int64_t, int64_t>> clique;
  for (int a = 0; a < 12; ++a)
    for (int b = a + 1; b < 12; ++b) clique.push_back({a, b});
  check(from_edges(12, clique), 3, 2);
  const Csr g = grid(8);
  std::vector<int32_t> c32(g.crow.begin(), g.crow.end()), k32(g.col.begin(), g.col.end());
  const auto o =
      nested_dissection<int32_t>(g.n, c32.data(), k32.data(), 2, 4, NdLayout::BottomUp, 1);
  EXPECT_EQ(o.perm.size(), 64u);
  EXPECT_THROW(
      nested_dissection<int64_t>(g.n, g.crow.data(), g.col.data(), 0, 4, NdLayout::BottomUp, 1),
      std::invalid_argument);
}
