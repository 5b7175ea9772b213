// A user-supplied operator z = M⁻¹ r as a preconditioner (the Python layer wraps callables into a
// LinearOperator first). Nothing to set up, so update() is a no-op.
#include <dsla/errors.h>

#include "solve/precond/common.h"

namespace dsla::precond {

namespace {

class UserPreconditioner final : public Preconditioner,
                                 public std::enable_shared_from_this<UserPreconditioner> {
 public:
  UserPreconditioner(LinearOperatorPtr op, bool symmetric, std::string name)
      : op_(std::move(op)), symmetric_(symmetric), name_(std::move(name)) {}
  int64_t rows() const override { return op_->rows(); }
  int64_t cols() const override { return op_->cols(); }
  at::ScalarType dtype() const override { return op_->dtype(); }
  c10::Device device() const override { return op_->device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override { op_->apply(x, y); }
  bool has_adjoint() const override { return symmetric_ || op_->has_adjoint(); }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    if (symmetric_) return op_->apply(x, y);
    TORCH_CHECK_NOT_IMPLEMENTED(op_->has_adjoint(), "dsla: the user preconditioner '", name_,
                                "' has no adjoint: give the operator an apply_adjoint, or "
                                "declare it symmetric if M⁻¹ is Hermitian");
    op_->apply_adjoint(x, y);
  }
  void update(const SparseMatrix&) override {}
  bool is_symmetric() const override { return symmetric_; }
  std::string name() const override { return name_; }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    if (symmetric_) return shared_from_this();
    return detail::adjoint_view(shared_from_this());
  }

 private:
  LinearOperatorPtr op_;
  bool symmetric_;
  std::string name_;
};

}  // namespace

PreconditionerPtr make_user_preconditioner(LinearOperatorPtr op, bool symmetric, std::string name) {
  DSLA_CHECK_ARG(op != nullptr, "op", "the user preconditioner operator is null");
  DSLA_CHECK_ARG(op->rows() == op->cols(), "op", "a preconditioner must be square, got ",
                 op->rows(), " x ", op->cols());
  return std::make_shared<UserPreconditioner>(std::move(op), symmetric, std::move(name));
}

}  // namespace dsla::precond
