// Namespace dsla::krylov (not dsla::solve: that name is the public solve function).
// The fused steps of (Jacobi-)preconditioned CG, one function per pass over the vectors.
// Fusing the vector updates with the dot products is what makes CG bandwidth-bound rather than
// launch- or pass-bound; keeping alpha and beta on the device keeps the GPU loop free of host
// synchronization. Implementations: CPU (OpenMP, src/kernels/cpu), the registered device ones
// (cg_steps_cuda.cpp in CUDA builds), ATen (any device; the reference). Dispatch is in
// cg_steps.cpp. The loop that calls them, and the CgSteps interface every step set implements,
// are in cg.cpp / below.
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
#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

#include <functional>
#include <memory>

#include "core/device_stub.h"

namespace dsla::krylov {

struct Problem;
class Monitor;

// Re Σ_i conj(a[b, i, j]) c[b, i, j] -> [B, 1, k]: the local partial of a CG dot product (the
// ATen formulation; the loop reduces it through the space).
at::Tensor re_dot_partial(const at::Tensor& a, const at::Tensor& c);

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

using CgSpmvDotFn = void(const Pattern&, const at::Tensor&, const at::Tensor&, at::Tensor&,
                         at::Tensor&);
using CgUpdateFn = void(at::Tensor&, at::Tensor&, const at::Tensor&, const at::Tensor&,
                        const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                        at::Tensor&, at::Tensor&);
using CgDirectionFn = void(at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                           at::Tensor&, const at::Tensor&, const at::Tensor&);
extern device::Stub<CgSpmvDotFn> cg_spmv_dot_stub;
extern device::Stub<CgUpdateFn> cg_update_stub;
extern device::Stub<CgDirectionFn> cg_direction_stub;

// ---------------------------------------------------------------- the steps of cg.cpp's loop
// One CG solve's state and step kernels. cg.cpp owns the loop (and with kernels/cpu/cg_rule.h the
// stopping rule and the status codes); a step set says only how each line of it runs here:
//
//   start     r = b − A x, z = M r, p; returns ‖r‖ (reduced); then begin(mon) once the monitor
//             has begun (steps that decide on the device take its tolerances and active set)
//   spmv_dot  q = A p; returns the local partial pᴴq            -> space.reduce_
//   update    alpha = rz / pq, x += alpha p, r −= alpha q, z = M r;
//             returns the local partials (rᴴz, rᴴr)             -> space.reduce_
//   decide    stopping rule, beta = rz' / rz, p = z + beta p (steps that decide on the device do
//             this at the start of their next spmv_dot, and return false here)
//   check     after a block of `block()` iterations: one host read into the monitor; true: stop
//   finish    whatever the steps still owe x and the monitor (pending updates, failures)
class CgSteps {
 public:
  virtual ~CgSteps() = default;
  virtual at::Tensor start(const at::Tensor& b, at::Tensor& x, bool x_is_zero) = 0;
  virtual void begin(Monitor& mon) {}
  virtual at::Tensor spmv_dot(int t) = 0;
  virtual at::Tensor update(int t, Monitor& mon) = 0;
  virtual bool decide(Monitor& mon) = 0;
  virtual bool check(Monitor& mon) = 0;
  virtual void finish(Monitor& mon) {}
  // Iterations between host checks, and how a block of them runs (a device may capture the
  // block once, when `capturable`, and replay it).
  virtual int block() const { return 1; }
  virtual void run_block(int m, bool capturable, const std::function<void(int)>& body) {
    for (int t = 0; t < m; ++t) body(t);
  }
};

// Tuning of a device's fused CG steps (benchmarks and tests; the defaults are the measured best).
struct CgTuning {
  int check_every = 0;  // iterations per block / host check; 0: the solve's check_every or 32
  bool graph = true;    // replay each block from a CUDA graph
  int group = 0;        // threads per row in the SpMV (0: from the pattern's row lengths)
  bool compact = true;  // int16 column offsets where the pattern allows
  bool pdl = true;      // programmatic dependent launch (sm_90+)
  mutable int64_t host_checks = 0;  // out: host reads made
};

// Runs the solves of this thread with `t` (restored on exit); `t.host_checks` counts their reads.
class CgTuningScope {
 public:
  explicit CgTuningScope(const CgTuning& t);
  ~CgTuningScope();
  CgTuningScope(const CgTuningScope&) = delete;
  CgTuningScope& operator=(const CgTuningScope&) = delete;

 private:
  const CgTuning* previous_;
};

// A device's fused CG steps for P (a matrix with Jacobi or no preconditioner), or null when they
// do not handle this case (dtype, several right-hand sides, callbacks): cg.cpp then uses the
// host-decided fused steps (the generic ones for a distributed operator). A: the local matrix,
// or P.halo's diagonal block. CUDA: cg_fused_cuda.cpp.
using MakeDeviceCgStepsFn = std::unique_ptr<CgSteps>(const Problem& P, const SparseMatrix& A,
                                                     const at::Tensor& x, const CgTuning& tuning);
extern device::Stub<MakeDeviceCgStepsFn> make_device_cg_steps_stub;

}  // namespace dsla::krylov
