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
  int64_t* key = work;          // MIS state: kIn, kOut or the key of an undecided vertex
  int64_t* m1 = work + n;       // max over distance <= 1 (inside the masked subgraph)
  int64_t* m2 = work + 2 * n;   // max over distance <= 2
  int64_t* own = work + 3 * n;  // root vertex of v's aggregate, -1 = none yet
  int64_t r = 0;
  // One MIS-2 on the subgraph of the vertices with in[v] (a mask fixed during the rounds): key
  // holds the initial keys (kOut outside the subgraph); on return kIn marks the roots.
  auto mis2 = [&](auto in) {
    int64_t undecided = 0;
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024) reduction(+ : undecided)
    for (int64_t v = 0; v < n; ++v) undecided += key[v] != kOut;
    while (undecided > 0) {
      ++r;
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
      for (int64_t v = 0; v < n; ++v) {
        int64_t m = kOut;
        if (in(v)) {
          m = key[v];
          for (I p = crow[v]; p < crow[v + 1]; ++p) m = std::max(m, key[col[p]]);
        }
        m1[v] = m;
      }
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
  };
  // Attach: every vertex v with in(v) takes the root of the neighbour with the largest rk
  // (rk[u] = key of u's root, or kOut); written to m1, then copied to own.
  auto attach_from = [&](const int64_t* rk, auto in) {
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
    for (int64_t v = 0; v < n; ++v) {
      int64_t m = kOut;
      if (in(v))
        for (I p = crow[v]; p < crow[v + 1]; ++p) m = std::max(m, rk[col[p]]);
      m1[v] = m >= 0 ? (m & 0xFFFFFFFFll) : own[v];
    }
    std::copy(m1, m1 + n, own);
  };

  // Phase 1: MIS-2 of the whole graph; aggregates = roots and their neighbours.
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v)
    key[v] = has_neighbour(v, crow, col) ? amg_mis2_key(v, seed) : kOut;
  mis2([](int64_t) { return true; });
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) {
    own[v] = key[v] == kIn ? v : -1;
    m2[v] = key[v] == kIn ? amg_mis2_key(v, seed) : kOut;
  }
  std::copy(m2, m2 + n, key);  // key: root key of roots, kOut elsewhere
  attach_from(key, [&](int64_t v) { return own[v] < 0; });

  // Phase 2: the vertices left (at distance 2 from every phase-1 root) get a second MIS-2 on
  // their own subgraph; a new root with at least kMinNew (3) free neighbours aggregates them.
  // Without it, random MIS-2 roots leave wide gaps that the attach step turns into oversized
  // aggregates (coarsening ratios ~13 instead of ~9 on 9-point coarse stencils).
  constexpr int64_t kMinNew = kAmgMis2MinFree;
  auto free_v = [&](int64_t v) { return own[v] < 0 && has_neighbour(v, crow, col); };
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) key[v] = free_v(v) ? amg_mis2_key(v, seed + 1) : kOut;
  mis2(free_v);
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) {
    int64_t k = kOut;
    if (key[v] == kIn) {
      int64_t c = 0;
      for (I p = crow[v]; p < crow[v + 1]; ++p) c += own[col[p]] < 0 && col[p] != v;
      if (c >= kMinNew) k = amg_mis2_key(v, seed + 1);
    }
    m2[v] = k;
  }
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) {
    if (m2[v] >= 0) own[v] = v;  // (own[v] was -1: only own of free vertices changes)
  }
  std::copy(m2, m2 + n, key);
  attach_from(key, [&](int64_t v) { return own[v] < 0; });

  // Phase 3: the rest joins the smallest neighbouring aggregate (ties: larger root key).
  std::fill(m2, m2 + n, 0);
  for (int64_t v = 0; v < n; ++v)
    if (own[v] >= 0) ++m2[own[v]];
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) {
    int64_t best = -1, bsize = 0, bkey = 0;
    if (own[v] < 0) {
      for (I p = crow[v]; p < crow[v + 1]; ++p) {
        const int64_t o = own[col[p]];
        if (o < 0) continue;
        const int64_t sz = m2[o], k = amg_mis2_priority(o, seed);
        if (best < 0 || sz < bsize || (sz == bsize && (k > bkey || (k == bkey && o > best)))) {
          best = o, bsize = sz, bkey = k;
        }
      }
    }
    m1[v] = best >= 0 ? best : own[v];
  }
  std::copy(m1, m1 + n, own);
  if (rounds) *rounds = r;
  // Number the roots in index order.
  int64_t n_agg = 0;
  for (int64_t v = 0; v < n; ++v) agg[v] = own[v] == v ? n_agg++ : -1;
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t v = 0; v < n; ++v) {
    if (own[v] >= 0 && own[v] != v) agg[v] = agg[own[v]];
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
