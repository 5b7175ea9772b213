// Namespace dsla::krylov (not dsla::solve: that name is the public solve function).
// The fused steps of (Jacobi-)preconditioned CG, one function per pass over the vectors.
// Fusing the vector updates with the dot products is what makes CG bandwidth-bound rather than
// launch- or pass-bound; keeping alpha and beta on the device keeps the GPU loop free of host
// synchronization. Implementations: CPU (OpenMP, src/kernels/cpu), CUDA (src/cuda, when
// built), ATen (any device; the reference). Dispatch is in cg_steps.cpp.
//
// Shapes: vectors [B, n, k] contiguous; scalars [B, 1, k] of the real dtype matching the
// values (float for float/complex64, double for double/complex128). `dinv` is the inverse
// diagonal [B', n, 1] (B' in {1, B}) or undefined (no preconditioner / a general one applied
// separately). `active` [B, 1, k] (0/1, same real dtype) freezes converged systems; undefined
// means all active.
//
// The dot products the steps return (pq, rz_new, rr) are sums over the rows given, i.e. local
// partials: the caller reduces them through the operator's VectorSpace before they feed alpha,
// beta or a convergence test (cg.cpp), so the steps serve a distributed space unchanged.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

namespace dsla::krylov {

// q = A p;  pq = Re <p, q> (local partial).
void cg_spmv_dot(const Pattern& pattern, const at::Tensor& values, const at::Tensor& p,
                 at::Tensor& q, at::Tensor& pq);

// alpha = rz / pq (0 where inactive or pq == 0);  x += alpha p;  r -= alpha q;
// rz_new = Re <r, dinv r> (Re <r, r> when dinv is undefined);  rr = Re <r, r> (local partials;
// rz and pq must be reduced ones).
void cg_update(at::Tensor& x, at::Tensor& r, const at::Tensor& p, const at::Tensor& q,
               const at::Tensor& dinv, const at::Tensor& rz, const at::Tensor& pq,
               const at::Tensor& active, at::Tensor& rz_new, at::Tensor& rr);

// beta = rz_new / rz (0 where rz == 0);  p = z + beta p with z = dinv r (or the given z when
// `z` is defined, or r when both are undefined);  rz = rz_new (in place).
void cg_direction(at::Tensor& p, const at::Tensor& r, const at::Tensor& z, const at::Tensor& dinv,
                  at::Tensor& rz, const at::Tensor& rz_new, const at::Tensor& active);

}  // namespace dsla::krylov
