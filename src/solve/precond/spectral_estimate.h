// The one estimate of D⁻¹A's spectrum, for every Chebyshev polynomial (the preconditioner, the AMG
// smoother) and the AMG prolongator damping: K Lanczos steps on D^{-1/2} A D^{-1/2} (similar to
// D⁻¹A) when A is Hermitian with a real positive diagonal, else K steps of the power iteration
// on D⁻¹A. One start vector (v_i = frac(0.618.. i + 0.25) − 0.5, deterministic, no RNG state)
// and one breakdown rule (step j breaks down when ‖w_j‖ <= 1e-10 |α_j|: the tridiagonal ends
// there, so no spurious zero Ritz value) on every device. Step kernels: the CPU kernel
// (kernels/cpu/chebyshev_kernels.h) and a registered device slot for one real system; ATen
// otherwise (batches, complex).
#pragma once

#include <dsla/linear_operator.h>
#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include <cstdint>

#include "core/device_stub.h"

namespace dsla::precond::detail {

struct SpectrumEstimate {
  // Per batch member, float64 on the CPU: the extreme Ritz values (lmax from below: callers pad
  // it); with the power iteration, lmax = ‖D⁻¹A v_K‖ and lmin is undefined.
  at::Tensor lmin, lmax;
  bool lanczos = false;
};

// values [B, nnz] in a's order, dinv [B, n, 1] (the inverse diagonal), `steps` >= 1 (clamped to
// n). `hermitian`: the caller knows every member is Hermitian; Lanczos then runs when dinv is
// real and positive. Synchronizes once (the small tridiagonal eigenproblem runs on the host).
SpectrumEstimate estimate_spectrum(const Pattern& a, const at::Tensor& values,
                                   const at::Tensor& dinv, int64_t steps, bool hermitian);

// The same estimate of any operator, with every dot product and norm through A.space() (a
// distributed A: all-reduces; the step count from the global size, the start vector by global
// row): ATen Lanczos / power steps on A.apply. dinv [B, n, 1] holds this process's rows.
SpectrumEstimate estimate_spectrum(const LinearOperator& A, const at::Tensor& dinv, int64_t steps,
                                   bool hermitian);

// Device Lanczos for one real system (values [1, nnz], dinv [1, n, 1]): K steps from the start
// vector above, alpha [1, K] and beta [1, K − 1] on the host as float64 with beta_j = 0 at a
// breakdown (the CPU kernel's output exactly). Registered by spectral_estimate_cuda.cpp.
using LanczosFn = void(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv,
                       int64_t K, at::Tensor& alpha, at::Tensor& beta);
extern device::Stub<LanczosFn> lanczos_stub;

}  // namespace dsla::precond::detail
