#include "core/products_cuda.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <atomic>

#include "core/dispatch.h"
#include "core/kernel_views.h"
#include "core/products.h"
#include "kernels/cuda/device_info.h"

namespace dsla::cuda {

namespace kc = kernels::cuda;
using detail::ptr;

namespace {

std::atomic<int> g_override_kind{-1};
std::atomic<int> g_override_group{4};

struct PlanHolder {
  kc::SpmvPlan plan;
};

void check_cuda(const Pattern& p, const at::Tensor& a, const char* what) {
  TORCH_CHECK_VALUE(a.is_cuda() && a.device() == p.device(), "dsla: ", what,
                    " must be on the matrix's device ", p.device(), ", got ", a.device());
}

}  // namespace

kc::SpmvPlan spmv_plan(const Pattern& p) {
  auto h = p.cached<PlanHolder>("cuda.spmv_plan", [&] {
    auto out = std::make_shared<PlanHolder>();
    int64_t max_len = 0;
    if (p.rows() > 0) {
      auto crow = p.crow();
      max_len = (crow.slice(0, 1) - crow.slice(0, 0, p.rows())).max().item<int64_t>();
    }
    out->plan = kc::csr_plan(p.rows(), p.nnz(), max_len, kc::sm_count());
    return out;
  });
  kc::SpmvPlan plan = h->plan;
  const int k = g_override_kind.load();
  if (k >= 0) {
    plan.kind = k;
    plan.group = g_override_group.load();
    plan.merge_items = 8;
    plan.merge_threads = (p.rows() + p.nnz() + 7) / 8;
  }
  return plan;
}

void set_spmv_override(int kind, int group) {
  g_override_kind = kind;
  g_override_group = group;
}

at::Tensor spmm(const Pattern& p, const at::Tensor& values, const at::Tensor& x, at::Tensor out) {
  check_cuda(p, values, "values");
  check_cuda(p, x, "x");
  const c10::cuda::CUDAGuard guard(x.device());
  auto v = detail::dense_operand(values), xx = detail::dense_operand(x);
  const bool mixed = detail::is_mixed_precision(v.scalar_type(), xx.scalar_type());
  TORCH_CHECK_TYPE(mixed || v.scalar_type() == xx.scalar_type(), "dsla: matmul: values dtype ",
                   v.scalar_type(), " and x dtype ", xx.scalar_type(),
                   " differ; convert one of them (e.g. x.to(", v.scalar_type(), "))");
  const int64_t B = std::max(v.size(0), xx.size(0)), k = xx.size(2);
  if (!out.defined()) {
    out = at::empty({B, p.rows(), k}, xx.options());
  } else {
    TORCH_CHECK(out.is_contiguous() && out.size(0) == B && out.size(1) == p.rows() &&
                    out.size(2) == k && out.scalar_type() == xx.scalar_type(),
                "dsla: spmm: bad `out`");
  }
  const auto plan = spmv_plan(p);
  at::Tensor ws;
  if (k == 1 && plan.kind == kc::SpmvPlan::Merge) {
    ws = at::empty({kc::csr_spmv_workspace_bytes(plan, int(xx.element_size())) * B + 16},
                   xx.options().dtype(at::kByte));
  }
  auto stream = at::cuda::getCurrentCUDAStream();
  if (mixed) {
    DSLA_DISPATCH_INDEX(p.index_dtype(), "matmul", [&] {
      kc::csr_spmm<float, index_t, double>({p.rows(), ptr<index_t>(p.crow()), ptr<index_t>(p.col()),
                                            ptr<float>(v), v.size(0) == 1 ? 0 : p.nnz()},
                                           k, B,
                                           {ptr<double>(xx), xx.size(0) == 1 ? 0 : p.cols() * k},
                                           {ptr<double>(out), p.rows() * k}, plan,
                                           ws.defined() ? ws.data_ptr() : nullptr, stream.stream());
    });
    return out;
  }
  DSLA_DISPATCH_INDEX(p.index_dtype(), "matmul", [&] {
    DSLA_DISPATCH_VALUE(v.scalar_type(), "matmul", [&] {
      kc::csr_spmm<scalar_t, index_t>({p.rows(), ptr<index_t>(p.crow()), ptr<index_t>(p.col()),
                                       ptr<scalar_t>(v), v.size(0) == 1 ? 0 : p.nnz()},
                                      k, B, {ptr<scalar_t>(xx), xx.size(0) == 1 ? 0 : p.cols() * k},
                                      {ptr<scalar_t>(out), p.rows() * k}, plan,
                                      ws.defined() ? ws.data_ptr() : nullptr, stream.stream());
    });
  });
  return out;
}

at::Tensor sddmm(const Pattern& p, const at::Tensor& gy, const at::Tensor& x) {
  check_cuda(p, gy, "grad");
  check_cuda(p, x, "x");
  const c10::cuda::CUDAGuard guard(x.device());
  auto g = detail::dense_operand(gy), xx = detail::dense_operand(x);
  const int64_t B = std::max(g.size(0), xx.size(0)), k = xx.size(2);
  auto out = at::empty({B, p.nnz()}, xx.options());
  auto stream = at::cuda::getCurrentCUDAStream();
  DSLA_DISPATCH_INDEX(p.index_dtype(), "matmul backward", [&] {
    DSLA_DISPATCH_VALUE(xx.scalar_type(), "matmul backward", [&] {
      kc::csr_sddmm<scalar_t, index_t>(detail::csr_pattern<index_t>(p), p.nnz(), k, B,
                                       {ptr<scalar_t>(g), g.size(0) == 1 ? 0 : p.rows() * k},
                                       {ptr<scalar_t>(xx), xx.size(0) == 1 ? 0 : p.cols() * k},
                                       ptr<scalar_t>(out), stream.stream());
    });
  });
  return out;
}

// The CUDA slots of src/core/products.h.
DSLA_REGISTER_CUDA(detail::spmm_stub, spmm);
DSLA_REGISTER_CUDA(detail::sddmm_stub, sddmm);

namespace {
std::array<int, 3> spmv_plan_info(const Pattern& p) {
  const auto plan = spmv_plan(p);
  return {plan.kind, plan.group, int(plan.merge_threads)};
}
}  // namespace
DSLA_REGISTER_CUDA(detail::spmv_plan_stub, spmv_plan_info);
DSLA_REGISTER_CUDA(detail::spmv_override_stub, set_spmv_override);

}  // namespace dsla::cuda
