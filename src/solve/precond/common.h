// Internal to src/solve/precond: the base class every built-in preconditioner derives from (size,
// dtype, device, input checks of apply/update), shared setup helpers, and one factory per kind
// (make_preconditioner dispatches to them).
#pragma once

#include "solve/precond/preconditioner.h"

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/device_stub.h"

namespace dsla::precond::detail {

class PrecondBase : public Preconditioner, public std::enable_shared_from_this<PrecondBase> {
 public:
  int64_t rows() const override { return n_; }
  int64_t cols() const override { return n_; }
  at::ScalarType dtype() const override { return dtype_; }
  c10::Device device() const override { return device_; }
  bool has_adjoint() const override { return true; }

 protected:
  explicit PrecondBase(const SparseMatrix& A);
  // x [Bx, n, k], y [B, n, k] with Bx in {1, B} and this preconditioner's batch in {1, B}; same
  // dtype and device; y must not alias x. `who` names the caller in messages.
  void check_apply(const at::Tensor& x, const at::Tensor& y, const char* who) const;
  // A has this preconditioner's pattern (same structure), dtype and device.
  void check_update(const SparseMatrix& A) const;
  // Values detached, contiguous, as [B', nnz].
  static at::Tensor values_2d(const SparseMatrix& A);

  int64_t n_ = 0;
  int64_t batch_ = 1;  // B' of the numeric setup (1 or the matrix batch)
  at::ScalarType dtype_;
  c10::Device device_ = c10::Device(c10::kCPU);
  PatternPtr pattern_;
};

// The preconditioner whose apply is `parent`'s apply_adjoint (and vice versa).
std::shared_ptr<const Preconditioner> adjoint_view(std::shared_ptr<const Preconditioner> parent);

// Diagonal of A ([B', n], detached). Throws ValueError naming the first row whose diagonal entry
// is missing from the pattern, zero or not finite, and the batch member when batched.
at::Tensor checked_diagonal(const SparseMatrix& A, const std::string& kind);
// Throws ValueError naming the first row whose diagonal is not stored (factorizations and sweeps
// need the diagonal in the pattern).
void check_diagonal_stored(const SparseMatrix& A, const std::string& kind);
// Whether every member is Hermitian (symmetric when real): then symmetric kinds are their own
// adjoint. O(nnz), run at setup only.
bool is_hermitian(const SparseMatrix& A);
// A CPU view of the pattern's diagonal positions (int64 [n]).
at::Tensor diag_positions_cpu(const Pattern& p);

// Test hook: the interval [a, b] of D⁻¹A's spectrum a Chebyshev preconditioner smooths on, one
// per batch member (throws ValueError when `p` is not a Chebyshev preconditioner).
std::vector<std::pair<double, double>> chebyshev_intervals(const Preconditioner& p);

PreconditionerPtr make_identity(const SparseMatrix& A);
PreconditionerPtr make_jacobi(const SparseMatrix& A, const Options& opt);
PreconditionerPtr make_block_jacobi(const SparseMatrix& A, const Options& opt);
PreconditionerPtr make_ssor(const SparseMatrix& A, const Options& opt, bool symmetric_gs);
PreconditionerPtr make_chebyshev(const SparseMatrix& A, const Options& opt);
// Multicolor sweeps in the order of color_rows (multicolor.cpp), any device: kind "mc_sgs",
// "mc_ssor" (opt.omega) or "dilu".
PreconditionerPtr make_multicolor(const SparseMatrix& A, const Options& opt,
                                  const std::string& kind);
// The same Chebyshev on any operator, e.g. a distributed A (its space reduces across ranks, so
// the setup is collective): `shape` is this process's square block (size, dtype, device), dinv
// [B', n, 1] this process's rows of D⁻¹ (real, positive: the caller checks), `hermitian` as the
// caller knows it. Products through A's apply; update() refuses (rebuild with new values).
PreconditionerPtr make_chebyshev(const SparseMatrix& shape, LinearOperatorPtr A,
                                 const at::Tensor& dinv, const Options& opt, bool hermitian);
// Overlapping additive Schwarz on one device (schwarz.cpp): blocks of opt.block_size rows
// grown by one layer, dense batched LU per block.
PreconditionerPtr make_schwarz(const SparseMatrix& A, const Options& opt);
PreconditionerPtr make_ic0(const SparseMatrix& A, const Options& opt);
PreconditionerPtr make_ilu0(const SparseMatrix& A, const Options& opt);
// Device implementations of IC0 / ILU0 (incomplete_factor_cuda.cpp registers cuSPARSE factor +
// SpSV for CUDA matrices in CUDA builds).
using MakeIncompleteFn = PreconditionerPtr(const SparseMatrix& A, const Options& opt);
extern device::Stub<MakeIncompleteFn> make_ic0_stub;
extern device::Stub<MakeIncompleteFn> make_ilu0_stub;

}  // namespace dsla::precond::detail
