// Internal pieces of the AMG setup and cycle (src/solve/amg). Each file does one step; the
// hierarchy (hierarchy.cpp) strings them together. All tensors live on the matrix's device;
// values are [B, nnz] (one row per batch member), vectors [B, n, k].
#pragma once

#include <dsla/amg.h>
#include <dsla/pattern.h>

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/device_stub.h"
#include "solve/precond/smoothing.h"
#include "solve/precond/spectral_estimate.h"

namespace dsla::amg::detail {

// Device implementations of the AMG steps (amg_cuda.cpp registers the CUDA ones; contracts in
// amg_cuda.h). Null slot: the caller's CPU kernels or ATen formulation.
using StrengthFn = PatternPtr(const Pattern& a, const at::Tensor& values, double theta);
using AggregateMis2Fn = int64_t(const Pattern& s, uint64_t seed, at::Tensor& agg);
using SmoothingValuesFn = at::Tensor(const Pattern& a, const at::Tensor& values,
                                     const at::Tensor& dinv, const at::Tensor& scale);
using TransposeFn = PatternPtr(const Pattern& p);
using TransposeValuesFn = at::Tensor(const Pattern& p, const at::Tensor& values, const Pattern& pt);
extern device::Stub<StrengthFn> strength_stub;
extern device::Stub<AggregateMis2Fn> aggregate_mis2_stub;
extern device::Stub<SmoothingValuesFn> smoothing_values_stub;
extern device::Stub<TransposeFn> transpose_stub;
extern device::Stub<TransposeValuesFn> transpose_values_stub;

// Pattern-level data of one level: computed by build(), reused by update().
struct LevelStructure {
  PatternPtr a;    // this level's operator pattern
  at::Tensor agg;  // [n] int64 aggregate of each row, -1 = unaggregated
  int64_t n_agg = 0;
  int64_t unaggregated = 0;
  at::Tensor nullspace;         // [n, m] near-nullspace of this level
  PatternPtr t;                 // tentative prolongator [n, n_agg * m]
  at::Tensor t_values;          // [1, nnz_t]
  at::Tensor coarse_nullspace;  // [n_agg * m, m]
  // Filtered operator for the prolongator smoothing: strong connections + diagonal, weak ones
  // lumped into the diagonal (keeps P as sparse as the strength graph: anisotropic problems).
  // Undefined when every connection is strong (then A itself smooths).
  PatternPtr f;
  at::Tensor f_src;   // [nnz_f] int64 (int32 on a distributed level): position in A of each entry
  at::Tensor f_diag;  // [n] int64: position of the diagonal in f
  PatternPtr p;       // prolongator pattern (that of A T when smoothed, else t)
  at::Tensor t_in_p;  // [nnz_t] int64: position of each entry of T in P
  PatternPtr pt;      // pattern of Pᵀ
  PatternPtr ap;      // pattern of A P (CPU only: dropped after the setup on CUDA)
  PatternPtr ac;      // pattern of Pᵀ A P: the next level's `a`
};

// Numeric data of one level.
struct Level {
  PatternPtr a;
  at::Tensor values;  // [B, nnz]
  at::Tensor dinv;    // [B, n, 1]
  // The spectral estimate of D⁻¹A (Chebyshev bounds, prolongator damping), and its largest
  // value as [B, 1, 1] on the level's device (ρ).
  precond::detail::SpectrumEstimate spectrum;
  at::Tensor rho;
  // The smoother: an ordinary (smoothing) preconditioner, Chebyshev or l1-Jacobi.
  precond::detail::SmootherPtr smoother;
  // Transfer to the next level (all but the coarsest).
  at::Tensor p_values, r_values;  // [B, nnz_p] (R = Pᵀ values in Pᵀ's pattern order)
};

// ---- hierarchy.cpp
// Every option in range (the message names the option); shared with the distributed hierarchy.
void validate_options(const AmgOptions& o);

// ---- strength.cpp
// Strong connections of a level (off-diagonal, |a_ij| >= θ sqrt(|a_ii a_jj|)) from one member's
// values [nnz]; symmetrized (i~j when either direction is strong). No diagonal in the result.
PatternPtr strength_graph(const PatternPtr& a, const at::Tensor& values, double theta,
                          bool values_symmetric);

// The node matrix of a block system with b unknowns per node: entry (I, J) = the Frobenius norm
// of block (I, J) of the level's values [nnz] (what strength of connection reads for systems).
SparseMatrix node_matrix(const PatternPtr& a, const at::Tensor& values, int64_t b);
// The level's scalar strength graph from the node graph s: entry (i, j), i != j, of a is strong
// when its nodes are one node or strongly connected (what the finest level's filter drops by).
PatternPtr expand_node_graph(const PatternPtr& a, const PatternPtr& s, int64_t b);

// ---- aggregate.cpp
// Aggregates of the strength graph s (see kernels/cpu/amg_aggregate.h). agg: [n] int64 on s's
// device. Returns the number of aggregates.
int64_t aggregate(const PatternPtr& s, const std::string& method, uint64_t seed, at::Tensor& agg);

// ---- prolongation.cpp
// Fills st.t, st.t_values, st.coarse_nullspace from st.agg, st.n_agg, st.nullspace.
void build_tentative(LevelStructure& st);
// st.f / f_src / f_diag from the strength graph s (no diagonal), when it drops connections.
void build_filter(LevelStructure& st, const PatternPtr& s);
// Values of the smoothing operator (A, or its lumped filter) and their inverse diagonal.
void smoothing_operator(const LevelStructure& st, const Level& lv, at::Tensor& values,
                        at::Tensor& dinv);
// Pattern of the smoothed prolongator and the position of T's entries in it (once).
void build_prolongator_pattern(LevelStructure& st, bool smoothed);
// P = T - scale D⁻¹ A T with scale [B, 1, 1] (ω / ρ), A the smoothing operator (values, dinv);
// returns [B, nnz_p].
at::Tensor prolongator_values(const LevelStructure& st, const at::Tensor& values,
                              const at::Tensor& dinv, const at::Tensor& scale, bool smoothed);
// C = A B values for patterns a, b (cached plan): CPU kernel or ATen gather on other devices.
at::Tensor product_values(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                          const at::Tensor& bv);

// values.index_select(1, idx) for [B, nnz] values (1-D fast path for B = 1).
at::Tensor gather_values(const at::Tensor& values, const at::Tensor& idx);

// The row of each entry of p (int64, or dt), computed on each call rather than read from
// Pattern::row(), which caches an nnz array on the pattern for its lifetime (on a distributed
// level's aloc and filter that is kept after the setup).
at::Tensor entry_rows(const Pattern& p, at::ScalarType dt = at::kLong);

// ---- smoother.cpp
// The spectral estimate of a level (precond::detail::estimate_spectrum) with ρ on the device.
void estimate_spectrum(Level& lv, int64_t steps, bool symmetric);
// ρ(D⁻¹A) per member ([B, 1, 1], on the matrix's device) of another operator (the filtered one).
at::Tensor estimate_rho(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv,
                        int64_t steps, bool symmetric);
// lv.smoother for opt.smoother (after lv.dinv and, for Chebyshev, lv.spectrum).
void setup_smoother(Level& lv, const AmgOptions& opt, bool symmetric);
// `sweeps` sweeps of lv.smoother for A x = b from x (zero_guess: x is written, not read).
void smooth(const Level& lv, const at::Tensor& b, at::Tensor& x, bool zero_guess, int64_t sweeps);

// ---- coarse.cpp
// Dense inverse (Cholesky, LU, or pseudo-inverse when singular) of the level matrix, [B, n, n];
// `kind` tells which.
at::Tensor coarse_inverse(const Level& lv, bool symmetric, std::string& kind);

// r = b - A x for a level.
at::Tensor residual(const Level& lv, const at::Tensor& b, const at::Tensor& x);

}  // namespace dsla::amg::detail
