// Shared pieces of the preconditioners: input checks, the adjoint view, diagonal extraction.
#include "solve/precond/common.h"

#include <dsla/errors.h>

namespace dsla::precond::detail {

PrecondBase::PrecondBase(const SparseMatrix& A)
    : n_(A.rows()),
      batch_(A.batch_size()),
      dtype_(A.dtype()),
      device_(A.device()),
      pattern_(A.pattern()) {}

void PrecondBase::check_apply(const at::Tensor& x, const at::Tensor& y, const char* who) const {
  DSLA_CHECK_ARG(x.defined() && x.dim() == 3 && x.size(1) == n_, "x", who,
                 ": expected a vector of shape [B, ", n_, ", k], got ",
                 x.defined() ? x.sizes() : at::IntArrayRef{});
  DSLA_CHECK_ARG(y.defined() && y.dim() == 3 && y.size(1) == n_ && y.size(2) == x.size(2), "y", who,
                 ": expected shape [B, ", n_, ", ", x.size(2), "] (preallocated), got ",
                 y.defined() ? y.sizes() : at::IntArrayRef{});
  const int64_t B = y.size(0);
  DSLA_CHECK_ARG(x.size(0) == B || x.size(0) == 1, "x", who, ": batch ", x.size(0),
                 " does not match the output batch ", B);
  DSLA_CHECK_ARG(batch_ == 1 || batch_ == B, "x", who, ": the preconditioner was built for ",
                 batch_, " batch members, the vectors have ", B);
  DSLA_CHECK_TYPE(x.scalar_type() == dtype_ && y.scalar_type() == dtype_, "x", who,
                  ": vectors must have the matrix dtype ", dtype_, ", got ", x.scalar_type(),
                  " and ", y.scalar_type());
  DSLA_CHECK_ARG(x.device() == device_ && y.device() == device_, "x", who,
                 ": vectors must be on the matrix device ", device_, ", got ", x.device(), " and ",
                 y.device());
  DSLA_CHECK_ARG(y.numel() == 0 || (!x.is_same(y) && x.data_ptr() != y.data_ptr()), "y", who,
                 ": must not alias x (pass a separate output)");
}

void PrecondBase::check_update(const SparseMatrix& A) const {
  DSLA_CHECK_ARG(A.defined(), "A", "update: the matrix is undefined");
  const auto& p = A.pattern();
  const bool same =
      p == pattern_ || (p->rows() == pattern_->rows() && p->cols() == pattern_->cols() &&
                        p->nnz() == pattern_->nnz() && p->device() == pattern_->device() &&
                        at::equal(p->crow().to(at::kLong), pattern_->crow().to(at::kLong)) &&
                        at::equal(p->col().to(at::kLong), pattern_->col().to(at::kLong)));
  DSLA_CHECK_ARG(same, "A",
                 "update: the sparsity pattern differs from the one this preconditioner was "
                 "built for; build a new preconditioner for a new pattern");
  DSLA_CHECK_TYPE(A.dtype() == dtype_, "A", "update: dtype ", A.dtype(), " differs from ", dtype_,
                  " used at setup");
}

at::Tensor PrecondBase::values_2d(const SparseMatrix& A) {
  auto v = A.values().detach().reshape({A.batch_size(), A.nnz()}).resolve_conj().contiguous();
  // One pass at setup: a NaN would otherwise flow silently through the sweeps into every apply.
  auto bad = at::isfinite(v).logical_not();
  if (bad.any().item<bool>()) {
    const int64_t q = at::nonzero(bad.flatten())[0].item<int64_t>();
    DSLA_CHECK_ARG(
        false, "A", "value ", q % std::max<int64_t>(A.nnz(), 1), " (CSR order)",
        A.batch_size() > 1 ? " of batch member " + std::to_string(q / A.nnz()) : std::string(),
        " is not finite (NaN or Inf); a preconditioner needs finite values");
  }
  return v;
}

namespace {

class AdjointView final : public Preconditioner {
 public:
  explicit AdjointView(std::shared_ptr<const Preconditioner> p) : p_(std::move(p)) {}
  int64_t rows() const override { return p_->cols(); }
  int64_t cols() const override { return p_->rows(); }
  at::ScalarType dtype() const override { return p_->dtype(); }
  c10::Device device() const override { return p_->device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override { p_->apply_adjoint(x, y); }
  bool has_adjoint() const override { return true; }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override { p_->apply(x, y); }
  void update(const SparseMatrix&) override {
    TORCH_CHECK_NOT_IMPLEMENTED(false,
                                "dsla: update() the original preconditioner, then call "
                                "adjoint() again");
  }
  bool is_symmetric() const override { return p_->is_symmetric(); }
  std::string name() const override { return p_->name() + "^H"; }
  std::shared_ptr<const Preconditioner> adjoint() const override { return p_; }

 private:
  std::shared_ptr<const Preconditioner> p_;
};

}  // namespace

std::shared_ptr<const Preconditioner> adjoint_view(std::shared_ptr<const Preconditioner> parent) {
  return std::make_shared<AdjointView>(std::move(parent));
}

at::Tensor diag_positions_cpu(const Pattern& p) {
  return p.diag_pos().to(at::kCPU).contiguous();
}

namespace {

// Diagonal positions for a setup: cached on the pattern, except on the GPU, where the CG +
// Jacobi path keeps only the matrix and a few vectors (the positions cost 8 B per row).
at::Tensor setup_diag_pos(const Pattern& p) {
  return p.device().is_cuda() ? p.find_diag_pos() : p.diag_pos();
}

void check_positions(const at::Tensor& pos, const std::string& kind) {
  if (pos.numel() == 0) return;
  const int64_t min_pos = pos.min().item<int64_t>();
  if (min_pos >= 0) return;
  const int64_t row = at::nonzero(pos < 0).view(-1)[0].item<int64_t>();
  DSLA_CHECK_ARG(false, "A", "precond '", kind, "' needs every diagonal entry stored; row ", row,
                 " has none. Add the diagonal to the pattern (an explicit zero is kept), or use "
                 "precond='block_jacobi' or 'none'");
}

}  // namespace

void check_diagonal_stored(const SparseMatrix& A, const std::string& kind) {
  if (A.rows() == 0) return;
  check_positions(setup_diag_pos(*A.pattern()), kind);
}

at::Tensor checked_diagonal(const SparseMatrix& A, const std::string& kind) {
  const auto pos = A.rows() == 0 ? at::Tensor() : setup_diag_pos(*A.pattern());
  if (A.rows() > 0) check_positions(pos, kind);
  const int64_t B = A.batch_size();
  auto v = A.values().detach().reshape({B, A.nnz()});
  auto d = A.rows() == 0 ? v.narrow(1, 0, 0) : v.index_select(1, pos);  // [B, n]
  auto bad = (d == 0).logical_or(at::isfinite(d).logical_not());
  if (A.rows() > 0 && bad.any().item<bool>()) {
    auto where = at::nonzero(bad)[0].to(at::kCPU);  // (member, row), row-major: first member
    const int64_t member = where[0].item<int64_t>(), row = where[1].item<int64_t>();
    DSLA_CHECK_ARG(false, "A", "precond '", kind,
                   "' divides by the diagonal, but the diagonal "
                   "entry of row ",
                   row, B > 1 ? " (batch member " + std::to_string(member) + ")" : std::string(),
                   " is zero or not finite. Use precond='block_jacobi', 'ilu0' or 'none', or fix "
                   "the matrix");
  }
  return d.contiguous();
}

bool is_hermitian(const SparseMatrix& A) {
  if (A.rows() == 0) return true;
  return A.detach().is_symmetric(/*rtol=*/1e-12, /*atol=*/0.0, /*hermitian=*/true);
}

}  // namespace dsla::precond::detail
