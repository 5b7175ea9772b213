// Stand-in for the preconditioner branch until it is merged: a weak make_preconditioner with
// "none" and "jacobi" only. The strong definition in src/solve/precond/ replaces it at link time;
// delete this file at that merge.
#include <ATen/ATen.h>
#include <dsla/errors.h>

#include "solve/precond/preconditioner.h"

namespace dsla::precond {
namespace {

class FallbackJacobi final : public Preconditioner {
 public:
  explicit FallbackJacobi(const SparseMatrix& A) { update(A); }
  int64_t rows() const override { return n_; }
  int64_t cols() const override { return n_; }
  at::ScalarType dtype() const override { return dinv_.scalar_type(); }
  c10::Device device() const override { return dinv_.device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override { at::mul_out(y, dinv_, x); }
  bool has_adjoint() const override { return true; }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    at::mul_out(y, dinv_.conj(), x);
  }
  void update(const SparseMatrix& A) override {
    n_ = A.rows();
    auto d = A.detach().diagonal();
    if (d.dim() == 1) d = d.unsqueeze(0);
    DSLA_CHECK_ARG((d != 0).all().item<bool>(), "precond",
                   "jacobi needs a nonzero diagonal; use precond='none'");
    dinv_ = (1 / d).unsqueeze(-1).contiguous();
  }
  bool is_symmetric() const override { return true; }
  std::string name() const override { return "jacobi"; }
  at::Tensor jacobi_inverse_diagonal() const override { return dinv_; }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    if (!dinv_.is_complex()) return std::make_shared<FallbackJacobi>(*this);
    auto a = std::make_shared<FallbackJacobi>(*this);
    a->dinv_ = dinv_.conj().resolve_conj().contiguous();
    return a;
  }

 private:
  int64_t n_ = 0;
  at::Tensor dinv_;
};

}  // namespace

__attribute__((weak)) PreconditionerPtr make_preconditioner(const SparseMatrix& A,
                                                            const Options& opt) {
  if (opt.kind == "none") return nullptr;
  TORCH_CHECK_NOT_IMPLEMENTED(opt.kind == "jacobi", "dsla: preconditioner '", opt.kind,
                              "' is not built in this version; use 'jacobi' or 'none'");
  return std::make_shared<FallbackJacobi>(A);
}

}  // namespace dsla::precond
