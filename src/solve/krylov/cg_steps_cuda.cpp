// CUDA implementations of the fused CG steps (contract: cg_steps.h, same signatures, same
// formulas), registered into the step stubs that cg_steps.cpp dispatches through. No host
// synchronization; scalars stay on the device.
#include "solve/krylov/cg_steps.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "core/dispatch.h"
#include "core/products_cuda.h"
#include "kernels/cuda/cg_cuda.h"

namespace dsla::cuda {
namespace {

namespace kc = kernels::cuda;
using detail::ptr;

namespace {

template <class T>
struct Real {
  using type = T;
};
template <class R>
struct Real<std::complex<R>> {
  using type = R;
};

void check_vec(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.is_cuda() && t.is_contiguous() && t.dim() == 3, "dsla: cg step: ", what,
              " must be a contiguous CUDA tensor [B, n, k]");
}
void check_scalar(const at::Tensor& t, int64_t B, int64_t k, const char* what) {
  TORCH_CHECK(t.is_cuda() && t.is_contiguous() && t.numel() == B * k && !t.is_complex(),
              "dsla: cg step: ", what, " must be a contiguous real CUDA tensor [B, 1, k]");
}
// dinv as the real dtype (a Hermitian matrix has a real diagonal).
at::Tensor real_dinv(const at::Tensor& dinv, at::ScalarType real) {
  if (!dinv.defined()) return dinv;
  auto d = dinv.is_complex() ? at::real(dinv) : dinv;
  return d.to(real).contiguous();
}

}  // namespace

void cg_spmv_dot(const Pattern& pattern, const at::Tensor& values, const at::Tensor& p,
                 at::Tensor& q, at::Tensor& pq) {
  check_vec(p, "p");
  check_vec(q, "q");
  const c10::cuda::CUDAGuard guard(p.device());
  spmm(pattern, values, p, q);
  const int64_t B = p.size(0), n = p.size(1), k = p.size(2);
  check_scalar(pq, B, k, "pq");
  auto partials = at::empty({B * k * kc::cg_step_blocks(n) * 2}, pq.options());
  auto s = at::cuda::getCurrentCUDAStream().stream();
  DSLA_DISPATCH_VALUE(p.scalar_type(), "cg", [&] {
    using R = typename Real<scalar_t>::type;
    kc::cg_dot_step<scalar_t, R>(kernels::BlockShape{n, k, B}, ptr<scalar_t>(p), ptr<scalar_t>(q),
                                 ptr<R>(pq), ptr<R>(partials), s);
  });
}

void cg_update(at::Tensor& x, at::Tensor& r, const at::Tensor& p, const at::Tensor& q,
               const at::Tensor& dinv, const at::Tensor& rz, const at::Tensor& pq,
               const at::Tensor& active, at::Tensor& rz_new, at::Tensor& rr) {
  check_vec(x, "x");
  check_vec(r, "r");
  check_vec(p, "p");
  check_vec(q, "q");
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t B = x.size(0), n = x.size(1), k = x.size(2);
  check_scalar(rz, B, k, "rz");
  check_scalar(pq, B, k, "pq");
  check_scalar(rz_new, B, k, "rz_new");
  check_scalar(rr, B, k, "rr");
  if (active.defined()) check_scalar(active, B, k, "active");
  auto d = real_dinv(dinv, rz.scalar_type());
  const int64_t d_bs = d.defined() && d.size(0) > 1 ? n : 0;
  auto partials = at::empty({B * k * kc::cg_step_blocks(n) * 2}, rz.options());
  auto s = at::cuda::getCurrentCUDAStream().stream();
  DSLA_DISPATCH_VALUE(x.scalar_type(), "cg", [&] {
    using R = typename Real<scalar_t>::type;
    kernels::CgVectors<scalar_t, R> v;
    v.x = ptr<scalar_t>(x);
    v.r = ptr<scalar_t>(r);
    v.p = ptr<scalar_t>(p);
    v.q = ptr<scalar_t>(q);
    v.dinv = d.defined() ? ptr<R>(d) : nullptr;
    v.dinv_bstride = d_bs;
    kernels::CgScalars<R> c;
    c.rz = ptr<R>(rz);
    c.pq = ptr<R>(pq);
    c.active = active.defined() ? ptr<R>(active) : nullptr;
    c.rz_new = ptr<R>(rz_new);
    c.rr = ptr<R>(rr);
    kc::cg_update_step<scalar_t, R>(kernels::BlockShape{n, k, B}, v, c, ptr<R>(partials), s);
  });
}

void cg_direction(at::Tensor& p, const at::Tensor& r, const at::Tensor& z, const at::Tensor& dinv,
                  at::Tensor& rz, const at::Tensor& rz_new, const at::Tensor& active) {
  check_vec(p, "p");
  check_vec(r, "r");
  if (z.defined()) check_vec(z, "z");
  const c10::cuda::CUDAGuard guard(p.device());
  const int64_t B = p.size(0), n = p.size(1), k = p.size(2);
  check_scalar(rz, B, k, "rz");
  check_scalar(rz_new, B, k, "rz_new");
  if (active.defined()) check_scalar(active, B, k, "active");
  auto d = z.defined() ? at::Tensor() : real_dinv(dinv, rz.scalar_type());
  const int64_t d_bs = d.defined() && d.size(0) > 1 ? n : 0;
  auto beta = at::empty({B * k}, rz.options());
  auto s = at::cuda::getCurrentCUDAStream().stream();
  DSLA_DISPATCH_VALUE(p.scalar_type(), "cg", [&] {
    using R = typename Real<scalar_t>::type;
    kernels::CgVectors<scalar_t, R> v;
    v.p = ptr<scalar_t>(p);
    v.r = ptr<scalar_t>(r);
    v.z = z.defined() ? ptr<scalar_t>(z) : nullptr;
    v.dinv = d.defined() ? ptr<R>(d) : nullptr;
    v.dinv_bstride = d_bs;
    kernels::CgScalars<R> c;
    c.rz = ptr<R>(rz);
    c.rz_new = ptr<R>(rz_new);
    c.active = active.defined() ? ptr<R>(active) : nullptr;
    kc::cg_direction_step<scalar_t, R>(kernels::BlockShape{n, k, B}, v, c, ptr<R>(beta), s);
  });
}

}  // namespace

DSLA_REGISTER_CUDA(krylov::cg_spmv_dot_stub, cg_spmv_dot);
DSLA_REGISTER_CUDA(krylov::cg_update_stub, cg_update);
DSLA_REGISTER_CUDA(krylov::cg_direction_stub, cg_direction);

}  // namespace dsla::cuda
