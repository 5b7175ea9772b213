// Gradients of a nonlinear solution u* with F(u*, θ) = 0 (DESIGN.md, adjoint rules): with
// upstream gradient g, solve (∂F/∂u)ᵀ λ = g at u* — the assembled Jacobian's Solver adjoint, or
// GMRES on vector-Jacobian products without one — then ∂L/∂θ = −λᵀ ∂F/∂θ by one vjp through F
// (called with grad enabled on the live inputs). The node keeps u*, the inputs and the callbacks:
// nothing of the iterations, so memory does not grow with their count.
// Also the exact Jacobian-vector products of JFNK (autograd_jvp): autograd mechanics live here.
#include <c10/core/GradMode.h>
#include <dsla/errors.h>
#include <dsla/nonlinear.h>
#include <torch/autograd.h>
#include <torch/custom_class.h>

#include "solve/nonlinear/nonlinear_internal.h"

namespace dsla {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What backward needs besides tensors (registered so it can ride in saved_data).
struct ImplicitSpec : torch::CustomClassHolder {
  ResidualFn F;
  JacobianFn J;
  SolveOptions linear;
  std::shared_ptr<const VectorSpace> space;  // a distributed solve's (NonlinearOptions::space)
  decltype(NonlinearOptions::linear_step) linear_step;
};
const auto kImplicitSpecClass = torch::class_<ImplicitSpec>("dsla", "NonlinearImplicitSpec");

// ∂F/∂u at u* applied transposed, through the graph of r = F(uu).
at::Tensor vjp(const at::Tensor& r, const at::Tensor& uu, const at::Tensor& v) {
  auto g = torch::autograd::grad({r}, {uu}, {v}, /*retain_graph=*/true, /*create_graph=*/false,
                                 /*allow_unused=*/true)[0];
  return g.defined() ? g : at::zeros_like(v);
}

class ImplicitFunction : public torch::autograd::Function<ImplicitFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, at::TensorList inputs, const at::Tensor& u_star,
                            const c10::intrusive_ptr<ImplicitSpec>& spec) {
    ctx->saved_data["spec"] = c10::IValue(spec);
    std::vector<at::Tensor> saved(inputs.begin(), inputs.end());
    saved.push_back(u_star);
    ctx->save_for_backward(saved);
    return u_star.clone();
  }

  // One entry per forward argument: the inputs, u_star, the spec.
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor u = saved.back();
    saved.pop_back();
    variable_list out(saved.size() + 2);
    std::vector<at::Tensor> want;
    std::vector<size_t> where;
    for (size_t i = 0; i < saved.size(); ++i) {
      if (ctx->needs_input_grad(i)) {
        want.push_back(saved[i]);
        where.push_back(i);
      }
    }
    if (want.empty() || !grads[0].defined()) return out;
    const auto spec = ctx->saved_data["spec"].toCustomClass<ImplicitSpec>();
    const bool matrix_free = !spec->J && !spec->linear_step;
    const auto g = grads[0].reshape(u.sizes()).contiguous();
    // One evaluation of F at u* with a graph to the inputs (and to u without a Jacobian: the
    // adjoint's products come from the same graph).
    at::Tensor uu = matrix_free ? u.detach().requires_grad_(true) : u.detach();
    at::Tensor r;
    {
      c10::AutoGradMode on(true);
      r = spec->F(uu);
    }
    TORCH_CHECK_VALUE(r.requires_grad(),
                      "dsla: nonlinear_solve backward: F(u*) records no autograd graph to the "
                      "inputs that require grad; compute F with torch operations on them (Python: "
                      "pass them as params or in captured=)");
    SolveInfo si;
    at::Tensor lam;
    {
      c10::AutoGradMode off(false);
      if (spec->linear_step) {
        lam = spec->linear_step(u, g, /*adjoint=*/true, &si, nullptr);
      } else if (matrix_free) {
        const auto o = nonlinear::matrix_free_options(spec->linear, /*adjoint=*/true);
        lam = nonlinear::solve_matrix_free([&r, &uu](const at::Tensor& v) { return vjp(r, uu, v); },
                                           g, o, &si, spec->space);
      } else {
        auto Jm = spec->J(u).detach();
        DSLA_CHECK_ARG(Jm.rows() == u.size(0) && Jm.cols() == u.size(0), "jacobian",
                       "returned shape (", Jm.rows(), ", ", Jm.cols(), "); expected (", u.size(0),
                       ", ", u.size(0), ")");
        nonlinear::AssembledSolve S(spec->linear);
        lam = S.solve(Jm, g, /*adjoint=*/true, &si);
      }
    }
    if (!si.converged) {
      TORCH_WARN("dsla: nonlinear_solve backward: the adjoint solve did not converge (", si.message,
                 "); gradients are inaccurate");
    }
    // First order only: the gradients carry no graph (double backward sees them as constants).
    auto gs = torch::autograd::grad({r}, want, {-lam}, /*retain_graph=*/false,
                                    /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t j = 0; j < where.size(); ++j) out[where[j]] = gs[j];
    return out;
  }
};

}  // namespace

at::Tensor with_implicit_gradient(const ResidualFn& F, const at::Tensor& u_star,
                                  const std::vector<at::Tensor>& inputs,
                                  const NonlinearOptions& opt, const JacobianFn& jacobian) {
  DSLA_CHECK_ARG(static_cast<bool>(F), "F", "is empty; the gradient needs the residual F(u)");
  DSLA_CHECK_ARG(u_star.defined() && u_star.dim() == 1, "u_star", "must be a 1-D tensor [n]");
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    DSLA_CHECK_ARG(inputs[i].defined(), "inputs", "entry ", i, " is an undefined tensor");
    any = any || inputs[i].requires_grad();
  }
  if (!any || !at::GradMode::is_enabled()) return u_star;
  auto spec = c10::make_intrusive<ImplicitSpec>();
  spec->F = F;
  spec->J = jacobian;
  spec->linear = opt.linear;
  spec->linear.M = nullptr;  // it approximates J⁻¹, not J⁻ᵀ
  spec->space = opt.space;
  spec->linear_step = opt.linear_step;
  return ImplicitFunction::apply(at::TensorList(inputs), u_star.detach(), spec);
}

at::Tensor nonlinear_solve(const ResidualFn& F, const at::Tensor& u0,
                           const std::vector<at::Tensor>& inputs, const NonlinearOptions& opt,
                           const JacobianFn& jacobian, const ResidualFn& G, NonlinearInfo* info) {
  auto u = nonlinear_solve(F, u0, opt, jacobian, G, info);
  const ResidualFn Fr = F ? F : ResidualFn([G](const at::Tensor& v) { return v - G(v); });
  return with_implicit_gradient(Fr, u, inputs, opt, jacobian);
}

LinearizeFn autograd_jvp(ResidualFn F) {
  DSLA_CHECK_ARG(static_cast<bool>(F), "F", "is empty; autograd_jvp needs the residual F(u)");
  return [F](const at::Tensor& u, const at::Tensor&) -> JvpFn {
    // The double-vjp trick: jtw = J(u)ᵀ w with a graph in w (w = 0 is only a placeholder), so
    // the derivative of ⟨jtw, v⟩ in w is J(u) v, one backward pass per product.
    c10::AutoGradMode on(true);
    auto uu = u.detach().requires_grad_(true);
    auto r = F(uu);
    TORCH_CHECK_VALUE(r.requires_grad(),
                      "dsla: argument 'jvp': F(u) records no autograd graph in u, so exact "
                      "Jacobian-vector products are unavailable; compute F with torch operations "
                      "or use finite differences (Python: jvp='fd')");
    auto w = at::zeros_like(r).requires_grad_(true);
    auto jtw = torch::autograd::grad({r}, {uu}, {w}, /*retain_graph=*/true,
                                     /*create_graph=*/true, /*allow_unused=*/true)[0];
    if (!jtw.defined() || !jtw.requires_grad()) {
      // F does not depend on u (J = 0).
      return [](const at::Tensor& v) { return at::zeros_like(v); };
    }
    return [w, jtw](const at::Tensor& v) {
      auto jv = torch::autograd::grad({jtw}, {w}, {v}, /*retain_graph=*/true,
                                      /*create_graph=*/false, /*allow_unused=*/true)[0];
      return jv.defined() ? jv : at::zeros_like(v);
    };
  };
}

}  // namespace dsla
