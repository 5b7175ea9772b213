// Nested-dissection fill-reducing ordering of a symmetric sparsity pattern (no torch).
//
// Bisection by BFS level structures: from a pseudo-peripheral vertex of the part, the level
// that splits the part nearest to half (the smallest level within 40-60 %) is the separator,
// thinned by moving separator vertices with no neighbour on one side to the other side.
// Disconnected parts are split by whole components. The two halves are ordered recursively
// (in parallel, OpenMP tasks) down to pieces of `leaf_size` vertices, which keep their BFS
// order; each separator comes after its two halves.
//
// The top `tree_levels` levels of the dissection form a complete binary tree of 2^levels - 1
// parts (2^(levels-1) subdomains and the separators above them) laid out the way cuDSS takes a
// user ordering (CUDSS_DATA_USER_PERM + CUDSS_DATA_USER_ND_PARTITION_TREE, see
// bench/probes/cudss_phase_probe.cpp): `tree[k]` is the size of the k-th part in the order
// the parts occupy `perm`: BottomUp is cuDSS's layout (measured: cuDSS's own tree lists its
// 2^(levels-1) subdomains first; a Postorder tree made its analysis fail). Postorder is the
// classic elimination order (CHOLMOD takes any valid order, without a tree).
#pragma once

#include <cstdint>
#include <vector>

namespace dsla::kernels::cpu {

enum class NdLayout {
  // Postorder: left subtree, right subtree, separator (recursively).
  Postorder,
  // All subdomains left to right, then the separators level by level from the bottom up.
  BottomUp,
};

struct NdOrdering {
  std::vector<int64_t> perm;  // perm[new] = old
  std::vector<int64_t> tree;  // 2^levels - 1 part sizes in perm order (sum = n)
  int levels = 0;
  int64_t separators = 0;  // vertices in the tree's separators (its internal parts)
};

// crow/col: the full symmetric pattern (both triangles; diagonal entries are ignored), 0-based.
// n must be < 2^31. threads: OpenMP threads for the parallel recursion. top_balance: the first
// bisection takes the smallest level that leaves (50 ± 100 top_balance) % of the vertices before
// it (the others ± 10 %): a smaller value evens out the two halves at the price of a longer
// separator (the split Cholesky factors the halves on two threads).
template <class I>
NdOrdering nested_dissection(int64_t n, const I* crow, const I* col, int tree_levels,
                             int64_t leaf_size, NdLayout layout, int threads,
                             double top_balance = 0.1);

}  // namespace dsla::kernels::cpu
