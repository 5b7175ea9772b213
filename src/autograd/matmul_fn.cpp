// Autograd for Y = A X (values and X both differentiable):
//   dL/dX = Aᴴ G (through the cached transpose pattern), dL/dvalues[q] = Σ_j G[row q, j] conj(X[col
//   q, j]).
// Backward is built from differentiable pieces when a graph is being recorded (create_graph),
// so double backward works; otherwise it calls the fast kernels.
#include <dsla/ops.h>
#include <torch/autograd.h>

#include "autograd/holders.h"
#include "core/dispatch.h"
#include "core/products.h"

namespace dsla {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Tensor spmm_op(const PatternPtr& p, const at::Tensor& values2, const at::Tensor& x3);

// Sum a [B, ...] gradient down to the operand's batch size (1 when it was broadcast).
at::Tensor reduce_batch(const at::Tensor& g, int64_t b) {
  return (b == 1 && g.size(0) != 1) ? g.sum(0, /*keepdim=*/true) : g;
}

class SpmmFunction : public torch::autograd::Function<SpmmFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& values2, const at::Tensor& x3,
                            const PatternPtr& p) {
    ctx->save_for_backward({values2, x3});
    ctx->saved_data["pattern"] = autograd::hold(p);
    return detail::spmm(*p, values2, x3);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& values2 = saved[0];
    const auto& x3 = saved[1];
    auto p = autograd::pattern_of(ctx->saved_data["pattern"]);
    const auto& g = grads[0];
    at::Tensor gv, gx;
    const bool graph = at::GradMode::is_enabled();
    if (ctx->needs_input_grad(1)) {
      auto vt = values2.index_select(-1, p->transpose_perm());
      if (values2.is_complex()) vt = vt.conj();
      gx = reduce_batch(spmm_op(p->transpose(), vt, g), x3.size(0));
    }
    if (ctx->needs_input_grad(0)) {
      gv = graph ? detail::sddmm_reference(*p, g, x3) : detail::sddmm(*p, g, x3);
      gv = reduce_batch(gv, values2.size(0));
    }
    return {gv, gx, at::Tensor()};
  }
};

at::Tensor spmm_op(const PatternPtr& p, const at::Tensor& values2, const at::Tensor& x3) {
  return SpmmFunction::apply(values2, x3, p);
}

// Brings x to [Bx, n, k]; returns the shape the result must be viewed as.
struct Operand {
  at::Tensor x3;
  std::vector<int64_t> out_shape;
};

Operand as_operand(const SparseMatrix& A, const at::Tensor& x, int64_t n, int64_t m,
                   const char* arg) {
  DSLA_CHECK_TYPE(x.scalar_type() == A.dtype(), arg, "dtype ", x.scalar_type(),
                  " does not match the matrix dtype ", A.dtype(), "; convert one of them");
  DSLA_CHECK_ARG(x.device() == A.device(), arg, "is on device ", x.device(),
                 " but the matrix is on device ", A.device());
  const int64_t B = A.batch_size();
  const bool batched = A.is_batched();
  Operand o;
  if (x.dim() == 1) {
    DSLA_CHECK_ARG(x.size(0) == n, arg, "has length ", x.size(0), ", expected ", n);
    o.x3 = x.view({1, n, 1});
    o.out_shape = batched ? std::vector<int64_t>{B, m} : std::vector<int64_t>{m};
  } else if (x.dim() == 2 && batched && x.size(0) == B && x.size(1) == n) {
    o.x3 = x.unsqueeze(-1);
    o.out_shape = {B, m};
  } else if (x.dim() == 2) {
    DSLA_CHECK_ARG(x.size(0) == n, arg, "has shape ", x.sizes(), ", expected [", n, ", k]",
                   batched ? " or [B, n] with B = " + std::to_string(B) : std::string());
    o.x3 = x.unsqueeze(0);
    o.out_shape =
        batched ? std::vector<int64_t>{B, m, x.size(1)} : std::vector<int64_t>{m, x.size(1)};
  } else {
    DSLA_CHECK_ARG(x.dim() == 3 && batched && x.size(0) == B && x.size(1) == n, arg, "has shape ",
                   x.sizes(), "; expected [n], [n, k]",
                   batched ? ", [B, n] or [B, n, k] with B = " + std::to_string(B) : std::string(),
                   " and n = ", n);
    o.x3 = x;
    o.out_shape = {B, m, x.size(2)};
  }
  return o;
}

at::Tensor values2d(const SparseMatrix& A) {
  return A.is_batched() ? A.values() : A.values().unsqueeze(0);
}

}  // namespace

at::Tensor matmul(const SparseMatrix& A, const at::Tensor& x) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  auto o = as_operand(A, x, A.cols(), A.rows(), "x");
  return spmm_op(A.pattern(), values2d(A), o.x3).view(o.out_shape);
}

at::Tensor matmul_transpose(const SparseMatrix& A, const at::Tensor& x) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  auto o = as_operand(A, x, A.rows(), A.cols(), "x");
  auto vt = values2d(A).index_select(-1, A.pattern()->transpose_perm());
  return spmm_op(A.pattern()->transpose(), vt, o.x3).view(o.out_shape);
}

}  // namespace dsla
