// The differentiable distributed solve: the same autograd node as one-process solves
// (solve_fn.cpp, detail::solve_autograd) over a backend for DistSolver. Its values layout is
// DistMatrix::values() (the diagonal block's values, then the off-diagonal block's), and the
// values gradient −λ[row]·conj(x[col]) needs x at the ghost columns: one halo exchange.
// Backward is collective: every rank runs it (the loss must be global, e.g. global_sum).
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "solve/solver_internal.h"

namespace dsla::dist {
namespace {

// The backend of A x = b, or of Aᴴ x = b (`adjoint`: solve_adjoint). For Aᴴ, whose entry
// (j, i) is conj(A[i, j]), the gradient with respect to A's values is −x[i]·conj(λ[j]): the
// same product with λ and x swapped.
class DistBackend final : public dsla::detail::SolveBackend {
 public:
  DistBackend(DistSolver s, bool adjoint) : s_(std::move(s)), adjoint_(adjoint) {}
  at::Tensor solve3(const at::Tensor& b3, bool adjoint, SolveInfo* info,
                    bool force_warn) const override {
    return s_.solve3(b3, adjoint != adjoint_, info, force_warn);
  }
  at::Tensor values_grad(const at::Tensor& lam, const at::Tensor& x,
                         bool differentiable) const override {
    const auto& A = s_.matrix();
    return adjoint_ ? -A.values_grad(x, lam, differentiable)
                    : -A.values_grad(lam, x, differentiable);
  }
  dsla::detail::SolveBackendPtr adjoint(const at::Tensor&, at::Tensor&) const override {
    TORCH_CHECK_NOT_IMPLEMENTED(false,
                                "dsla: double backward (create_graph=True) through a distributed "
                                "solve is not supported yet");
    return nullptr;
  }
  int64_t version() const override { return s_.version(); }

 private:
  DistSolver s_;
  bool adjoint_;
};

at::Tensor to3(const DistMatrix& A, const at::Tensor& b, std::vector<int64_t>& x_shape) {
  const int64_t n = A.n_owned();
  const bool batched = A.is_batched();
  const int64_t B = A.batch_size();
  if (b.dim() == 1) {
    x_shape = batched ? std::vector<int64_t>{B, b.size(0)} : std::vector<int64_t>{b.size(0)};
    return b.reshape({1, b.size(0), 1});
  }
  if (b.dim() == 2 && batched && b.size(0) == B && b.size(1) == n) {
    x_shape = {B, n};
    return b.unsqueeze(-1);
  }
  if (b.dim() == 2) {
    x_shape = batched ? std::vector<int64_t>{B, b.size(0), b.size(1)}
                      : std::vector<int64_t>{b.size(0), b.size(1)};
    return b.unsqueeze(0);
  }
  x_shape = b.sizes().vec();
  return b;
}

}  // namespace

at::Tensor solve(const DistSolver& solver, const at::Tensor& b, SolveInfo* info, bool adjoint) {
  TORCH_CHECK_VALUE(solver.defined(), "dsla: the DistSolver is empty (default-constructed)");
  DSLA_CHECK_ARG(b.defined(), "b", "is undefined");
  const auto& A = solver.matrix();
  std::vector<int64_t> x_shape;
  auto b3 = to3(A, b, x_shape);
  // The autograd node's values handle: A.values() (a concatenation: a copy of every stored
  // value) only when a gradient can flow to them; otherwise a broadcast of one zero with its
  // shape and dtype (the node reads no more of it), not 8 bytes per entry alive for the solve.
  const bool grad = c10::GradMode::is_enabled() &&
                    (A.diag().values().requires_grad() || A.offd().values().requires_grad());
  at::Tensor v2;
  if (grad) {
    auto v = A.values();
    v2 = v.dim() == 2 ? v : v.unsqueeze(0);
  } else {
    v2 = at::zeros({1, 1}, A.diag().values().options()).expand({A.batch_size(), A.local_nnz()});
  }
  auto x3 = dsla::detail::solve_autograd(
      v2, b3, std::make_shared<DistBackend>(solver.detached(), adjoint), info);
  if (b.dim() == 3 && !A.is_batched()) return x3;
  return x3.reshape(x_shape);
}

at::Tensor solve(const DistMatrix& A, const at::Tensor& b, const SolveOptions& opt,
                 SolveInfo* info) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) distributed matrix");
  DSLA_CHECK_ARG(b.defined(), "b", "is undefined");
  return solve(DistSolver(A, opt), b, info);
}

}  // namespace dsla::dist
