// slogdet / logdet / det of a SparseMatrix with gradients in the values (see include/dsla/det.h).
#include <dsla/det.h>

#include "solve/direct/factorization.h"

#include <dsla/errors.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace dsla {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Result {
  at::Tensor sign, logabs;  // [] or [B]
  at::Tensor ginv;          // conj((A⁻¹)[col[k], row[k]]): [nnz] or [B, nnz]; when asked
  bool singular = false;
};

// Factors one member into `f` (reused across members: the analysis is shared). "auto": Cholesky
// first when the pattern is symmetric, LU when Cholesky refuses (values not symmetric, or not
// positive definite). Returns false when the matrix is singular (LU found a zero pivot).
bool factor_member(std::unique_ptr<direct::Factorization>& f, const PatternPtr& pattern,
                   const at::Tensor& v, const std::string& method, const std::string& ordering,
                   bool structurally_symmetric) {
  const bool automatic = method == "auto";
  if (f) {
    try {
      f->factorize(v);
      return true;
    } catch (const SingularMatrixError&) {
      if (f->kind() == direct::Kind::LU) return false;
      if (!automatic) throw;
    } catch (const c10::ValueError&) {
      if (!automatic) throw;
    }
  } else if (method == "cholesky" || method == "ldlt" || (automatic && structurally_symmetric)) {
    const auto kind = method == "ldlt" ? direct::Kind::LDLT : direct::Kind::Cholesky;
    f = direct::make_factorization(pattern, kind, v.scalar_type(), ordering);
    f->set_pivot_tolerance(0.0);  // a nearly singular matrix still has a determinant
    try {
      f->factorize(v);
      return true;
    } catch (const SingularMatrixError&) {
      if (!automatic) throw;
    } catch (const c10::ValueError&) {
      if (!automatic) throw;  // values not symmetric
    }
  }
  // CUDA (cuDSS): its LU gives no determinant sign; a symmetric indefinite matrix goes to LDLᵀ.
  const bool ldlt = pattern->device().is_cuda() && automatic && structurally_symmetric;
  f = direct::make_factorization(pattern, ldlt ? direct::Kind::LDLT : direct::Kind::LU,
                                 v.scalar_type(), ordering == "nesdis" ? "auto" : ordering);
  f->set_pivot_tolerance(0.0);
  try {
    f->factorize(v);
    return true;
  } catch (const SingularMatrixError&) {
    return false;
  }
}

Result compute(const PatternPtr& pattern, const at::Tensor& values, const std::string& method,
               const std::string& ordering, bool need_grad) {
  const bool batched = values.dim() == 2;
  const int64_t B = batched ? values.size(0) : 1;
  const at::ScalarType dt = values.scalar_type();
  const at::ScalarType real = at::toRealValueType(dt);
  Result r;
  r.sign = at::empty({B}, values.options().dtype(dt));
  r.logabs = at::empty({B}, values.options().dtype(real));
  if (need_grad) r.ginv = at::empty({B, pattern->nnz()}, values.options().dtype(dt));
  const bool sym = pattern->is_structurally_symmetric();
  at::Tensor rows, cols;
  if (need_grad) {
    rows = pattern->col().to(at::kLong);  // (A⁻¹)[col[k], row[k]] = (A⁻ᵀ)[row[k], col[k]]
    cols = pattern->row().to(at::kLong);
  }
  std::unique_ptr<direct::Factorization> f;
  const at::Tensor vals = values.detach();
  for (int64_t b = 0; b < B; ++b) {
    const at::Tensor v = batched ? vals.select(0, b) : vals;
    const bool ok = factor_member(f, pattern, v.contiguous(), method, ordering, sym);
    if (!ok) {
      r.singular = true;
      r.sign.select(0, b).zero_();
      r.logabs.select(0, b).fill_(-std::numeric_limits<double>::infinity());
      if (need_grad) r.ginv.select(0, b).fill_(std::numeric_limits<double>::quiet_NaN());
      f.reset();
      continue;
    }
    auto sl = f->slogdet();
    r.sign.select(0, b).copy_(sl.first);
    r.logabs.select(0, b).copy_(sl.second);
    if (need_grad) {
      at::Tensor e = f->inverse_entries(rows, cols);
      if (at::isComplexType(dt)) e = e.conj();
      r.ginv.select(0, b).copy_(e);
    }
  }
  if (!batched) {
    r.sign = r.sign.squeeze(0);
    r.logabs = r.logabs.squeeze(0);
    if (need_grad) r.ginv = r.ginv.squeeze(0);
  }
  return r;
}

struct SlogdetFn : public torch::autograd::Function<SlogdetFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& values,
                               const PatternPtr& pattern, const std::string& method,
                               const std::string& ordering) {
    Result r = compute(pattern, values, method, ordering, /*need_grad=*/true);
    ctx->save_for_backward({r.ginv, r.sign});
    ctx->saved_data["singular"] = r.singular;
    if (!at::isComplexType(values.scalar_type())) ctx->mark_non_differentiable({r.sign});
    return {r.sign, r.logabs};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& ginv = saved[0];
    const at::Tensor& sign = saved[1];
    TORCH_CHECK(!ctx->saved_data["singular"].toBool(),
                "dsla: the gradient of log|det A| is undefined: A is singular");
    const at::Tensor& g_sign = grads[0];
    const at::Tensor& g_log = grads[1];
    at::Tensor w;  // per member: g_log (+ i c for complex)
    if (g_log.defined()) w = g_log;
    if (at::isComplexType(sign.scalar_type())) {
      // sign = e^{iθ}: dL = g_log d log|det| + c dθ with c = -Im(conj(g_sign) sign), and
      // d(log|det| + iθ) = Σ (A⁻ᵀ)_k dvalues_k, so grad_k = (g_log + i c) conj((A⁻ᵀ)_k).
      at::Tensor wc = w.defined() ? w.to(sign.scalar_type()) : at::zeros_like(sign);
      if (g_sign.defined()) {
        const at::Tensor c = -at::imag(g_sign.conj() * sign);
        wc = wc + at::complex(at::zeros_like(c), c);
      }
      w = wc;
    }
    at::Tensor grad;
    if (w.defined()) grad = w.unsqueeze(-1) * ginv;
    return {grad, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

void check_matrix(const SparseMatrix& A, const DetOptions& opt, const char* who) {
  DSLA_CHECK_ARG(A.defined(), "A", who, ": the matrix is undefined");
  DSLA_CHECK_ARG(A.rows() == A.cols(), "A", who, " needs a square matrix, got ", A.rows(), " x ",
                 A.cols());
  DSLA_CHECK_ARG(A.device().is_cpu() || direct::available(direct::Kind::Cholesky, A.device()), "A",
                 who, " of a matrix on ", A.device(),
                 " needs cuDSS, and this build of dsla has none (dsla.features['cudss']); move it "
                 "with A.to('cpu')");
  const at::ScalarType dt = A.dtype();
  DSLA_CHECK_TYPE(
      dt == at::kFloat || dt == at::kDouble || dt == at::kComplexFloat || dt == at::kComplexDouble,
      "A", who, ": expected float32, float64, complex64 or complex128 values, got ", dt);
  DSLA_CHECK_ARG(opt.method == "auto" || opt.method == "cholesky" || opt.method == "ldlt" ||
                     opt.method == "lu",
                 "method", who, ": expected 'auto', 'cholesky', 'ldlt' or 'lu', got '", opt.method,
                 "'");
  DSLA_CHECK_ARG(direct::available(direct::Kind::LU, A.device()), "A", who,
                 ": dsla was built without SuiteSparse: install libsuitesparse-dev and rebuild");
}

}  // namespace

std::pair<at::Tensor, at::Tensor> slogdet(const SparseMatrix& A, const DetOptions& opt) {
  check_matrix(A, opt, "slogdet");
  const at::Tensor& values = A.values();
  if (A.rows() == 0) {
    // det of a 0 x 0 matrix is 1 (the empty product), as in torch.linalg.slogdet. The sum of the
    // (empty) values times 0 keeps the result in the graph of a values tensor requiring grad.
    auto zero = values.sum(-1).mul(0);
    auto logabs = zero.is_complex() ? at::real(zero) : zero;
    return {at::ones_like(zero), logabs};
  }
  const bool need_grad = at::GradMode::is_enabled() && values.requires_grad();
  if (!need_grad) {
    Result r = compute(A.pattern(), values, opt.method, opt.ordering, false);
    return {r.sign, r.logabs};
  }
  auto out = SlogdetFn::apply(values, A.pattern(), opt.method, opt.ordering);
  return {out[0], out[1]};
}

at::Tensor logdet(const SparseMatrix& A, const DetOptions& opt) {
  check_matrix(A, opt, "logdet");
  auto [sign, logabs] = slogdet(A, opt);
  if (at::isComplexType(sign.scalar_type())) {
    return logabs.to(sign.scalar_type()) + at::log(sign);
  }
  return at::where(sign < 0, at::full_like(logabs, std::numeric_limits<double>::quiet_NaN()),
                   logabs);
}

at::Tensor det(const SparseMatrix& A, const DetOptions& opt) {
  check_matrix(A, opt, "det");
  auto [sign, logabs] = slogdet(A, opt);
  return sign * at::exp(logabs);
}

}  // namespace dsla
