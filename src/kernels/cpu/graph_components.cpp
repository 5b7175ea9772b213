// Connected components: union-find for weak components, iterative Tarjan for strong ones.
#include "kernels/cpu/graph_components.h"

#include <algorithm>
#include <vector>

namespace dsla::kernels::cpu {
namespace {

// Renumbers component ids (any values in [0, count)) in the order of each component's smallest
// vertex: scanning vertices upwards meets every component first at its smallest vertex.
int64_t number_by_smallest_vertex(int64_t n, int64_t count, int64_t* labels) {
  std::vector<int64_t> map(static_cast<size_t>(count), -1);
  int64_t next = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t& m = map[static_cast<size_t>(labels[i])];
    if (m < 0) m = next++;
    labels[i] = m;
  }
  return next;
}

}  // namespace

template <class I>
int64_t weak_components(int64_t n, const I* crow, const I* col, int64_t* labels) {
  // Union-find with path halving; the smaller root becomes the parent, so each root is its
  // component's smallest vertex.
  std::vector<int64_t> parent(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) parent[i] = i;
  auto find = [&](int64_t v) {
    while (parent[v] != v) {
      parent[v] = parent[parent[v]];
      v = parent[v];
    }
    return v;
  };
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = crow[i]; p < static_cast<int64_t>(crow[i + 1]); ++p) {
      int64_t a = find(i), b = find(static_cast<int64_t>(col[p]));
      if (a == b) continue;
      if (a > b) std::swap(a, b);
      parent[b] = a;
    }
  }
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = find(i);
    labels[i] = r == i ? count++ : labels[r];  // r < i is labelled already
  }
  return count;
}

template <class I>
int64_t strong_components(int64_t n, const I* crow, const I* col, int64_t* labels) {
  constexpr int64_t kUnseen = -1;
  std::vector<int64_t> index(static_cast<size_t>(n), kUnseen), low(static_cast<size_t>(n));
  std::vector<char> on_stack(static_cast<size_t>(n), 0);
  std::vector<int64_t> stack;  // Tarjan's vertex stack
  struct Frame {
    int64_t v, next;  // vertex, its next edge to look at
  };
  std::vector<Frame> calls;  // the explicit call stack of the depth-first search
  int64_t counter = 0, count = 0;
  auto visit = [&](int64_t v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = 1;
    calls.push_back({v, static_cast<int64_t>(crow[v])});
  };
  for (int64_t s = 0; s < n; ++s) {
    if (index[s] != kUnseen) continue;
    visit(s);
    while (!calls.empty()) {
      const int64_t v = calls.back().v;
      const int64_t p = calls.back().next;
      if (p < static_cast<int64_t>(crow[v + 1])) {
        calls.back().next = p + 1;
        const int64_t w = static_cast<int64_t>(col[p]);
        if (index[w] == kUnseen) {
          visit(w);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      // All edges of v seen: v roots a component when nothing below it reached higher.
      if (low[v] == index[v]) {
        int64_t w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = 0;
          labels[w] = count;
        } while (w != v);
        ++count;
      }
      calls.pop_back();
      if (!calls.empty()) {
        const int64_t u = calls.back().v;
        low[u] = std::min(low[u], low[v]);
      }
    }
  }
  return number_by_smallest_vertex(n, count, labels);
}

template int64_t weak_components<int32_t>(int64_t, const int32_t*, const int32_t*, int64_t*);
template int64_t weak_components<int64_t>(int64_t, const int64_t*, const int64_t*, int64_t*);
template int64_t strong_components<int32_t>(int64_t, const int32_t*, const int32_t*, int64_t*);
template int64_t strong_components<int64_t>(int64_t, const int64_t*, const int64_t*, int64_t*);

}  // namespace dsla::kernels::cpu
