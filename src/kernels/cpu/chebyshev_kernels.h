// CPU kernels of the one Chebyshev sweep (src/solve/precond/smoothing.h: preconditioner and AMG
// smoother alike) and of its spectral estimate, on raw CSR arrays (no torch). One system, one
// right-hand side: the hot case; batches and several right-hand sides take the ATen path.
#pragma once

#include <cstdint>

#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cpu {

// Chebyshev smoothing in fused passes (one SpMV each), on v = {dinv, b, x, r, d, dn}:
// first: r = b - A x (x null: r = b), d = c0 * dinv * r.
template <class V, class I>
void cheb_first(const CsrView<V, I>& A, const ChebyshevVectors<V>& v, V c0, int nthreads);
// step: r -= A d; dn = ca * d + cb * dinv * r; then x per mode: 0: x += dn, 1: x += d + dn,
// 2: x = d + dn.
template <class V, class I>
void cheb_step(const CsrView<V, I>& A, const ChebyshevVectors<V>& v, V ca, V cb, int mode,
               int nthreads);

// K Lanczos steps on S A S with S = diag(sqrt(dinv)) (similar to D⁻¹A; dinv > 0) from the
// quasi-random start vector v_i = frac(0.618.. i + 0.25) - 0.5: writes the tridiagonal
// coefficients alpha[K], beta[K - 1] (a breakdown continues with zeros).
template <class V, class I>
void lanczos_tridiagonal(const CsrView<V, I>& A, const V* dinv, int64_t K, double* alpha,
                         double* beta, int nthreads);

}  // namespace dsla::kernels::cpu
