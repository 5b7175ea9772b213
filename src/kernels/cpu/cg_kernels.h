// Fused CPU kernels for (Jacobi-)preconditioned CG on raw arrays (no torch). Vectors are
// [batch, n, k] row-major; per-system scalars are [batch, k] of the real type R matching V.
// Each kernel is one pass over its vectors with the dot products fused in; reductions go
// through per-thread partials summed in thread order (deterministic for a fixed thread count)
// and accumulate in double.
#pragma once

#include <complex>
#include <cstdint>

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

// q = A p;  pq = Re <p, q>. vals_bstride = 0 broadcasts one matrix over the batch.
template <class V, class I>
void cg_spmv_dot(int64_t rows, int64_t k, int64_t batch, const I* crow, const I* col, const V* vals,
                 int64_t vals_bstride, const V* p, V* q, real_of_t<V>* pq, int nthreads);

// alpha = rz / pq (0 where inactive or pq == 0); x += alpha p; r -= alpha q;
// rz_new = Re <r, dinv r> (Re <r, r> when dinv is null); rr = Re <r, r>.
// dinv: [batch or 1, n] (dinv_bstride n or 0); active: [batch, k] 0/1 or null (all active).
template <class V>
void cg_update(int64_t n, int64_t k, int64_t batch, V* x, V* r, const V* p, const V* q,
               const V* dinv, int64_t dinv_bstride, const real_of_t<V>* rz, const real_of_t<V>* pq,
               const real_of_t<V>* active, real_of_t<V>* rz_new, real_of_t<V>* rr, int nthreads);

// beta = rz_new / rz (0 where rz == 0); p = z + beta p with z = dinv r (or `z` when given, or r
// when both are null); rz = rz_new. Inactive systems keep p and rz.
template <class V>
void cg_direction(int64_t n, int64_t k, int64_t batch, V* p, const V* r, const V* z, const V* dinv,
                  int64_t dinv_bstride, real_of_t<V>* rz, const real_of_t<V>* rz_new,
                  const real_of_t<V>* active, int nthreads);

}  // namespace dsla::kernels::cpu
