// CPU kernels for AMG aggregation on raw CSR arrays (no torch).
//
// The strength graph is given in CSR (crow, col; n rows); diagonal entries, if present, are
// ignored. Output: agg[i] = aggregate id of vertex i in [0, n_agg), or -1 for vertices without a
// strong neighbour (left out of the prolongator: the smoother handles them). Return: n_agg.
//
// mis2: deterministic parallel aggregation in three phases; every decision reads only the
// previous pass's state, so the result does not depend on the thread count, and the CUDA
// kernels (src/kernels/cuda/amg_aggregate.cu) produce the same aggregates.
//   1. Roots = a distance-2 maximal independent set (Luby-style rounds with hashed keys
//      key(v) = hash(v, seed) << 32 | v: a vertex joins when its key is the largest among the
//      undecided vertices within distance 2 and no root is within distance 2). Each root's
//      neighbours join it.
//   2. The vertices left over get a second MIS-2 on the subgraph they induce (keys from
//      seed + 1); a new root with at least kAmgMis2MinFree (3) free neighbours aggregates them.
//   3. Each vertex still free joins the smallest neighbouring aggregate (ties: the larger root
//      priority, then the larger root index).
//   Roots are numbered in index order.
// Compared with one MIS-2 pass (whose random roots leave gaps that the attach step turns into
// oversized aggregates), phase 2 gives aggregates close to the greedy ones (~9 rows on 9-point
// coarse stencils instead of ~13), and PCG iteration counts that stay flat with the size.
// greedy: the classic serial three-pass aggregation (roots whose strong neighbours are all free,
// then attach to a neighbouring aggregate, then leftovers form aggregates with their free
// neighbours). Serial, cheap, slightly smaller aggregates than mis2.
#pragma once

#include <cstdint>

// The priority functions are shared with the CUDA kernels.
#ifdef __CUDACC__
#define DSLA_HD __host__ __device__
#else
#define DSLA_HD
#endif

namespace dsla::kernels::cpu {

// The priority of vertex v: a hash in [0, 2^31 - 1) built from products that stay below 2^62, so
// the device-generic ATen path computes the same numbers with int64 tensor arithmetic.
DSLA_HD inline int64_t amg_mis2_priority(int64_t v, uint64_t seed) {
  constexpr int64_t p = 2147483647;  // 2^31 - 1
  int64_t h = ((v % p) * 1103515245 + static_cast<int64_t>((seed * 7919 + 12345) % p)) % p;
  h ^= h >> 15;
  h = (h * 1597334677 + 11) % p;
  h ^= h >> 13;
  return h;
}
// Unique key of vertex v (v < 2^32): priority in the high bits, v in the low ones.
DSLA_HD inline int64_t amg_mis2_key(int64_t v, uint64_t seed) {
  return (amg_mis2_priority(v, seed) << 32) | v;
}

// Phase 2 keeps a new root only when it has at least this many free neighbours (2 gives more,
// smaller aggregates and a higher operator complexity; 4 or more leaves most gaps to phase 3).
constexpr int64_t kAmgMis2MinFree = 3;

// work: 4 * n int64 scratch. Returns the number of MIS-2 rounds in *rounds (when not null).
template <class I>
int64_t amg_aggregate_mis2(int64_t n, const I* crow, const I* col, uint64_t seed, int64_t* agg,
                           int64_t* work, int64_t* rounds, int nthreads);

template <class I>
int64_t amg_aggregate_greedy(int64_t n, const I* crow, const I* col, int64_t* agg);

}  // namespace dsla::kernels::cpu
