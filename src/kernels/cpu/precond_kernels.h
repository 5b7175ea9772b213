// CPU kernels of the preconditioners (no torch): Gauss-Seidel/SSOR sweeps, ILU(0) and IC(0)
// numeric factorizations on the pattern of A, and the sparse triangular solves that apply them.
// Triangular sweeps are inherently sequential along the rows, so these kernels parallelize over
// batch members only. Value types: float, double, std::complex<float>, std::complex<double>;
// index types: int32_t, int64_t. Kernels never allocate tensors.
//
// Conventions shared by every kernel here:
//   - the CSR rows have sorted, unique columns and a stored diagonal; diag[i] is the position of
//     entry (i, i), so the strictly lower part of row i is [crow[i], diag[i]) and the strictly
//     upper part is (diag[i], crow[i+1]);
//   - vectors are [n, k] row-major (k right-hand sides), batched with explicit strides
//     (a stride of 0 broadcasts one operand over the batch).
#pragma once

#include <complex>
#include <cstdint>

#include <vector>
#include "kernels/cpu/kernel_args.h"

namespace dsla::kernels::cpu {

// Which triangle of the stored matrix a solve uses, and whether it solves with T or Tᴴ.
struct TriSolve {
  bool lower = true;        // the lower (true) or upper (false) triangle of the stored rows
  bool conj_trans = false;  // solve Tᴴ z = r instead of T z = r
  bool unit_diag = false;   // T has ones on the diagonal (the stored diagonal is ignored)
  double off_scale = 1.0;   // strictly off-diagonal entries are multiplied by this (SSOR's omega)
  // Solve T z = D z_in (D the stored diagonal): SSOR's middle factor fused into its backward
  // sweep, saving a pass over the vectors. Only with conj_trans = false.
  bool rhs_times_diag = false;
};

// z <- T⁻¹ z (or T⁻ᴴ z) in place, T the triangle of A that `how` names, for each of `batch`
// members (A.vals_bstride 0: one matrix for all); z [n, k] blocks. diag[i]: the position of
// A's diagonal entry in row i.
template <class V, class I>
void csr_tri_solve(const CsrView<V, I>& A, const int64_t* diag, int64_t k, int64_t batch,
                   Batched<V> z, const TriSolve& how, int nthreads);

// z[b, i, :] *= d(vals[b][diag[i]]) with d = identity, or its conjugate when `conj`.
template <class V, class I>
void csr_scale_by_diagonal(int64_t n, int64_t k, int64_t batch, const int64_t* diag, const V* vals,
                           int64_t vals_bstride, V* z, int64_t z_bstride, bool conj, int nthreads);

// ---- ILU(0) ------------------------------------------------------------------------------------
// The pattern-level part of ILU(0): for each strictly lower entry p = (i, k), the list of updates
// a_ij -= l_ik u_kj over the entries (k, j), j > k, whose position (i, j) is in the pattern.
// Updates of entry p are [ptr[p], ptr[p + 1]); dst[q] is the position of (i, j), src[q] of (k, j).
struct Ilu0Symbolic {
  std::vector<int64_t> ptr, dst, src;
};
template <class I>
void ilu0_symbolic(int64_t n, const I* crow, const I* col, const int64_t* diag, Ilu0Symbolic* out);

// Numeric ILU(0) of one matrix in place: on entry lu holds A's values (nnz), on exit the strictly
// lower part holds L (unit diagonal implied) and the upper part U. Returns -1 on success or the
// first row whose pivot u_ii is zero or not finite.
template <class V, class I>
int64_t ilu0_numeric(int64_t n, const I* crow, const I* col, const int64_t* diag,
                     const Ilu0Symbolic& s, V* lu);

// ---- IC(0) -------------------------------------------------------------------------------------
// The pattern-level part of IC(0) (A = L Lᴴ on the lower triangle of A's pattern): for each
// strictly lower entry p = (i, k) the pairs (i, j), (k, j) with j < k both in the pattern, which
// make up the sum l_ik = (a_ik - Σ_j l_ij conj(l_kj)) / l_kk. Pairs of p are [ptr[p], ptr[p+1]).
struct Ic0Symbolic {
  std::vector<int64_t> ptr, a, b;
};
template <class I>
void ic0_symbolic(int64_t n, const I* crow, const I* col, const int64_t* diag, Ic0Symbolic* out);

// Numeric IC(0) of one matrix in place: on entry l holds A's values, on exit the lower triangle
// (diagonal included) holds L; the strictly upper entries are left untouched (unused). Returns -1
// on success or the first row whose pivot a_ii - Σ |l_ij|² is not positive (or not finite).
template <class V, class I>
int64_t ic0_numeric(int64_t n, const I* crow, const I* col, const int64_t* diag,
                    const Ic0Symbolic& s, V* l);

}  // namespace dsla::kernels::cpu
