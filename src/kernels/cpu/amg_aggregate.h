// CPU kernels for AMG aggregation on raw CSR arrays (no torch).
//
// The strength graph is given in CSR (crow, col; n rows); diagonal entries, if present, are
// ignored. Output: agg[i] = aggregate id of vertex i in [0, n_agg), or -1 for vertices without a
// strong neighbour (left out of the prolongator: the smoother handles them). Return: n_agg.
//
// mis2: deterministic parallel aggregation from a distance-2 maximal independent set (Luby-style
// rounds on the square graph with hashed priorities; every decision in a round reads only the
// previous round's state, so the result does not depend on the thread count, and the ATen
// formulation in src/solve/amg/aggregate.cpp produces the same aggregates on any device):
//   key(v) = hash(v, seed) << 32 | v; a vertex joins the MIS when its key is the largest among the
//   undecided vertices within distance 2 and no MIS vertex is within distance 2.
//   Roots are numbered in index order. Distance-1 vertices join the adjacent root of largest key;
//   distance-2 vertices join the aggregate of the neighbour whose root key is largest.
// greedy: the classic serial three-pass aggregation (roots whose strong neighbours are all free,
// then attach to a neighbouring aggregate, then leftovers form aggregates with their free
// neighbours). Serial, cheap, slightly smaller aggregates than mis2.
#pragma once

#include <cstdint>

namespace dsla::kernels::cpu {

// The priority of vertex v: a hash in [0, 2^31 - 1) built from products that stay below 2^62, so
// the device-generic ATen path computes the same numbers with int64 tensor arithmetic.
inline int64_t amg_mis2_priority(int64_t v, uint64_t seed) {
  constexpr int64_t p = 2147483647;  // 2^31 - 1
  int64_t h = ((v % p) * 1103515245 + static_cast<int64_t>((seed * 7919 + 12345) % p)) % p;
  h ^= h >> 15;
  h = (h * 1597334677 + 11) % p;
  h ^= h >> 13;
  return h;
}
// Unique key of vertex v (v < 2^32): priority in the high bits, v in the low ones.
inline int64_t amg_mis2_key(int64_t v, uint64_t seed) {
  return (amg_mis2_priority(v, seed) << 32) | v;
}

// work: 3 * n int64 scratch. Returns the number of MIS-2 rounds in *rounds (when not null).
template <class I>
int64_t amg_aggregate_mis2(int64_t n, const I* crow, const I* col, uint64_t seed, int64_t* agg,
                           int64_t* work, int64_t* rounds, int nthreads);

template <class I>
int64_t amg_aggregate_greedy(int64_t n, const I* crow, const I* col, int64_t* agg);

}  // namespace dsla::kernels::cpu
