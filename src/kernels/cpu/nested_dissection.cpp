// Nested dissection by BFS level structures (see nested_dissection.h).
#include "kernels/cpu/nested_dissection.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <stdexcept>

namespace dsla::kernels::cpu {

namespace {

using V = int32_t;

// Parts larger than this are ordered as separate OpenMP tasks.
constexpr size_t kTaskMin = 8192;
// Pseudo-peripheral restarts per bisection (bench/NOTES-direct.md: more changed poisson2d:1024's
// fill by 0.4 % for 15 % more ordering time).
constexpr int kRestarts = 1;
// A bisection's separator level leaves (50 ± 100 kSlack) % of the part before it.
constexpr double kSlack = 0.1;

// Per-vertex state shared by all tasks. Every active part labels its vertices with its own id,
// so tasks on disjoint parts write disjoint entries; a BFS reads its neighbours' labels, which
// another task may be changing from one foreign id to another (never to ours): relaxed atomics.
struct State {
  std::vector<int64_t> xadj;
  std::vector<V> adj;
  std::vector<int32_t> part, lev;
  std::atomic<int32_t> next_id{1};
  int64_t leaf = 64;
  double top_slack = kSlack;  // the same for the first bisection

  int64_t deg(V v) const { return xadj[v + 1] - xadj[v]; }
  int32_t label(V v) const { return __atomic_load_n(&part[v], __ATOMIC_RELAXED); }
  void set_label(V v, int32_t id) { __atomic_store_n(&part[v], id, __ATOMIC_RELAXED); }
  void relabel(const std::vector<V>& vs, int32_t id) {
    for (V v : vs) set_label(v, id);
  }
  int32_t new_id() { return next_id.fetch_add(1, std::memory_order_relaxed); }
};

// BFS over the vertices labelled `in`, from src (labelled `in`): relabels every vertex it reaches
// to `out` (so the label doubles as the visited mark: one load per neighbour, no reset pass),
// sets its lev, and appends it to `order`, level j starting at ls[j] (plus the end).
void bfs(State& s, int32_t in, int32_t out, V src, std::vector<V>& order,
         std::vector<int64_t>& ls) {
  const size_t begin = order.size();
  ls.assign(1, static_cast<int64_t>(begin));
  s.set_label(src, out);
  s.lev[src] = 0;
  order.push_back(src);
  size_t head = begin;
  int32_t cur = 0;
  while (head < order.size()) {
    const V v = order[head];
    if (s.lev[v] != cur) {  // first vertex of the next level
      ls.push_back(static_cast<int64_t>(head));
      cur = s.lev[v];
    }
    ++head;
    for (int64_t e = s.xadj[v]; e < s.xadj[v + 1]; ++e) {
      const V w = s.adj[e];
      if (s.label(w) == in) {
        s.set_label(w, out);
        s.lev[w] = cur + 1;
        order.push_back(w);
      }
    }
  }
  ls.push_back(static_cast<int64_t>(order.size()));
}

// Splits the part S (labelled id, |S| >= 2) into A, B and a separator between them. Leaves
// S's vertices with labels the caller replaces (relabel).
void bisect(State& s, const std::vector<V>& S, int32_t id, double slack, std::vector<V>& A,
            std::vector<V>& B, std::vector<V>& sep) {
  V src = S[0];
  for (V v : S)
    if (s.deg(v) < s.deg(src)) src = v;
  std::vector<V> order, o2;
  std::vector<int64_t> ls, l2;
  int32_t cur = s.new_id();
  bfs(s, id, cur, src, order, ls);
  if (order.size() < S.size()) {
    // Disconnected: whole components, each to the smaller side (B gets the second one).
    A = order;
    for (V v : S) {
      if (s.label(v) != id) continue;  // reached already
      o2.clear();
      bfs(s, id, cur, v, o2, l2);
      auto& dst = B.size() < A.size() ? B : A;
      dst.insert(dst.end(), o2.begin(), o2.end());
    }
    return;
  }
  // Pseudo-peripheral source: restart from a minimum-degree vertex of the last level while the
  // eccentricity grows (at most three times).
  for (int it = 0; it < kRestarts; ++it) {
    const int64_t nl = static_cast<int64_t>(ls.size()) - 1;
    V u = order[ls[nl - 1]];
    for (int64_t k = ls[nl - 1]; k < ls[nl]; ++k)
      if (s.deg(order[k]) < s.deg(u)) u = order[k];
    o2.clear();
    const int32_t next = s.new_id();
    bfs(s, cur, next, u, o2, l2);
    cur = next;
    if (l2.size() > ls.size()) {
      order.swap(o2);
      ls.swap(l2);
      continue;
    }
    // Keep the previous structure: restore its levels.
    for (size_t j = 0; j + 1 < ls.size(); ++j)
      for (int64_t k = ls[j]; k < ls[j + 1]; ++k) s.lev[order[k]] = static_cast<int32_t>(j);
    break;
  }
  const int64_t n = static_cast<int64_t>(S.size()), nl = static_cast<int64_t>(ls.size()) - 1;
  // The separator level: the smallest one whose predecessors hold (50 ± 100 slack) % of the
  // part; else the level where the running count crosses half.
  int64_t m = -1;
  for (int64_t j = 0; j < nl; ++j) {
    const double before = static_cast<double>(ls[j] - ls[0]);
    if (std::abs(2.0 * before - static_cast<double>(n)) > 2.0 * slack * static_cast<double>(n))
      continue;
    if (m < 0 || ls[j + 1] - ls[j] < ls[m + 1] - ls[m]) m = j;
  }
  if (m < 0) {
    m = 0;
    while (m + 1 < nl && 2 * (ls[m + 1] - ls[0]) <= n) ++m;
  }
  const int32_t lm = static_cast<int32_t>(m);
  // Thinning: a separator vertex without a neighbour beyond the separator joins A; then one
  // without a neighbour in A joins B.
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t k = ls[m]; k < ls[m + 1]; ++k) {
      const V v = order[k];
      if (s.lev[v] != lm) continue;
      bool other = false;
      for (int64_t e = s.xadj[v]; e < s.xadj[v + 1] && !other; ++e) {
        const V w = s.adj[e];
        if (s.label(w) != cur) continue;
        other = pass == 0 ? s.lev[w] > lm : s.lev[w] < lm;
      }
      if (!other) s.lev[v] = pass == 0 ? lm - 1 : lm + 1;
    }
  }
  for (V v : order) {
    const int32_t l = s.lev[v];
    (l < lm ? A : l > lm ? B : sep).push_back(v);
  }
}

// Bisects S (labelled id; a part of one vertex goes to A whole), frees it, and labels the halves
// with fresh ids ia and ib for their own recursion.
void split(State& s, std::vector<V> S, int32_t id, std::vector<V>& A, std::vector<V>& B,
           std::vector<V>& sep, int32_t& ia, int32_t& ib, double slack = kSlack) {
  if (S.size() >= 2) {
    bisect(s, S, id, slack, A, B, sep);
  } else {
    A = std::move(S);
  }
  ia = s.new_id();
  ib = s.new_id();
  s.relabel(A, ia);
  s.relabel(B, ib);
}

// Nested-dissection order of S (labelled id) appended to `out`: halves, then the separator.
void order_part(State& s, std::vector<V> S, int32_t id, std::vector<V>& out) {
  if (static_cast<int64_t>(S.size()) <= s.leaf) {
    out.insert(out.end(), S.begin(), S.end());
    return;
  }
  std::vector<V> A, B, sep;
  int32_t ia, ib;
  split(s, std::move(S), id, A, B, sep, ia, ib);
  if (A.empty() || B.empty()) {  // no split (a clique-like part): keep its BFS order
    out.insert(out.end(), A.begin(), A.end());
    out.insert(out.end(), B.begin(), B.end());
    out.insert(out.end(), sep.begin(), sep.end());
    return;
  }
  std::vector<V> oa, ob;
  const bool task = A.size() + B.size() > kTaskMin;
  // The task takes A by reference: this frame waits for it before A goes out of scope.
#pragma omp task default(none) shared(s, A, oa) firstprivate(ia) if (task)
  order_part(s, std::move(A), ia, oa);
  order_part(s, std::move(B), ib, ob);
#pragma omp taskwait
  out.insert(out.end(), oa.begin(), oa.end());
  out.insert(out.end(), ob.begin(), ob.end());
  out.insert(out.end(), sep.begin(), sep.end());
}

// The top levels of the dissection as a heap-indexed complete tree: internal nodes hold their
// separator, the nodes at depth levels-1 their subdomain's full order.
void order_tree(State& s, std::vector<V> S, int32_t id, int depth, int levels, int64_t node,
                std::vector<std::vector<V>>& nodes) {
  if (depth == levels - 1) {
    order_part(s, std::move(S), id, nodes[node]);
    return;
  }
  std::vector<V> A, B, sep;
  int32_t ia, ib;
  split(s, std::move(S), id, A, B, sep, ia, ib, depth == 0 ? s.top_slack : kSlack);
  nodes[node] = std::move(sep);
  const bool task = A.size() + B.size() > kTaskMin;
#pragma omp task default(none) shared(s, A, nodes) firstprivate(ia, depth, levels, node) if (task)
  order_tree(s, std::move(A), ia, depth + 1, levels, 2 * node + 1, nodes);
  order_tree(s, std::move(B), ib, depth + 1, levels, 2 * node + 2, nodes);
#pragma omp taskwait
}

}  // namespace

template <class I>
NdOrdering nested_dissection(int64_t n, const I* crow, const I* col, int tree_levels,
                             int64_t leaf_size, NdLayout layout, int threads, double top_balance) {
  if (n < 0 || n >= std::numeric_limits<V>::max())
    throw std::invalid_argument("dsla: nested_dissection needs 0 <= n < 2^31");
  if (tree_levels < 1 || tree_levels > 24)
    throw std::invalid_argument("dsla: nested_dissection: tree_levels must be in [1, 24]");
  State s;
  s.leaf = std::max<int64_t>(1, leaf_size);
  if (!(top_balance >= 0.0 && top_balance <= 0.5))
    throw std::invalid_argument("dsla: nested_dissection: top_balance must be in [0, 0.5]");
  s.top_slack = top_balance;
  const int nt = std::max(1, threads);
  s.xadj.assign(n + 1, 0);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = 0;
    for (I q = crow[i]; q < crow[i + 1]; ++q) c += static_cast<int64_t>(col[q]) != i;
    s.xadj[i + 1] = c;
  }
  for (int64_t i = 0; i < n; ++i) s.xadj[i + 1] += s.xadj[i];
  s.adj.resize(s.xadj[n]);
  s.part.resize(n);
  s.lev.resize(n);
  const int32_t root = s.new_id();
  std::vector<V> all(n);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    int64_t t = s.xadj[i];
    for (I q = crow[i]; q < crow[i + 1]; ++q)
      if (static_cast<int64_t>(col[q]) != i) s.adj[t++] = static_cast<V>(col[q]);
    all[i] = static_cast<V>(i);
    s.part[i] = root;
    s.lev[i] = -1;
  }
  const int64_t parts = (int64_t(1) << tree_levels) - 1;
  std::vector<std::vector<V>> nodes(parts);
#pragma omp parallel num_threads(nt)
#pragma omp single
  order_tree(s, std::move(all), root, 0, tree_levels, 0, nodes);

  NdOrdering r;
  r.levels = tree_levels;
  r.perm.reserve(n);
  r.tree.reserve(parts);
  auto emit = [&](int64_t node) {
    r.perm.insert(r.perm.end(), nodes[node].begin(), nodes[node].end());
    r.tree.push_back(static_cast<int64_t>(nodes[node].size()));
  };
  const int64_t first_leaf = (int64_t(1) << (tree_levels - 1)) - 1;
  for (int64_t node = 0; node < first_leaf; ++node)
    r.separators += static_cast<int64_t>(nodes[node].size());
  if (layout == NdLayout::BottomUp) {
    for (int d = tree_levels - 1; d >= 0; --d)
      for (int64_t node = (int64_t(1) << d) - 1; node < (int64_t(1) << (d + 1)) - 1; ++node)
        emit(node);
  } else {
    // Iterative postorder over the heap-indexed tree.
    std::vector<std::pair<int64_t, bool>> stack{{0, false}};
    while (!stack.empty()) {
      auto [node, expanded] = stack.back();
      stack.pop_back();
      if (node >= first_leaf || expanded) {
        emit(node);
        continue;
      }
      stack.push_back({node, true});
      stack.push_back({2 * node + 2, false});
      stack.push_back({2 * node + 1, false});
    }
  }
  if (static_cast<int64_t>(r.perm.size()) != n)
    throw std::logic_error("dsla: nested_dissection lost vertices (internal error)");
  return r;
}

template NdOrdering nested_dissection<int32_t>(int64_t, const int32_t*, const int32_t*, int,
                                               int64_t, NdLayout, int, double);
template NdOrdering nested_dissection<int64_t>(int64_t, const int64_t*, const int64_t*, int,
                                               int64_t, NdLayout, int, double);

}  // namespace dsla::kernels::cpu
