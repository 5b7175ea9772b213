// The CUDA CG driver: Jacobi-preconditioned (or plain) CG for a CUDA matrix, k = 1 right-hand
// side per system, B systems sharing one pattern, real fp32/fp64. Two fused kernels per
// iteration (src/kernels/cuda/cg_cuda.h), scalars and convergence flags on the device, blocks
// of `check_every` iterations captured once in a CUDA graph and replayed; the host looks at the
// flags once per block. Converged systems stop on the device (later kernels exit at once), so
// the iterate and iteration count are exact, not rounded up to the block.
//
// Memory: x, z (= dinv r; r itself is never stored), two p buffers, q: 5 vectors of n per
// system (4 with `in_place`) plus the caller's b and dinv, and O(B * blocks) scalars. A uniform
// dinv (constant diagonal, e.g. any constant-coefficient stencil) is passed to the kernels as a
// scalar: one vector less to read per iteration.
//
// The solve engineer's CG (src/solve/krylov/cg.cpp) can call this for `A` a CUDA matrix, M none
// or Jacobi, real dtype, one column: `cg_fused_solve(A, b[B,n], dinv[B',n], opts)`.
#pragma once

#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

namespace dsla::cuda {

struct CgFusedOptions {
  double rtol = 1e-6;
  double atol = 0.0;
  int64_t maxiter = -1;  // -1: 10 n
  int check_every = 32;  // iterations per graph replay / host check (rounded up to even)
  bool graph = true;     // capture the block of iterations in a CUDA graph
  int group = 0;         // threads per row in the SpMV (0: from the pattern's row lengths)
  int max_restarts = 3;  // restarts from the true residual when the recurrence drifted
  // x0 is the output: iterate in x0's storage (contiguous [B, n] or [n] with B = 1) instead of
  // a copy; the public solve path uses this to hold one x, not two.
  bool in_place = false;
  bool zero_start = false;  // x0 holds zeros: r = b without the first SpMV
  // Read the columns as int16 offsets from the row when the pattern allows (banded: structured
  // grids), cached on the pattern (2 B per nonzero of memory, 2-6 B per nonzero less traffic).
  bool compact_columns = true;
  // Programmatic dependent launch of the two kernels of an iteration (sm_90+): each one's blocks
  // may be scheduled while the previous kernel drains, hiding part of the launch gap and tail.
  bool pdl = true;
};

struct CgFusedResult {
  at::Tensor x;             // [B, n]
  at::Tensor iterations;    // [B] int64 (CPU)
  at::Tensor residual;      // [B] relative true residual ‖b − A x‖ / ‖b‖ (CPU, fp64)
  at::Tensor status;        // [B] int32 (CPU): 1 converged, 2 maxiter, 3 breakdown
  int64_t host_checks = 0;  // host synchronizations made by the loop
};

// b: [n] or [B, n]; dinv: [n], [B', n] or undefined (no preconditioner); x0: like b or undefined.
CgFusedResult cg_fused_solve(const SparseMatrix& A, const at::Tensor& b, const at::Tensor& dinv,
                             const CgFusedOptions& opt = {}, const at::Tensor& x0 = {});

}  // namespace dsla::cuda
