// CPU kernels for the AMG setup and smoothers on raw CSR arrays (no torch). One batch member,
// one right-hand side: the hot case. Batched / multi-RHS levels use the ATen path.
#pragma once

#include <cstdint>

namespace dsla::kernels::cpu {

// Strength of connection, pass 1: keep[p] = 1 when entry p = (i, j) is off-diagonal, nonzero and
// |a_ij| >= theta sqrt(|a_ii a_jj|) (diag: |a_ii| per row); count[i] = kept entries of row i.
template <class V, class I>
void amg_strength_mark(int64_t n, const I* crow, const I* col, const V* vals, const V* absdiag,
                       double theta, uint8_t* keep, int64_t* count, int nthreads);
// Pass 2: s_col[s_crow[i] + t] = column of the t-th kept entry of row i.
template <class I>
void amg_strength_fill(int64_t n, const I* crow, const I* col, const uint8_t* keep,
                       const int64_t* s_crow, I* s_col, int nthreads);

// Chebyshev smoothing in fused passes (one SpMV each):
// first: r = b - A x (x null: r = b), d = c0 * dinv * r.
template <class V, class I>
void amg_cheb_first(int64_t n, const I* crow, const I* col, const V* vals, const V* dinv, V c0,
                    const V* b, const V* x, V* r, V* d, int nthreads);
// step: r -= A d; dn = ca * d + cb * dinv * r; then x per mode: 0: x += dn, 1: x += d + dn,
// 2: x = d + dn.
template <class V, class I>
void amg_cheb_step(int64_t n, const I* crow, const I* col, const V* vals, const V* dinv, V ca, V cb,
                   V* r, const V* d, V* dn, V* x, int mode, int nthreads);

// K Lanczos steps on S A S with S = diag(sqrt(dinv)) (similar to D⁻¹A; dinv > 0) from the
// quasi-random start vector v_i = frac(0.618.. i + 0.25) - 0.5: writes the tridiagonal
// coefficients alpha[K], beta[K - 1] (a breakdown continues with zeros).
template <class V, class I>
void amg_lanczos(int64_t n, const I* crow, const I* col, const V* vals, const V* dinv, int64_t K,
                 double* alpha, double* beta, int nthreads);

}  // namespace dsla::kernels::cpu
