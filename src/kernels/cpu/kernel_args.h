// Argument groups shared by the CPU and CUDA kernels (torch-free, trivially copyable, so the CUDA
// side passes them to __global__ functions by value). A kernel entry point takes a matrix as one
// CsrView and a set of vectors or scalars as one struct, not as a dozen raw pointers in a row
// whose order a caller must get right by counting.
#pragma once

#include <cstdint>

namespace dsla::kernels {

// The pattern of a CSR matrix: `rows` rows, row pointers crow[rows + 1], columns col[crow[rows]].
template <class I>
struct CsrPattern {
  int64_t rows = 0;
  const I* crow = nullptr;
  const I* col = nullptr;
};

// A CSR matrix, or a batch of value sets on one pattern: member b's values start at
// vals + b * vals_bstride (vals_bstride 0: one matrix shared by the whole batch).
template <class V, class I>
struct CsrView {
  int64_t rows = 0;
  const I* crow = nullptr;
  const I* col = nullptr;
  const V* vals = nullptr;
  int64_t vals_bstride = 0;

  CsrPattern<I> pattern() const { return {rows, crow, col}; }
};

// A CSR matrix whose values a kernel writes (the pattern is given).
template <class V, class I>
struct CsrOut {
  int64_t rows = 0;
  const I* crow = nullptr;
  const I* col = nullptr;
  V* vals = nullptr;
  int64_t vals_bstride = 0;
};

// A batch of dense row-major blocks: member b starts at data + b * bstride (bstride 0: one block
// shared by the whole batch).
template <class T>
struct Batched {
  T* data = nullptr;
  int64_t bstride = 0;
};

// A block of vectors [batch, n, k], row-major: the shape every step kernel of a block method
// shares (per-system scalars are [batch, k]).
struct BlockShape {
  int64_t n = 0;
  int64_t k = 1;
  int64_t batch = 1;
};

// The vectors of (Jacobi-)preconditioned CG (src/solve/krylov/cg_steps.h). Each step reads and
// writes the members its comment names; the others may be null. dinv: [batch or 1, n] of D (the
// value type on the CPU, its real type on CUDA) with batch stride dinv_bstride (0 or n), or null.
template <class V, class D = V>
struct CgVectors {
  V* x = nullptr;
  V* r = nullptr;
  V* p = nullptr;
  const V* q = nullptr;
  const V* z = nullptr;
  const D* dinv = nullptr;
  int64_t dinv_bstride = 0;
};

// The per-system scalars of CG, [batch, k] of the real type R: rz = Re <r, z>, pq = Re <p, A p>,
// rz_new / rr the next rz and ‖r‖², active 0/1 (null: all systems active).
template <class R>
struct CgScalars {
  R* rz = nullptr;
  const R* pq = nullptr;
  R* rz_new = nullptr;
  R* rr = nullptr;
  const R* active = nullptr;
};

// The vectors of one Chebyshev sweep (src/solve/precond/smoothing.h) for one system: right-hand
// side b, iterate x, residual r, the current and next corrections d, dn, the inverse diagonal.
template <class V>
struct ChebyshevVectors {
  const V* dinv = nullptr;
  const V* b = nullptr;
  V* x = nullptr;
  V* r = nullptr;
  V* d = nullptr;
  V* dn = nullptr;
};

}  // namespace dsla::kernels
