// The AMG hierarchy as a dsla Preconditioner (precond kind "amg").
#pragma once

#include <dsla/amg.h>

#include "solve/precond/preconditioner.h"

namespace dsla::amg {

class AmgPreconditioner : public precond::Preconditioner,
                          public std::enable_shared_from_this<AmgPreconditioner> {
 public:
  AmgPreconditioner(const SparseMatrix& A, const AmgOptions& opt);
  // An existing hierarchy (dsla.solve(A, b, M=dsla.amg(A)): the user's, shared, not rebuilt).
  explicit AmgPreconditioner(AmgHierarchyPtr h);
  // A borrowed hierarchy (amg::solve's CG: the caller's, which outlives the solve): read only,
  // update() refuses it.
  explicit AmgPreconditioner(const AmgHierarchy& borrowed);

  int64_t rows() const override;
  int64_t cols() const override;
  at::ScalarType dtype() const override;
  c10::Device device() const override;
  // y = M⁻¹ x: one cycle from zero. x [B', n, k].
  void apply(const at::Tensor& x, at::Tensor& y) const override;
  at::Tensor applied(const at::Tensor& x) const override;  // the cycle's own result, no copy
  bool has_adjoint() const override { return true; }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override;

  void update(const SparseMatrix& A) override;
  bool is_symmetric() const override;
  std::string name() const override { return "amg"; }
  // Symmetric: itself (the backward solve reuses the hierarchy). Otherwise the AMG of Aᴴ,
  // built on first request with the same options.
  std::shared_ptr<const precond::Preconditioner> adjoint() const override;

 private:
  AmgOptions opt_;
  AmgHierarchyPtr h_;                   // owned or shared; null when borrowed
  const AmgHierarchy* hier_ = nullptr;  // the hierarchy used: h_.get(), or the borrowed one
  mutable std::shared_ptr<AmgPreconditioner> adjoint_;
};

// The factory behind precond kind "amg".
precond::PreconditionerPtr make_amg_preconditioner(const SparseMatrix& A,
                                                   const AmgOptions& opt = {});

}  // namespace dsla::amg
