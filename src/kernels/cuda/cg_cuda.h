// CUDA kernels for conjugate gradients (no torch).
//
// 1. The fused CG steps of src/solve/krylov/cg_steps.h for vectors [B, n, k] (any k), scalars
//    [B, 1, k] of the real type R (see that header for the exact formulas). Each step is one
//    streaming kernel writing per-block partial sums plus one tiny kernel reducing them.
//
// 2. A fused Jacobi-PCG iteration for k = 1 (the CUDA CG driver, src/cuda/cg_driver.h), two
//    kernels per iteration, scalars and the convergence flag kept on the device:
//      K1  p' = z + beta p (formed on the fly, also at neighbours); q = A p'; pq = <p', q>; the
//          last block computes alpha = rz / pq. x is updated every other iteration (parity 0)
//          with the two directions it has not taken yet, x += alpha_pp p_old + alpha_prev p,
//          p_old being read from p' 's buffer before it is overwritten: 8 B per row every
//          second iteration instead of 16 B every iteration (~3 % of the traffic).
//      K2  z -= alpha dinv q; r = z / dinv; rz' = <r, z>; rr = <r, r>; the last block computes
//          beta = rz' / rz, counts the iteration and sets `done` (converged / maxiter).
//    The residual r is never stored: z = dinv r is (r = z / dinv). p is double-buffered (K1
//    reads p at neighbours while writing p'). Vectors read/written per iteration: 10 plus the
//    matrix. Reductions are deterministic (fixed partition, fixed order).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/csr_cuda.h"

namespace dsla::kernels::cuda {

// ---------------------------------------------------------------- 1. steps
// Scratch: `partials` holds 2 * B * k * cg_step_blocks(n) reals (R).
int64_t cg_step_blocks(int64_t n);

template <class T, class R>
void cg_dot_step(int64_t n, int64_t k, int64_t B, const T* p, const T* q, R* pq, R* partials,
                 cudaStream_t s);
// dinv: [Bd, n] (d_bs = 0 or n) or null; active: [B, k] or null.
template <class T, class R>
void cg_update_step(int64_t n, int64_t k, int64_t B, T* x, T* r, const T* p, const T* q,
                    const R* dinv, int64_t d_bs, const R* rz, const R* pq, const R* active,
                    R* rz_new, R* rr, R* partials, cudaStream_t s);
// z: given preconditioned residual or null (then dinv * r, or r). beta: scratch [B * k].
template <class T, class R>
void cg_direction_step(int64_t n, int64_t k, int64_t B, T* p, const T* r, const T* z, const R* dinv,
                       int64_t d_bs, R* rz, const R* rz_new, const R* active, R* beta,
                       cudaStream_t s);

// ---------------------------------------------------------------- 2. fused driver
struct CgState {
  double rz, pq, rr, alpha, alpha_prev, alpha_pp, beta, tol2;
  int done;  // 0 running, 1 converged, 2 maxiter, 3 breakdown (pq <= 0 or not finite)
  int iters, maxiter, pbuf;
  unsigned cnt1, cnt2;
};

int64_t cg_fused_blocks(int64_t n, int group);

// Sets state b from rz, rr (device [B]), tol2 (device [B]); p0 and p1 must be zeroed by the
// caller.
void cg_fused_init(int64_t B, const double* rz, const double* rr, const double* tol2, int maxiter,
                   CgState* st, cudaStream_t s);

// One iteration: reads p from p0 (parity 0) or p1 (parity 1), writes the other; alternate the
// parity between calls. partials: 3 * B * cg_fused_blocks(n) doubles. dinv null: the
// preconditioner is the scalar `dscale` (1: none; a uniform Jacobi diagonal otherwise, which
// saves reading a vector per iteration).
// dcol: the columns as int16 offsets from the row (csr_col_delta16), or null to read col.
// pdl: launch both kernels with programmatic dependent launch (ignored before sm_90).
template <class T, class I>
void cg_fused_iteration(int64_t n, int64_t B, int group, const I* crow, const I* col,
                        const int16_t* dcol, const T* val, int64_t v_bs, const T* dinv,
                        int64_t d_bs, T dscale, T* z, T* p0, T* p1, int parity, T* q, T* x,
                        CgState* st, double* partials, bool pdl, cudaStream_t s);

// x += the updates K1 has not applied yet: alpha_prev * p[pbuf], plus alpha_pp * p[1 - pbuf]
// when the last K1 had parity 1 (no x update).
template <class T>
void cg_fused_finish(int64_t n, int64_t B, T* x, const T* p0, const T* p1, CgState* st,
                     cudaStream_t s);

}  // namespace dsla::kernels::cuda
