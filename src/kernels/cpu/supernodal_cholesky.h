// Numeric supernodal Cholesky (LLᵀ, real) on a symbolic factor in CHOLMOD's supernodal layout,
// single-threaded, with one BLAS / LAPACK call per dense step and no OpenMP (no torch).
//
// Why our own: CHOLMOD 3's numeric phase wraps each supernode's assembly and each descendant's
// update in an OpenMP region; even when those regions are inactive (one thread), each costs
// a libgomp team set-up and futex system calls. On the 2-core VM that was ~half the time of
// factoring the halves of poisson2d:1024 (perf: 42 % kernel, 9 % libgomp). The split Cholesky
// (solve/direct/cholmod_split_factorization.cpp) factors its halves with this on two threads.
//
// Left-looking: for each supernode s in order, its columns of A are assembled, every earlier
// supernode d with rows in s's columns subtracts its update (L_d[rows >= s] · L_d[rows in s]ᵀ,
// one syrk + one gemm into a workspace, scattered through a row map), then the diagonal block
// is factored (potrf) and the rows below it solved (trsm). Pending descendants are kept in
// linked lists keyed by the supernode they update next.
#pragma once

#include <cstdint>

namespace dsla::kernels::cpu {

// A supernodal symbolic factor (CHOLMOD's layout, 0-based, int64): supernode k holds columns
// super[k] .. super[k+1]-1; its row indices are s[pi[k] .. pi[k+1]) (the first ones are its own
// columns, all sorted), its values the column-major block x[px[k] ..) with pi[k+1]-pi[k] rows.
struct SupernodalPattern {
  int64_t n = 0, nsuper = 0;
  const int64_t* super = nullptr;
  const int64_t* pi = nullptr;
  const int64_t* px = nullptr;
  const int64_t* s = nullptr;
};

// L Lᵀ = A, with A given by its lower triangle in CSC (Ap [n+1], Ai, Ax: rows >= column, any
// order within a column, every entry inside the factor's pattern). Writes x (px[nsuper]
// values). Returns n on success, else the first column whose pivot is not positive (x is then
// only partly computed).
//
// Partial factorization (nfactor < n): only columns < nfactor are eliminated. With
// A = [A11 A12; A21 A22] split there, x then holds L11 and L21 (A11 = L11 L11ᵀ,
// A21 = L21 L11ᵀ) in the factored columns and the Schur complement A22 − L21 L21ᵀ (lower
// triangle) in the others.
int64_t supernodal_cholesky(const SupernodalPattern& L, const int64_t* Ap, const int64_t* Ai,
                            const double* Ax, double* x, int64_t nfactor);

}  // namespace dsla::kernels::cpu
