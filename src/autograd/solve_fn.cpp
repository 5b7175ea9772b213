// Autograd for x = A⁻¹ b (DESIGN.md, adjoint rule): with upstream gradient g, solve Aᴴ λ = g
// with the same prepared solve, then ∂L/∂b = λ and ∂L/∂values[q] = −λ[row q] · conj(x[col q]).
// The node keeps x, the values handle and the prepared solve: O(nnz + n) whatever the iteration
// count. One rule for every kind of matrix: the node drives a detail::SolveBackend (the
// one-process Solver here, dist::DistSolver for distributed matrices, whose values gradient
// needs the ghost entries of x).
// When backward records a graph (create_graph), λ comes from this Function again (on Aᴴ, whose
// values are a differentiable index op of A's) and the value gradient from differentiable ATen
// ops, so double backward works.
#include <dsla/errors.h>
#include <dsla/solve.h>
#include <torch/autograd.h>
#include <torch/custom_class.h>

#include "core/products.h"
#include "solve/solver_internal.h"

namespace dsla {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct BackendHolder : torch::CustomClassHolder {
  explicit BackendHolder(detail::SolveBackendPtr b) : backend(std::move(b)) {}
  detail::SolveBackendPtr backend;
};
const auto kBackendHolderClass = torch::class_<BackendHolder>("dsla", "SolveBackendHolder");

at::Tensor reduce_batch(const at::Tensor& g, int64_t b) {
  return (b == 1 && g.size(0) != 1) ? g.sum(0, /*keepdim=*/true) : g;
}

at::Tensor values2d(const SparseMatrix& A) {
  return A.is_batched() ? A.values() : A.values().unsqueeze(0);
}

// The one-process Solver as a backend.
class SolverBackend final : public detail::SolveBackend {
 public:
  explicit SolverBackend(Solver s) : s_(std::move(s)) {}
  at::Tensor solve3(const at::Tensor& b3, bool adjoint, SolveInfo* info,
                    bool force_warn) const override {
    return detail::solve3(s_, b3, adjoint, info, force_warn);
  }
  at::Tensor values_grad(const at::Tensor& lam, const at::Tensor& x,
                         bool differentiable) const override {
    const auto& p = *s_.matrix().pattern();
    return differentiable ? -detail::sddmm_reference(p, lam, x) : -detail::sddmm(p, lam, x);
  }
  detail::SolveBackendPtr adjoint(const at::Tensor& values2, at::Tensor& vt) const override {
    vt = values2.index_select(-1, s_.matrix().pattern()->transpose_perm());
    if (vt.is_complex()) vt = vt.conj();
    return std::make_shared<SolverBackend>(s_.adjoint());
  }
  int64_t version() const override { return s_.version(); }
  bool least_squares() const override {
    return s_.method() == Method::LSQR || s_.method() == Method::LSMR;
  }
  bool damped() const override { return s_.options().damp > 0; }
  at::Tensor residual(const at::Tensor& b3, const at::Tensor& x3) const override {
    const auto& A = s_.matrix();
    return b3.sub(detail::spmm(*A.pattern(), values2d(A), x3));
  }

 private:
  Solver s_;
};

class SolveFunction : public torch::autograd::Function<SolveFunction> {
 public:
  // values2 [Bv, nnz] are the backend's matrix values (it was prepared from them); b3
  // [Bb, n, k]. Returns x3 [B, m, k].
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& values2, const at::Tensor& b3,
                            const detail::SolveBackendPtr& backend, SolveInfo* info) {
    // A solve inside a backward pass (double backward) warns: its SolveInfo is not returned.
    auto x = backend->solve3(b3, /*adjoint=*/false, info, /*force_warn=*/info == nullptr);
    ctx->saved_data["backend"] = c10::IValue(c10::make_intrusive<BackendHolder>(backend));
    ctx->saved_data["version"] = backend->version();
    ctx->saved_data["b_batch"] = b3.size(0);
    // Least squares keep b for the residual term of the values gradient.
    if (backend->least_squares()) {
      ctx->save_for_backward({values2, x, b3});
    } else {
      ctx->save_for_backward({values2, x});
    }
    return x;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& values2 = saved[0];
    const auto& x = saved[1];
    const auto backend = ctx->saved_data["backend"].toCustomClass<BackendHolder>()->backend;
    TORCH_CHECK_VALUE(
        backend->version() == ctx->saved_data["version"].toInt(),
        "dsla: the Solver was refactored after this solve; backward needs the values the "
        "solution was computed with. Call backward before refactor(), or use a new Solver");
    const int64_t b_batch = ctx->saved_data["b_batch"].toInt();
    auto g = grads[0].contiguous();
    at::Tensor lam, gv, gb;
    if (!ctx->needs_input_grad(0) && !ctx->needs_input_grad(1))
      return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    const bool ls = backend->least_squares();
    if (ls) {
      TORCH_CHECK_NOT_IMPLEMENTED(!backend->damped(),
                                  "dsla: gradients through a damped least-squares solve (damp > "
                                  "0) are not implemented; solve under torch.no_grad()");
      TORCH_CHECK_NOT_IMPLEMENTED(!at::GradMode::is_enabled(),
                                  "dsla: double backward through a least-squares solve (lsqr / "
                                  "lsmr) is not implemented");
    }
    if (at::GradMode::is_enabled()) {
      // Differentiable backward: the adjoint solve is this Function on Aᴴ.
      at::Tensor vt;
      auto adj = backend->adjoint(values2, vt);
      lam = SolveFunction::apply(vt, g, adj, nullptr);
      if (ctx->needs_input_grad(0))
        gv = reduce_batch(backend->values_grad(lam, x, /*differentiable=*/true), values2.size(0));
    } else {
      lam = backend->solve3(g, /*adjoint=*/true, nullptr, /*force_warn=*/true);
      if (ctx->needs_input_grad(0)) {
        auto gfull = backend->values_grad(lam, x, /*differentiable=*/false);
        if (ls) {
          // λ = A μ (the minimum-norm solution of Aᴴ λ = g): μ = A⁺ λ, one more (consistent)
          // least-squares solve; the residual term + r[row] conj(μ[col]).
          auto mu = backend->solve3(lam, /*adjoint=*/false, nullptr, /*force_warn=*/true);
          auto r = backend->residual(saved[2], x);
          gfull = gfull.sub(backend->values_grad(r, mu, /*differentiable=*/false));
        }
        gv = reduce_batch(gfull, values2.size(0));
      }
    }
    if (ctx->needs_input_grad(1)) gb = reduce_batch(lam, b_batch);
    // Mixed precision: the products ran in float64; each gradient takes its input's dtype.
    if (gv.defined() && gv.scalar_type() != values2.scalar_type())
      gv = gv.to(values2.scalar_type());
    return {gv, gb, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

namespace detail {
at::Tensor solve_autograd(const at::Tensor& values2, const at::Tensor& b3,
                          const SolveBackendPtr& backend, SolveInfo* info) {
  return SolveFunction::apply(values2, b3, backend, info);
}
}  // namespace detail

at::Tensor solve(const Solver& solver, const at::Tensor& b, SolveInfo* info) {
  TORCH_CHECK_VALUE(solver.defined(), "dsla: the Solver is empty (default-constructed)");
  const auto& A = solver.matrix();
  auto r = detail::normalize_rhs(A, b, /*adjoint=*/false, "b");
  auto x3 = detail::solve_autograd(values2d(A), r.b3,
                                   std::make_shared<SolverBackend>(solver.detached()), info);
  return x3.reshape(r.x_shape);
}

at::Tensor solve(const SparseMatrix& A, const at::Tensor& b, const SolveOptions& opt,
                 SolveInfo* info) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  SolveOptions o = opt;
  if (b.defined() && detail::is_mixed_precision(A.dtype(), b.scalar_type())) {
    // Before any set-up (a factorization would run first and fail on its own terms).
    detail::check_mixed_precision_method(o.method);
    if (o.method == Method::Auto) {
      // Mixed precision runs CG (solve3): 'auto' picks it when A can be SPD.
      DSLA_CHECK_TYPE(A.is_symmetric(1e-12), "b",
                      "is torch.float64 and A torch.float32 (mixed precision, which runs CG), but "
                      "A is not symmetric; convert A with A.to(torch.float64)");
      o.method = Method::CG;
    }
  }
  Solver s(A, o);
  return solve(s, b, info);
}

}  // namespace dsla
