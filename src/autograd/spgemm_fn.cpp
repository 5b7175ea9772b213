// Autograd for C = A B (sparse x sparse), differentiable in both operands' values. With upstream
// gradient Gc on C's pattern:
//   dA = (Gc Bᴴ) sampled on A's pattern,   dB = (Aᴴ Gc) sampled on B's pattern.
// Backward calls the sampled-product kernels (O(multiplies), no merge, nothing dense). When a
// graph is being recorded (create_graph) or the values are not on the CPU it uses the ATen
// entry-map formulation instead, which is differentiable, so double backward works.
#include <dsla/ops.h>
#include <torch/autograd.h>

#include "autograd/holders.h"
#include "core/dispatch.h"
#include "core/spgemm.h"

namespace dsla {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Sum a [B, nnz] gradient down to the operand's batch size (1 when it was broadcast).
at::Tensor reduce_batch(const at::Tensor& g, int64_t b) {
  return (b == 1 && g.size(0) != 1) ? g.sum(0, /*keepdim=*/true) : g;
}

class SpgemmFunction : public torch::autograd::Function<SpgemmFunction> {
 public:
  // av: [Ba, nnzA], bv: [Bb, nnzB] -> [B, nnzC].
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& av, const at::Tensor& bv,
                            const PatternPtr& a, const PatternPtr& b) {
    ctx->save_for_backward({av, bv});
    ctx->saved_data["a"] = autograd::hold(a);
    ctx->saved_data["b"] = autograd::hold(b);
    return detail::spgemm_values(a, av, b, bv);  // CPU / CUDA kernels, ATen elsewhere
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& av = saved[0];
    const auto& bv = saved[1];
    auto a = autograd::pattern_of(ctx->saved_data["a"]);
    auto b = autograd::pattern_of(ctx->saved_data["b"]);
    const auto& gc = grads[0];
    // The plan (and C's pattern) is found again in A's cache: both patterns are held here.
    const bool fast = gc.is_cpu() && !at::GradMode::is_enabled();
    at::Tensor ga, gb;
    if (ctx->needs_input_grad(0)) {
      ga = fast ? detail::spgemm_grad_a(a, b, bv, gc)
                : detail::spgemm_grad_a_reference(a, b, bv, gc);
      ga = reduce_batch(ga, av.size(0));
    }
    if (ctx->needs_input_grad(1)) {
      gb = fast ? detail::spgemm_grad_b(a, av, b, gc)
                : detail::spgemm_grad_b_reference(a, av, b, gc);
      gb = reduce_batch(gb, bv.size(0));
    }
    return {ga, gb, at::Tensor(), at::Tensor()};
  }
};

at::Tensor values2d(const SparseMatrix& M) {
  return M.is_batched() ? M.values() : M.values().unsqueeze(0);
}

}  // namespace

SparseMatrix spgemm(const SparseMatrix& A, const SparseMatrix& B) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  DSLA_CHECK_ARG(B.defined(), "B", "is an empty (default-constructed) matrix");
  DSLA_CHECK_ARG(A.cols() == B.rows(), "B", "has ", B.rows(), " rows but A has ", A.cols(),
                 " columns: A @ B needs A.cols == B.rows (A is ", A.rows(), " x ", A.cols(),
                 ", B is ", B.rows(), " x ", B.cols(), ")");
  DSLA_CHECK_TYPE(A.dtype() == B.dtype(), "B", "dtype ", B.dtype(), " differs from A's ", A.dtype(),
                  "; convert one of them with .to(dtype)");
  DSLA_CHECK_ARG(A.device() == B.device(), "B", "is on ", B.device(), " but A is on ", A.device(),
                 "; move both to one device");
  DSLA_CHECK_ARG(!A.is_batched() || !B.is_batched() || A.batch_size() == B.batch_size(), "B",
                 "batch size ", B.batch_size(), " differs from A's ", A.batch_size(),
                 " (a batched operand may meet an unbatched one, or one of the same size)");
  // The forward runs the CPU or CUDA kernels (CUDA: symbolic and numeric phases on the device).
  // The backward on a GPU runs the ATen entry-map path (symbolic phase on the CPU copy of the
  // patterns, index maps cached per device): correct and differentiable, but O(multiplies).
  auto cv = SpgemmFunction::apply(values2d(A), values2d(B), A.pattern(), B.pattern());
  if (!A.is_batched() && !B.is_batched()) cv = cv.squeeze(0);
  return SparseMatrix(detail::spgemm_pattern(A.pattern(), B.pattern()), cv, /*check=*/false);
}

}  // namespace dsla
