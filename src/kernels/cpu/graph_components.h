// Connected components of the graph of a square sparse pattern (no torch): vertex i has an edge
// to j for every stored entry (i, j), i != j, whatever its value (structural components).
#pragma once

#include <cstdint>

namespace dsla::kernels::cpu {

// Weak components (edges taken both ways: the components of the graph of A + Aᵀ). labels[i] is
// in [0, count), components numbered in the order of their smallest vertex. Returns count.
template <class I>
int64_t weak_components(int64_t n, const I* crow, const I* col, int64_t* labels);

// Strong components of the directed graph i -> j (Tarjan's algorithm, iterative: no recursion
// depth limit). Numbered as weak_components. A matrix is irreducible iff count == 1.
template <class I>
int64_t strong_components(int64_t n, const I* crow, const I* col, int64_t* labels);

}  // namespace dsla::kernels::cpu
