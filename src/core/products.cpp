// Sparse x dense products: CPU kernels, the registered device kernels (products_cuda.cpp in
// CUDA builds), ATen elsewhere.
#include "core/products.h"

#include "core/dispatch.h"
#include "core/kernel_views.h"
#include "kernels/cpu/csr_kernels.h"

namespace dsla::detail {

device::Stub<SpmmFn> spmm_stub;
device::Stub<SddmmFn> sddmm_stub;
device::Stub<SpmvPlanInfoFn> spmv_plan_stub;
device::Stub<SpmvOverrideFn> spmv_override_stub;

namespace kc = kernels::cpu;

namespace {

int64_t batch_of(const at::Tensor& a, const at::Tensor& b, const char* what) {
  const int64_t ba = a.size(0), bb = b.size(0);
  TORCH_CHECK_VALUE(ba == bb || ba == 1 || bb == 1, "dsla: ", what, ": batch sizes ", ba, " and ",
                    bb, " do not match");
  return std::max(ba, bb);
}

}  // namespace

at::Tensor spmm_reference(const Pattern& p, const at::Tensor& values, const at::Tensor& x) {
  const int64_t B = batch_of(values, x, "matmul");
  auto row = p.row().to(at::kLong), col = p.col().to(at::kLong);
  auto prod = values.unsqueeze(-1) * x.index_select(1, col);  // [B, nnz, k]
  auto y = at::zeros({B, p.rows(), x.size(2)}, prod.options());
  return y.index_add(1, row, prod.expand({B, p.nnz(), x.size(2)}));
}

at::Tensor sddmm_reference(const Pattern& p, const at::Tensor& gy, const at::Tensor& x) {
  auto row = p.row().to(at::kLong), col = p.col().to(at::kLong);
  return (gy.index_select(1, row) * x.index_select(1, col).conj()).sum(-1);
}

at::Tensor spmm(const Pattern& p, const at::Tensor& values, const at::Tensor& x, at::Tensor out) {
  const int64_t B = batch_of(values, x, "matmul");
  const int64_t k = x.size(2);
  if (auto* f = spmm_stub.on(x.device())) return f(p, values, x, out);
  if (!x.is_cpu()) {
    auto y = spmm_reference(p, values, x);
    if (out.defined()) return out.copy_(y);
    return y;
  }
  auto v = dense_operand(values), xx = dense_operand(x);
  if (!out.defined()) out = at::empty({B, p.rows(), k}, xx.options());
  if (is_mixed_precision(v.scalar_type(), xx.scalar_type())) {
    DSLA_DISPATCH_INDEX(p.index_dtype(), "matmul", [&] {
      kc::csr_spmm<float, index_t, double>({p.rows(), ptr<index_t>(p.crow()), ptr<index_t>(p.col()),
                                            ptr<float>(v), v.size(0) == 1 ? 0 : p.nnz()},
                                           k, B,
                                           {ptr<double>(xx), xx.size(0) == 1 ? 0 : p.cols() * k},
                                           {ptr<double>(out), p.rows() * k}, num_threads());
    });
    return out;
  }
  TORCH_CHECK_TYPE(v.scalar_type() == xx.scalar_type(), "dsla: matmul: values dtype ",
                   v.scalar_type(), " and x dtype ", xx.scalar_type(),
                   " differ; convert one of them (e.g. x.to(", v.scalar_type(), "))");
  DSLA_DISPATCH_INDEX(p.index_dtype(), "matmul", [&] {
    DSLA_DISPATCH_VALUE(v.scalar_type(), "matmul", [&] {
      kc::csr_spmm<scalar_t, index_t>({p.rows(), ptr<index_t>(p.crow()), ptr<index_t>(p.col()),
                                       ptr<scalar_t>(v), v.size(0) == 1 ? 0 : p.nnz()},
                                      k, B, {ptr<scalar_t>(xx), xx.size(0) == 1 ? 0 : p.cols() * k},
                                      {ptr<scalar_t>(out), p.rows() * k}, num_threads());
    });
  });
  return out;
}

at::Tensor sddmm(const Pattern& p, const at::Tensor& gy, const at::Tensor& x) {
  const int64_t B = batch_of(gy, x, "matmul backward");
  const int64_t k = x.size(2);
  if (auto* f = sddmm_stub.on(x.device())) return f(p, gy, x);
  if (!x.is_cpu()) return sddmm_reference(p, gy, x);
  auto g = dense_operand(gy), xx = dense_operand(x);
  auto out = at::empty({B, p.nnz()}, xx.options());
  DSLA_DISPATCH_INDEX(p.index_dtype(), "matmul backward", [&] {
    DSLA_DISPATCH_VALUE(xx.scalar_type(), "matmul backward", [&] {
      kc::csr_sddmm<scalar_t, index_t>(csr_pattern<index_t>(p), k, B,
                                       {ptr<scalar_t>(g), g.size(0) == 1 ? 0 : p.rows() * k},
                                       {ptr<scalar_t>(xx), xx.size(0) == 1 ? 0 : p.cols() * k},
                                       {ptr<scalar_t>(out), p.nnz()}, num_threads());
    });
  });
  return out;
}

}  // namespace dsla::detail
