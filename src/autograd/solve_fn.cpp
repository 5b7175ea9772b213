// Autograd for x = A⁻¹ b (DESIGN.md, adjoint rule): with upstream gradient g, solve Aᴴ λ = g
// with the same Solver, then ∂L/∂b = λ and ∂L/∂values[q] = −λ[row q] · conj(x[col q]).
// The node keeps x, the values handle and the Solver: O(nnz + n) whatever the iteration count.
// When backward records a graph (create_graph), λ comes from this Function again (on Aᴴ, whose
// values are a differentiable index op of A's) and the value gradient from differentiable ATen
// ops, so double backward works.
#include <dsla/errors.h>
#include <dsla/solve.h>
#include <torch/autograd.h>

#include "autograd/solver_holder.h"
#include "core/products.h"
#include "solve/solver_internal.h"

namespace dsla {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Tensor reduce_batch(const at::Tensor& g, int64_t b) {
  return (b == 1 && g.size(0) != 1) ? g.sum(0, /*keepdim=*/true) : g;
}

at::Tensor values2d(const SparseMatrix& A) {
  return A.is_batched() ? A.values() : A.values().unsqueeze(0);
}

class SolveFunction : public torch::autograd::Function<SolveFunction> {
 public:
  // values2 [Bv, nnz] are the solver's matrix values (the solver was prepared from them); b3
  // [Bb, n, k]. Returns x3 [B, m, k].
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& values2, const at::Tensor& b3,
                            const Solver& solver, SolveInfo* info) {
    // A solve inside a backward pass (double backward) warns: its SolveInfo is not returned.
    auto x = detail::solve3(solver, b3, /*adjoint=*/false, info, /*force_warn=*/info == nullptr);
    ctx->saved_data["solver"] = autograd::hold(solver.detached());
    ctx->saved_data["version"] = solver.version();
    ctx->saved_data["b_batch"] = b3.size(0);
    ctx->save_for_backward({values2, x});
    return x;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& values2 = saved[0];
    const auto& x = saved[1];
    const Solver solver = autograd::solver_of(ctx->saved_data["solver"]);
    TORCH_CHECK_VALUE(
        solver.version() == ctx->saved_data["version"].toInt(),
        "dsla: the Solver was refactored after this solve; backward needs the values the "
        "solution was computed with. Call backward before refactor(), or use a new Solver");
    const int64_t b_batch = ctx->saved_data["b_batch"].toInt();
    auto g = grads[0].contiguous();
    const auto& pattern = solver.matrix().pattern();
    at::Tensor lam, gv, gb;
    if (!ctx->needs_input_grad(0) && !ctx->needs_input_grad(1))
      return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    if (at::GradMode::is_enabled()) {
      // Differentiable backward: the adjoint solve is this Function on Aᴴ.
      Solver adj = solver.adjoint();
      auto vt = values2.index_select(-1, pattern->transpose_perm());
      if (vt.is_complex()) vt = vt.conj();
      lam = SolveFunction::apply(vt, g, adj, nullptr);
      if (ctx->needs_input_grad(0))
        gv = reduce_batch(-detail::sddmm_reference(*pattern, lam, x), values2.size(0));
    } else {
      lam = detail::solve3(solver, g, /*adjoint=*/true, nullptr, /*force_warn=*/true);
      if (ctx->needs_input_grad(0))
        gv = reduce_batch(-detail::sddmm(*pattern, lam, x), values2.size(0));
    }
    if (ctx->needs_input_grad(1)) gb = reduce_batch(lam, b_batch);
    return {gv, gb, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor solve(const Solver& solver, const at::Tensor& b, SolveInfo* info) {
  TORCH_CHECK_VALUE(solver.defined(), "dsla: the Solver is empty (default-constructed)");
  const auto& A = solver.matrix();
  auto r = detail::normalize_rhs(A, b, /*adjoint=*/false, "b");
  auto x3 = SolveFunction::apply(values2d(A), r.b3, solver, info);
  return x3.reshape(r.x_shape);
}

at::Tensor solve(const SparseMatrix& A, const at::Tensor& b, const SolveOptions& opt,
                 SolveInfo* info) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  Solver s(A, opt);
  return solve(s, b, info);
}

}  // namespace dsla
