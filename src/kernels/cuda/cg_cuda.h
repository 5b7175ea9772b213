// CUDA kernels for conjugate gradients (no torch).
//
// 1. The fused CG steps of src/solve/krylov/cg_steps.h for vectors [B, n, k] (any k), scalars
//    [B, 1, k] of the real type R (see that header for the exact formulas). Each step is one
//    streaming kernel writing per-block partial sums plus one tiny kernel reducing them.
//
// 2. A fused Jacobi-PCG iteration for k = 1 (the CUDA steps of src/solve/krylov/cg.cpp, in
//    cg_fused_cuda.cpp), two kernels per iteration, scalars and the stopping rule on the device,
//    each kernel producing local partials that the caller's VectorSpace reduces in between:
//      K1  decide on the previous iteration (cg_rule.h), beta = rz' / rz; p' = z + beta p (formed
//          on the fly, also at neighbours); q = A p'; pq = <p', q>. x is updated every other
//          iteration (parity 0) with the two directions it has not taken yet, x += alpha_pp p_old +
//          alpha_prev p, p_old being read from p' 's buffer before it is overwritten: 8 B per row
//          every second iteration instead of 16 B every iteration (~3 % of the traffic).
//      K2  alpha = rz / pq; z -= alpha dinv q; r = z / dinv; rz' = <r, z>; rr = <r, r>.
//    The residual r is never stored: z = dinv r is (r = z / dinv). p is double-buffered (K1
//    reads p at neighbours while writing p'). Vectors read/written per iteration: 10 plus the
//    matrix. Reductions are deterministic (fixed partition, fixed order).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/kernel_args.h"
#include "kernels/cuda/csr_cuda.h"

namespace dsla::kernels::cuda {

// ---------------------------------------------------------------- 1. steps
// Scratch: `partials` holds 2 * B * k * cg_step_blocks(n) reals (R).
int64_t cg_step_blocks(int64_t n);

// pq = Re <p, q> for p, q of `shape`.
template <class T, class R>
void cg_dot_step(const BlockShape& shape, const T* p, const T* q, R* pq, R* partials,
                 cudaStream_t s);
// kernels::cpu::cg_update on the device (v.dinv: the real inverse diagonal or null).
template <class T, class R>
void cg_update_step(const BlockShape& shape, const CgVectors<T, R>& v, const CgScalars<R>& c,
                    R* partials, cudaStream_t s);
// kernels::cpu::cg_direction on the device (v.z: a given preconditioned residual or null, then
// dinv r, or r). beta: scratch [batch * k].
template <class T, class R>
void cg_direction_step(const BlockShape& shape, const CgVectors<T, R>& v, const CgScalars<R>& c,
                       R* beta, cudaStream_t s);

// ---------------------------------------------------------------- 2. fused iteration
// Per-system device state. `done` holds a kernels::CgCode (cg_rule.h): 0 while running.
struct CgState {
  double rz, pq, rr, alpha, alpha_prev, alpha_pp, beta, tol2;
  int done;
  int iters, maxiter, pbuf;
  int pending;  // cg_k2 left reduced rz', rr in `sums` that no cg_k1 has decided on yet
  unsigned cnt1, cnt2, cnt3;
};

int64_t cg_fused_blocks(int64_t n, int group);
// Bytes of one allocation holding `sums` [3, B] doubles followed by the B states: for one system
// the three sums and the state share a 128-byte cache line, so a kernel's first loads (state and
// reduced sums) cost one memory round trip.
int64_t cg_fused_state_bytes(int64_t B);

// Sets state b from the reduced rz, rr (device [B]) and tol2 (device [B]); p0 and p1 must be
// zeroed by the caller.
void cg_fused_init(int64_t B, const double* rz, const double* rr, const double* tol2, int maxiter,
                   CgState* st, cudaStream_t s);

// Everything one iteration reads and writes. `sums` [3, B] doubles: the local partials the
// kernels produce and the caller reduces in place between them (pᴴq in row 0 after
// cg_fused_spmv_dot; rᴴz, rᴴr in rows 1-2 after cg_fused_update). `partials`:
// 3 * B * cg_fused_blocks(n, group) doubles of scratch. dinv null: the preconditioner is the
// scalar `dscale` (1: none; a uniform Jacobi diagonal otherwise, one vector less to read).
// dcol: the columns as int16 offsets from the row (csr_col_delta16), or null to read col.
template <class T, class I>
struct CgFusedArgs {
  int64_t n = 0, B = 1;
  int group = 1;  // threads per row in the SpMV: 1, 2, 4, ..., 32
  // Rows whose pᴴq share K1 adds (-1: all n). A distributed matrix's boundary rows (the last
  // n - dot_rows) add theirs in cg_fused_ghost_dot, once their ghost columns are in q.
  int64_t dot_rows = -1;
  const I* crow = nullptr;
  const I* col = nullptr;
  const int16_t* dcol = nullptr;
  const T* val = nullptr;
  // Mixed precision (T = double only): float values in place of val (null), every product and
  // sum in double: the matrix's bytes per iteration halved.
  const float* val32 = nullptr;
  int64_t v_bs = 0;  // batch stride of val (0: shared values)
  const T* dinv = nullptr;
  int64_t d_bs = 0;  // batch stride of dinv
  T dscale = T(1);
  T* z = nullptr;  // z = dinv r (r itself is never stored)
  T* p0 = nullptr;
  T* p1 = nullptr;
  T* q = nullptr;
  T* x = nullptr;
  CgState* st = nullptr;
  double* sums = nullptr;
  double* partials = nullptr;
};

// K1 of an iteration: decides on the previous iteration's reduced rz', rr (stop, or
// beta = rz' / rz), then p' = z + beta p, q = A p', and the local partial pᴴq into sums[0].
// Reads p from p0 (parity 0) or p1 (parity 1) and writes the other: alternate the parity.
// pdl: programmatic dependent launch (ignored before sm_90).
template <class T, class I>
void cg_fused_spmv_dot(const CgFusedArgs<T, I>& a, int parity, bool pdl, cudaStream_t s);
// K2: alpha = rz / pq from the reduced sums[0] (a curvature that is not positive stops the
// system), z -= alpha dinv q, and the local partials rᴴz, rᴴr into sums[1], sums[2].
template <class T, class I>
void cg_fused_update(const CgFusedArgs<T, I>& a, int parity, bool pdl, cudaStream_t s);

// Decides on a pending iteration (the loop ended after a K2), then x += the updates K1 has not
// applied yet: alpha_prev * p[pbuf], plus alpha_pp * p[1 - pbuf] when the last K1 had parity 1.
template <class T>
void cg_fused_finish(int64_t n, int64_t B, T* x, const T* p0, const T* p1, CgState* st,
                     const double* sums, cudaStream_t s);

// ---------------------------------------------------------------- 3. across ranks
// The fused iteration of a distributed matrix (rows split as diag [n x n], the owned columns,
// and offd [n - n_interior x n_ghost], the ghost columns of the boundary rows, which come last).
// One iteration: cg_fused_pack (p' at the rows neighbours need, into `send`) -> the halo
// exchange (send -> ghost, the caller's) while cg_fused_spmv_dot with dot_rows = n_interior
// multiplies by diag -> cg_fused_ghost_dot (the boundary rows' ghost share of q and of pᴴq) ->
// the space's all-reduce -> cg_fused_update as on one process. The kernels take the decision
// from the same reduced sums, so every rank decides alike.
template <class T, class J>
struct CgHaloArgs {
  int64_t n = 0, n_interior = 0, B = 1;
  // offd: [n - n_interior rows, n_ghost cols], its values with batch stride o_bs (0: shared).
  const J* ocrow = nullptr;
  const J* ocol = nullptr;
  const T* oval = nullptr;
  int64_t o_bs = 0;
  int64_t n_send = 0, n_ghost = 0;
  const int64_t* send_idx = nullptr;  // [n_send] local rows
  T* send = nullptr;                  // [n_send, B] (rows first: one slice per neighbour)
  const T* ghost = nullptr;           // [n_ghost, B]
};

// send[j, b] = z[b, idx_j] + beta_b p[b, idx_j] (p: p0 for parity 0, else p1) with the beta
// cg_fused_spmv_dot is about to take; nothing for a system that has stopped.
template <class T, class I, class J>
void cg_fused_pack(const CgFusedArgs<T, I>& a, const CgHaloArgs<T, J>& h, int parity,
                   cudaStream_t s);
// After cg_fused_spmv_dot (a.dot_rows = h.n_interior) and the exchange: q[b, i] += offd row
// (i - n_interior) . ghost[:, b] for the boundary rows, and their share of p'ᴴq added to sums[b].
template <class T, class I, class J>
void cg_fused_ghost_dot(const CgFusedArgs<T, I>& a, const CgHaloArgs<T, J>& h, int parity,
                        cudaStream_t s);

}  // namespace dsla::kernels::cuda
