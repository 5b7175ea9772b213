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
    // On the GPU, where the CG path's memory is a few vectors, a uniform diagonal (constant-
    // coefficient stencils) is kept as one value broadcast over [1, n, 1] (stride 0); the CUDA
    // CG driver then passes it to its kernels as a scalar.
    if (dinv_.is_cuda() && dinv_.size(0) == 1 && n_ > 1 && !dinv_.is_complex()) {
      auto mm = at::aminmax(dinv_);
      if (at::equal(std::get<0>(mm), std::get<1>(mm))) {
        dinv_ = dinv_.narrow(1, 0, 1).clone().expand({1, n_, 1});
      }
    }
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
