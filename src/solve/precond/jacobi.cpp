// Jacobi: M = diag(A), applied as one elementwise product with the stored inverse diagonal. CG
// reads that inverse through jacobi_inverse_diagonal() and fuses it into its vector updates.
#include "solve/precond/common.h"

namespace dsla::precond::detail {

namespace {

class Jacobi final : public PrecondBase {
 public:
  explicit Jacobi(const SparseMatrix& A) : PrecondBase(A) { setup(A); }

  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "jacobi.apply");
    at::mul_out(y, x, dinv_);
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "jacobi.apply_adjoint");
    at::mul_out(y, x, dinv_conj_);
  }
  void update(const SparseMatrix& A) override {
    check_update(A);
    batch_ = A.batch_size();
    setup(A);
  }
  bool is_symmetric() const override { return true; }
  std::string name() const override { return "jacobi"; }
  at::Tensor jacobi_inverse_diagonal() const override { return dinv_; }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    // diag(A)ᴴ = conj(diag(A)): the same operator unless the diagonal has imaginary parts.
    if (real_diagonal_) return shared_from_this();
    return adjoint_view(shared_from_this());
  }

 private:
  void setup(const SparseMatrix& A) {
    dinv_ = checked_diagonal(A, "jacobi").reciprocal().unsqueeze(-1).contiguous();  // [B', n, 1]
    real_diagonal_ = !dinv_.is_complex() || at::imag(dinv_).eq(0).all().item<bool>();
    dinv_conj_ = real_diagonal_ ? dinv_ : dinv_.conj().resolve_conj().contiguous();
  }

  at::Tensor dinv_, dinv_conj_;
  bool real_diagonal_ = true;
};

// "none": the identity, so callers need no special case.
class Identity final : public PrecondBase {
 public:
  explicit Identity(const SparseMatrix& A) : PrecondBase(A) { batch_ = 1; }
  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "none.apply");
    y.copy_(x);
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override { apply(x, y); }
  void update(const SparseMatrix& A) override { check_update(A); }
  bool is_symmetric() const override { return true; }
  std::string name() const override { return "none"; }
  std::shared_ptr<const Preconditioner> adjoint() const override { return shared_from_this(); }
};

}  // namespace

PreconditionerPtr make_jacobi(const SparseMatrix& A, const Options&) {
  return std::make_shared<Jacobi>(A);
}

PreconditionerPtr make_identity(const SparseMatrix& A) {
  return std::make_shared<Identity>(A);
}

}  // namespace dsla::precond::detail
