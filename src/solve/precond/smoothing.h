// Smoothing preconditioners: a preconditioner M⁻¹ that also iterates from a guess,
// x ← x + M⁻¹ (b − A x). AMG levels hold their smoother as one of these, so the Chebyshev that
// smooths a level is the Chebyshev a user asks for with precond='chebyshev' (one object, one
// spectral estimate, one coefficient derivation, one sweep loop on every device).
#pragma once

#include <ATen/ATen.h>

#include <memory>

#include "core/device_stub.h"
#include "kernels/cpu/kernel_args.h"
#include "solve/precond/common.h"
#include "solve/precond/spectral_estimate.h"

namespace dsla::precond::detail {

class SmoothingPreconditioner : public PrecondBase {
 public:
  // `sweeps` (>= 1) times x ← x + M⁻¹ (b − A x), A the matrix this was built from; b, x
  // [B, n, k]. zero_guess: x is not read and is rebound to a new tensor (the first sweep is
  // x = M⁻¹ b, one product fewer).
  virtual void smooth(const at::Tensor& b, at::Tensor& x, bool zero_guess,
                      int64_t sweeps) const = 0;

 protected:
  using PrecondBase::PrecondBase;
};
using SmootherPtr = std::shared_ptr<const SmoothingPreconditioner>;

// Chebyshev of degree `degree` in D⁻¹A on [hi / ratio, hi], hi = 1.1 est.lmax per member: AMG's
// smoother (the high end of the spectrum only). dinv [B, n, 1] is A's inverse diagonal; est
// comes from estimate_spectrum (AMG shares it with its prolongator damping). `hermitian`: every
// member is (then M⁻¹ is its own adjoint).
SmootherPtr make_chebyshev_smoother(const SparseMatrix& A, const at::Tensor& dinv,
                                    const SpectrumEstimate& est, int64_t degree, double ratio,
                                    bool hermitian);
// The same smoother with A's products from an operator (a distributed level: `shape` is this
// process's square diagonal block, the products and reductions are the operator's).
SmootherPtr make_chebyshev_smoother(const SparseMatrix& shape, LinearOperatorPtr op,
                                    const at::Tensor& dinv, const SpectrumEstimate& est,
                                    int64_t degree, double ratio, bool hermitian);
// Multicolor symmetric Gauss–Seidel ("mc_sgs") or DILU ("dilu") as a smoother (multicolor.cpp):
// symmetric for symmetric A, so pre/post sweeps keep an AMG cycle symmetric.
SmootherPtr make_multicolor_smoother(const SparseMatrix& A, const std::string& kind);
// l1-Jacobi: M⁻¹ = ω diag(Σ_j |a_ij|)⁻¹ (convergent for any SPD A without a spectral estimate).
SmootherPtr make_l1_jacobi_smoother(const SparseMatrix& A, double omega);
// The same with A's products from an operator (a distributed level; `shape` this process's
// square diagonal block) and its rows' Σ_j |a_ij| over all columns, l1 [B, n, 1].
SmootherPtr make_l1_jacobi_smoother(const SparseMatrix& shape, LinearOperatorPtr op,
                                    const at::Tensor& l1, double omega);

// The two fused passes of a Chebyshev sweep for one real system (B = 1, k = 1), one SpMV each
// (kernels/cpu/chebyshev_kernels.h, kernels/cuda/chebyshev_cuda.h). first: r = b − A x (x null: r =
// b), d = c0 D⁻¹ r. step k (1-based): r −= A d, dn = a_k d + b_k D⁻¹ r, then x per mode: 0: x +=
// dn, 1: x += d + dn, 2: x = d + dn. The CPU passes live in chebyshev.cpp; a device registers its
// own (chebyshev_cuda.cpp).
struct ChebyshevPassArgs {
  const Pattern& a;
  const at::Tensor& values;  // [1, nnz]
  const at::Tensor& dinv;    // [1, n, 1]
  // c0, then (a_k, b_k) per extra degree: on the matrix's device in its dtype, and on the host.
  const at::Tensor& coef;
  const double* host_coef;
};
using ChebFirstFn = void(const ChebyshevPassArgs& p, const at::Tensor& b, const at::Tensor* x,
                         at::Tensor& r, at::Tensor& d);
using ChebStepFn = void(const ChebyshevPassArgs& p, int64_t k, at::Tensor& r, const at::Tensor& d,
                        at::Tensor& dn, at::Tensor& x, int mode);
// The kernels' vector group of a pass (null: a member the pass does not use).
template <class V>
kernels::ChebyshevVectors<V> chebyshev_vectors(const ChebyshevPassArgs& p, const at::Tensor* b,
                                               const at::Tensor* x, at::Tensor& r,
                                               const at::Tensor& d, at::Tensor* dn) {
  auto raw = [](const at::Tensor* t) { return t ? static_cast<V*>(t->data_ptr()) : nullptr; };
  kernels::ChebyshevVectors<V> v;
  v.dinv = raw(&p.dinv);
  v.b = raw(b);
  v.x = raw(x);
  v.r = raw(&r);
  v.d = raw(&d);
  v.dn = raw(dn);
  return v;
}
extern device::Stub<ChebFirstFn> cheb_first_stub;
extern device::Stub<ChebStepFn> cheb_step_stub;

}  // namespace dsla::precond::detail
