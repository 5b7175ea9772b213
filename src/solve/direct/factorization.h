// Direct sparse factorizations behind one interface: the Solver (src/solve/solver.cpp) holds one
// per matrix (per batch member) and never needs to know which library factors it.
// Symbolic analysis (fill-reducing ordering + symbolic factorization) is cached on the Pattern,
// so refactoring with new values redoes only the numeric phase.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <utility>

namespace dsla::direct {

enum class Kind {
  Cholesky,  // A = L Lᵀ (SPD / HPD)
  LDLT,      // A = L D Lᵀ (symmetric indefinite)
  LU,        // P A Q = L U (general)
};

class Factorization {
 public:
  virtual ~Factorization() = default;
  // Numeric factorization of the matrix with these values ([nnz], CPU, the factorization's dtype).
  // Throws dsla::SingularMatrixError (with the pivot) when the matrix is singular, or not positive
  // definite for Cholesky.
  virtual void factorize(const at::Tensor& values) = 0;
  // x = A⁻¹ b, or with `adjoint` x = A⁻ᴴ b (A⁻ᵀ for real). b: [n] or [n, k] on CPU.
  virtual at::Tensor solve(const at::Tensor& b, bool adjoint) const = 0;
  // (sign, log|det A|): sign is ±1 (real) or a unit-modulus phase (complex); 0-dim tensors.
  virtual std::pair<at::Tensor, at::Tensor> slogdet() const = 0;
  virtual Kind kind() const = 0;
  virtual std::string name() const = 0;  // e.g. "cholmod-supernodal-llt", "umfpack-lu", "cudss-lu"
  // > 1: one factorization of a uniform batch (cuDSS): factorize takes values [B, nnz] and
  // solve takes b [B or 1, n, k] and returns [B, n, k]. 1: one matrix (all CPU backends).
  virtual int64_t batch_size() const { return 1; }

  // Singularity test of factorize(): besides exact zero pivots (and Cholesky's non-positive
  // ones), the matrix is reported singular when min|pivot| / max|pivot| < pivot_tolerance
  // (pivots: D of LDLᵀ = squared diagonal of L, or the diagonal of U; CHOLMOD's and UMFPACK's
  // rcond estimate). The default 1e-14 catches matrices singular to working precision (a pure
  // Neumann Laplacian factors to a last pivot ~1e-15 of the largest, with no exact zero) while
  // accepting ill-conditioned ones (mhd1280b: 4e-13). 0 = exact zero pivots only (slogdet uses
  // that: the determinant of a nearly singular matrix is still a number).
  static constexpr double kDefaultPivotTolerance = 1e-14;
  void set_pivot_tolerance(double tol) { pivot_tol_ = tol; }
  double pivot_tolerance() const { return pivot_tol_; }
  // min|pivot| / max|pivot| of the last successful factorize() (0 before).
  virtual double rcond() const = 0;

  // Selected entries of the inverse: out[k] = (A⁻¹)[rows[k], cols[k]] (int64 [m] each, on the
  // factorization's device; so is the result), in float64 / complex128, never forming A⁻¹. Used by
  // the gradient of log|det A|. CHOLMOD (Cholesky, LDLᵀ): selected inversion (Takahashi
  // recurrences) on the simplicial LDLᵀ factor, O(Σ_j |L(:,j)|²) time — about one factorization —
  // and O(nnz(L)) memory. UMFPACK (LU) and cuDSS: inverse_entries_by_solves. The base class throws
  // (not implemented).
  virtual at::Tensor inverse_entries(const at::Tensor& rows, const at::Tensor& cols) const;

 protected:
  double pivot_tol_ = kDefaultPivotTolerance;
};

// Selected inverse entries by blocked solves: A X = E for blocks of 64 unit vectors (the
// distinct columns in `cols`), reading only the requested rows of X. O(#distinct cols / 64)
// multi-RHS solves, i.e. O(n · nnz(factors)) time for a full pattern, O(64 n) memory.
at::Tensor inverse_entries_by_solves(const Factorization& f, int64_t n, const at::Tensor& rows,
                                     const at::Tensor& cols);

// Whether this build has a backend for `kind` (SuiteSparse found by CMake).
bool available(Kind kind);
// ... for matrices on `device`: SuiteSparse on the CPU, cuDSS on CUDA devices.
bool available(Kind kind, c10::Device device);
// Whether make_factorization(..., batch > 1) works for matrices on `device` (cuDSS uniform
// batches; off with DSLA_CUDSS_UBATCH=0).
bool batched_available(c10::Device device);
// The cuDSS version this build runs with ("" without cuDSS).
std::string cudss_version();
// Number of symbolic analyses (CHOLMOD analyze, UMFPACK symbolic) run by this process: tests
// use it to prove that analysis is cached on the Pattern.
int64_t analysis_count();
// ordering: "auto" (the library's choice), "amd", "metis" (CHOLMOD: our METIS_NodeND call, top
// separator halves ordered on two threads), "natural" ("nesdis" for CHOLMOD:
// its own nested dissection on METIS bisections).
// CPU patterns: CHOLMOD (cholesky, ldlt) / UMFPACK (lu); float32 / complex64 values are
// factorized in float64 / complex128 internally (SuiteSparse is double precision only).
// CUDA patterns: cuDSS (src/cuda/cudss_factorization.cpp), in the values' own dtype; "metis" and
// "nesdis" mean cuDSS's nested dissection. solve() returns the promoted dtype of the
// factorization and b. batch > 1: one factorization of a uniform batch (CUDA only).
std::unique_ptr<Factorization> make_factorization(const PatternPtr& pattern, Kind kind,
                                                  at::ScalarType dtype,
                                                  const std::string& ordering = "auto",
                                                  int64_t batch = 1);

}  // namespace dsla::direct
