// AMG as a Preconditioner.
#include "solve/amg/amg_preconditioner.h"

#include <dsla/errors.h>

namespace dsla::amg {

AmgPreconditioner::AmgPreconditioner(const SparseMatrix& A, const AmgOptions& opt)
    : opt_(opt), h_(AmgHierarchy::build(A, opt)), hier_(h_.get()) {}

AmgPreconditioner::AmgPreconditioner(AmgHierarchyPtr h)
    : opt_(h->options()), h_(std::move(h)), hier_(h_.get()) {}

AmgPreconditioner::AmgPreconditioner(const AmgHierarchy& borrowed)
    : opt_(borrowed.options()), hier_(&borrowed) {}

int64_t AmgPreconditioner::rows() const {
  return hier_->rows();
}
int64_t AmgPreconditioner::cols() const {
  return hier_->rows();
}
at::ScalarType AmgPreconditioner::dtype() const {
  return hier_->dtype();
}
c10::Device AmgPreconditioner::device() const {
  return hier_->device();
}

void AmgPreconditioner::apply(const at::Tensor& x, at::Tensor& y) const {
  DSLA_CHECK_ARG(x.dim() == 3 && x.size(1) == rows(), "x", "must be [B, ", rows(), ", k], got ",
                 x.sizes());
  auto z = hier_->apply(x.contiguous());
  if (y.defined() && y.sizes() == z.sizes()) {
    y.copy_(z);
  } else {
    y = z;
  }
}

at::Tensor AmgPreconditioner::applied(const at::Tensor& x) const {
  DSLA_CHECK_ARG(x.dim() == 3 && x.size(1) == rows(), "x", "must be [B, ", rows(), ", k], got ",
                 x.sizes());
  return hier_->apply(x.contiguous());
}

void AmgPreconditioner::apply_adjoint(const at::Tensor& x, at::Tensor& y) const {
  adjoint()->apply(x, y);
}

void AmgPreconditioner::update(const SparseMatrix& A) {
  TORCH_CHECK(h_ != nullptr,
              "dsla: a borrowed AMG hierarchy cannot be updated (amg::solve's own CG); update the "
              "hierarchy itself");
  h_->update(A);
  adjoint_.reset();
}

bool AmgPreconditioner::is_symmetric() const {
  return hier_->is_symmetric();
}

std::shared_ptr<const precond::Preconditioner> AmgPreconditioner::adjoint() const {
  if (hier_->is_symmetric()) return shared_from_this();
  if (!adjoint_) {
    auto o = opt_;
    if (o.near_nullspace.defined()) o.near_nullspace = hier_->near_nullspace(0);
    adjoint_ = std::make_shared<AmgPreconditioner>(hier_->matrix().conj_transpose(), o);
  }
  return adjoint_;
}

precond::PreconditionerPtr make_amg_preconditioner(const SparseMatrix& A, const AmgOptions& opt) {
  return std::make_shared<AmgPreconditioner>(A, opt);
}

}  // namespace dsla::amg
