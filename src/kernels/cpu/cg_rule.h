// CG's stopping rule and curvature test for one system, written once for the host loop
// (src/solve/krylov/cg.cpp) and the fused device kernels (src/kernels/cuda/cg_fused.cu), which
// decide on the device between host checks. The codes are what the device state carries;
// cg.cpp maps them to dsla::Status.
#pragma once

#include <cmath>

#ifndef DSLA_HD
#ifdef __CUDACC__
#define DSLA_HD __host__ __device__
#else
#define DSLA_HD
#endif
#endif

namespace dsla::kernels {

enum CgCode : int {
  kCgRunning = 0,
  kCgConverged = 1,  // ‖r‖² ≤ tol² (tol = max(rtol ‖b‖, atol))
  kCgMaxIterations = 2,
  kCgIndefinite = 3,  // pᴴ A p ≤ 0: A (or M) is not positive definite
  kCgNotFinite = 4,   // NaN or Inf in a reduction
};

// After an iteration: `rr` = ‖r‖² (reduced), `iters` iterations done so far.
DSLA_HD inline int cg_decide(double rr, double tol2, long long iters, long long maxiter) {
  if (rr <= tol2) return kCgConverged;
  if (!(rr == rr) || rr > 1.79e308) return kCgNotFinite;  // NaN or Inf (isfinite-free for nvcc)
  if (iters >= maxiter) return kCgMaxIterations;
  return kCgRunning;
}

// Before the update: the curvature pᴴ A p (reduced) must be positive and finite.
DSLA_HD inline int cg_check_curvature(double pq) {
  if (!(pq == pq) || pq > 1.79e308 || pq < -1.79e308) return kCgNotFinite;
  if (!(pq > 0.0)) return kCgIndefinite;
  return kCgRunning;
}

}  // namespace dsla::kernels
