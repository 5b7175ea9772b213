// CUDA kernels of the one Chebyshev sweep (src/solve/precond/smoothing.h) and of its spectral
// estimate (no torch): the CUDA twins of kernels/cpu/chebyshev_kernels.h. One system, one
// right-hand side; the coefficients and scalars stay on the device.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cuda {

// The passes of kernels::cpu::cheb_first / cheb_step, the coefficients read from device memory
// (c0; ca, cb).
template <class V, class I>
void cheb_first(const CsrView<V, I>& A, const ChebyshevVectors<V>& v, const V* c0,
                cudaStream_t stream);
template <class V, class I>
void cheb_step(const CsrView<V, I>& A, const ChebyshevVectors<V>& v, const V* ca, const V* cb,
               int mode, cudaStream_t stream);

// ρ(D⁻¹A) of a symmetric matrix with dinv > 0 (B = 1): K Lanczos steps on D^{-1/2} A D^{-1/2},
// the recurrence of kernels::cpu::lanczos_tridiagonal (same start vector, same breakdown rule),
// two fused kernels per step. work: lanczos_workspace(n) doubles; ticket: one unsigned, 0 on
// entry and on exit. Outputs on the device: alpha [K] (the tridiagonal's diagonal) and
// nrm [K + 1] (nrm[j] = squared norm of the j-th unnormalized Lanczos vector; the caller forms
// beta_j = sqrt(nrm[j + 1]) unless step j broke down). Nothing synchronizes.
int64_t lanczos_workspace(int64_t n);
template <class V, class I>
void lanczos_tridiagonal(const CsrView<V, I>& A, const V* dinv, int64_t K, double* work,
                         unsigned* ticket, double* alpha, double* nrm, cudaStream_t stream);

}  // namespace dsla::kernels::cuda
