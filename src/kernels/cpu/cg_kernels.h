// Fused CPU kernels for (Jacobi-)preconditioned CG on raw arrays (no torch). Vectors are
// [batch, n, k] row-major; per-system scalars are [batch, k] of the real type R matching V.
// Each kernel is one pass over its vectors with the dot products fused in; reductions go
// through per-thread partials summed in thread order (deterministic for a fixed thread count)
// and accumulate in double.
#pragma once

#include <complex>
#include <cstdint>

#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cpu {

template <class V>
struct RealOf {
  using type = V;
};
template <class T>
struct RealOf<std::complex<T>> {
  using type = T;
};
template <class V>
using real_of_t = typename RealOf<V>::type;

// q = A p;  pq = Re <p, q> for p, q of `shape` (shape.n == A.rows); A.vals_bstride 0 broadcasts
// one matrix over the batch. X: the vectors' type (float values with double vectors: the
// mixed-precision product, sums in double).
template <class V, class I, class X = V>
void cg_spmv_dot(const CsrView<V, I>& A, const BlockShape& shape, const X* p, X* q,
                 real_of_t<X>* pq, int nthreads);

// alpha = rz / pq (0 where inactive or pq == 0); x += alpha p; r -= alpha q;
// rz_new = Re <r, dinv r> (Re <r, r> when dinv is null); rr = Re <r, r>.
// Reads v.p, v.q, v.dinv, c.rz, c.pq, c.active; writes v.x, v.r, c.rz_new, c.rr.
template <class V>
void cg_update(const BlockShape& shape, const CgVectors<V>& v, const CgScalars<real_of_t<V>>& c,
               int nthreads);

// beta = rz_new / rz (0 where rz == 0); p = z + beta p with z = dinv r (or v.z when given, or r
// when both are null); rz = rz_new. Inactive systems keep p and rz.
// Reads v.r, v.z, v.dinv, c.rz_new, c.active; writes v.p, c.rz.
template <class V>
void cg_direction(const BlockShape& shape, const CgVectors<V>& v, const CgScalars<real_of_t<V>>& c,
                  int nthreads);

}  // namespace dsla::kernels::cpu
