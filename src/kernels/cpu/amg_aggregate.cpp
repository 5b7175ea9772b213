// AMG aggregation kernels (see amg_aggregate.h).
#include "kernels/cpu/amg_aggregate.h"

#include <omp.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace dsla::kernels::cpu {

namespace {

constexpr int64_t kIn = std::numeric_limits<int64_t>::max();  // key of an MIS vertex
constexpr int64_t kOut = -1;                                  // key of a decided non-root

// out[v] = max(in[v], max over strong neighbours u of in[u]).
template <class I>
void row_max(int64_t n, const I* crow, const I* col, const int64_t* in, int64_t* out,
             int nthreads) {
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) {
    int64_t m = in[v];
    for (I p = crow[v]; p < crow[v + 1]; ++p) m = std::max(m, in[col[p]]);
    out[v] = m;
  }
}

template <class I>
bool has_neighbour(int64_t v, const I* crow, const I* col) {
  for (I p = crow[v]; p < crow[v + 1]; ++p)
    if (col[p] != v) return true;
  return false;
}

}  // namespace

template <class I>
int64_t amg_aggregate_mis2(int64_t n, const I* crow, const I* col, uint64_t seed, int64_t* agg,
                           int64_t* work, int64_t* rounds, int nthreads) {
  int64_t* key = work;         // current state: kIn, kOut or the priority of an undecided vertex
  int64_t* m1 = work + n;      // max over distance <= 1
  int64_t* m2 = work + 2 * n;  // max over distance <= 2
  int64_t undecided = 0;
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024) reduction(+ : undecided)
  for (int64_t v = 0; v < n; ++v) {
    const bool live = has_neighbour(v, crow, col);
    key[v] = live ? amg_mis2_key(v, seed) : kOut;
    undecided += live;
  }
  int64_t r = 0;
  while (undecided > 0) {
    ++r;
    row_max(n, crow, col, key, m1, nthreads);
    row_max(n, crow, col, m1, m2, nthreads);
    undecided = 0;
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024) reduction(+ : undecided)
    for (int64_t v = 0; v < n; ++v) {
      const int64_t k = key[v];
      if (k == kIn || k == kOut) continue;
      if (m2[v] == kIn) {
        key[v] = kOut;
      } else if (m2[v] == k) {
        key[v] = kIn;
      } else {
        ++undecided;
      }
    }
  }
  if (rounds) *rounds = r;
  // Number the roots in index order.
  int64_t n_agg = 0;
  for (int64_t v = 0; v < n; ++v) agg[v] = key[v] == kIn ? n_agg++ : -1;
    // Distance 1: m1[v] = largest root key among v's neighbours (the root's own key is kept in m2).
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) m2[v] = key[v] == kIn ? amg_mis2_key(v, seed) : kOut;
  row_max(n, crow, col, m2, m1, nthreads);
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) key[v] = agg[v] >= 0 || m1[v] < 0 ? m2[v] : m1[v];
  // key[v] is now the root key of v's aggregate (or kOut). Distance 2: the largest among the
  // neighbours' root keys.
  row_max(n, crow, col, key, m1, nthreads);
  // Roots are never written below, so reading agg[root] races with nothing.
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) {
    if (agg[v] >= 0) continue;
    const int64_t k = key[v] >= 0 ? key[v] : m1[v];
    if (k >= 0) agg[v] = agg[k & 0xFFFFFFFFll];
  }
  return n_agg;
}

template <class I>
int64_t amg_aggregate_greedy(int64_t n, const I* crow, const I* col, int64_t* agg) {
  std::fill(agg, agg + n, -1);
  int64_t n_agg = 0;
  // Pass 1: a free vertex whose strong neighbours are all free roots a new aggregate with them.
  for (int64_t v = 0; v < n; ++v) {
    if (agg[v] >= 0 || !has_neighbour(v, crow, col)) continue;
    bool free = true;
    for (I p = crow[v]; p < crow[v + 1] && free; ++p) free = agg[col[p]] < 0;
    if (!free) continue;
    agg[v] = n_agg;
    for (I p = crow[v]; p < crow[v + 1]; ++p) agg[col[p]] = n_agg;
    ++n_agg;
  }
  // Pass 2: attach free vertices to a neighbouring aggregate (the first met, by column order).
  std::vector<int64_t> next(agg, agg + n);
  for (int64_t v = 0; v < n; ++v) {
    if (agg[v] >= 0) continue;
    for (I p = crow[v]; p < crow[v + 1]; ++p) {
      if (agg[col[p]] >= 0) {
        next[v] = agg[col[p]];
        break;
      }
    }
  }
  std::copy(next.begin(), next.end(), agg);
  // Pass 3: leftovers with neighbours form aggregates with their free neighbours.
  for (int64_t v = 0; v < n; ++v) {
    if (agg[v] >= 0 || !has_neighbour(v, crow, col)) continue;
    agg[v] = n_agg;
    for (I p = crow[v]; p < crow[v + 1]; ++p)
      if (agg[col[p]] < 0) agg[col[p]] = n_agg;
    ++n_agg;
  }
  return n_agg;
}

#define DSLA_INST(I)                                                                      \
  template int64_t amg_aggregate_mis2<I>(int64_t, const I*, const I*, uint64_t, int64_t*, \
                                         int64_t*, int64_t*, int);                        \
  template int64_t amg_aggregate_greedy<I>(int64_t, const I*, const I*, int64_t*);
DSLA_INST(int32_t)
DSLA_INST(int64_t)
#undef DSLA_INST

}  // namespace dsla::kernels::cpu
