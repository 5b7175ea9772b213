// Dispatch of the fused CG steps: CPU kernels, the registered device kernels
// (cg_steps_cuda.cpp in CUDA builds), and an ATen formulation for any other device (also the
// reference the kernels are tested against).
#include "solve/krylov/cg_steps.h"

#include "core/dispatch.h"
#include "core/kernel_views.h"
#include "core/products.h"
#include "kernels/cpu/cg_kernels.h"

namespace dsla::krylov {

device::Stub<CgSpmvDotFn> cg_spmv_dot_stub;
device::Stub<CgUpdateFn> cg_update_stub;
device::Stub<CgDirectionFn> cg_direction_stub;
device::Stub<MakeDeviceCgStepsFn> make_device_cg_steps_stub;

namespace kc = kernels::cpu;

at::Tensor re_dot_partial(const at::Tensor& a, const at::Tensor& b) {
  auto d = (a.is_complex() ? a.conj() * b : a * b).sum(1, /*keepdim=*/true);
  return d.is_complex() ? at::real(d) : d;
}
using detail::ptr;

namespace {

at::Tensor safe_div(const at::Tensor& num, const at::Tensor& den) {
  return at::where(den != 0, num / at::where(den != 0, den, at::ones_like(den)),
                   at::zeros_like(num));
}

void spmv_dot_aten(const Pattern& pattern, const at::Tensor& values, const at::Tensor& p,
                   at::Tensor& q, at::Tensor& pq) {
  detail::spmm(pattern, values, p, q);
  pq.copy_(re_dot_partial(p, q));
}

void update_aten(at::Tensor& x, at::Tensor& r, const at::Tensor& p, const at::Tensor& q,
                 const at::Tensor& dinv, const at::Tensor& rz, const at::Tensor& pq,
                 const at::Tensor& active, at::Tensor& rz_new, at::Tensor& rr) {
  auto alpha = safe_div(rz, pq);
  if (active.defined()) alpha = alpha * active;
  x.add_(alpha * p);
  r.sub_(alpha * q);
  rr.copy_(re_dot_partial(r, r));
  if (dinv.defined()) {
    rz_new.copy_(re_dot_partial(r, dinv * r));
  } else {
    rz_new.copy_(rr);
  }
}

void direction_aten(at::Tensor& p, const at::Tensor& r, const at::Tensor& z, const at::Tensor& dinv,
                    at::Tensor& rz, const at::Tensor& rz_new, const at::Tensor& active) {
  auto beta = safe_div(rz_new, rz);
  at::Tensor zz = z.defined() ? z : (dinv.defined() ? dinv * r : r);
  auto pn = zz + beta * p;
  if (active.defined()) {
    p.copy_(at::where(active != 0, pn, p));
    rz.copy_(at::where(active != 0, rz_new, rz));
  } else {
    p.copy_(pn);
    rz.copy_(rz_new);
  }
}

bool cpu_ok(const at::Tensor& t) {
  return !t.defined() || (t.is_cpu() && t.is_contiguous());
}

const void* opt_ptr(const at::Tensor& t) {
  return t.defined() ? t.data_ptr() : nullptr;
}

int64_t dinv_stride(const at::Tensor& dinv, int64_t n) {
  return (dinv.defined() && dinv.size(0) > 1) ? n : 0;
}

}  // namespace

void cg_spmv_dot(const Pattern& pattern, const at::Tensor& values, const at::Tensor& p,
                 at::Tensor& q, at::Tensor& pq) {
  if (auto* f = cg_spmv_dot_stub.on(p.device())) return f(pattern, values, p, q, pq);
  if (!p.is_cpu() || !cpu_ok(values) || !cpu_ok(p) || !cpu_ok(q) || !cpu_ok(pq) ||
      values.is_conj()) {
    return spmv_dot_aten(pattern, values, p, q, pq);
  }
  const int64_t B = p.size(0), n = p.size(1), k = p.size(2);
  if (detail::is_mixed_precision(values.scalar_type(), p.scalar_type())) {
    DSLA_DISPATCH_INDEX(pattern.index_dtype(), "cg", [&] {
      kc::cg_spmv_dot<float, index_t, double>(
          detail::csr_view<float, index_t>(pattern, values), kernels::BlockShape{n, k, B},
          ptr<double>(p), ptr<double>(q), ptr<double>(pq), detail::num_threads());
    });
    return;
  }
  DSLA_DISPATCH_INDEX(pattern.index_dtype(), "cg", [&] {
    DSLA_DISPATCH_VALUE(p.scalar_type(), "cg", [&] {
      using R = kc::real_of_t<scalar_t>;
      kc::cg_spmv_dot<scalar_t, index_t>(detail::csr_view<scalar_t, index_t>(pattern, values),
                                         kernels::BlockShape{n, k, B}, ptr<scalar_t>(p),
                                         ptr<scalar_t>(q), ptr<R>(pq), detail::num_threads());
    });
  });
}

void cg_update(at::Tensor& x, at::Tensor& r, const at::Tensor& p, const at::Tensor& q,
               const at::Tensor& dinv, const at::Tensor& rz, const at::Tensor& pq,
               const at::Tensor& active, at::Tensor& rz_new, at::Tensor& rr) {
  if (auto* f = cg_update_stub.on(x.device())) {
    return f(x, r, p, q, dinv, rz, pq, active, rz_new, rr);
  }
  if (!x.is_cpu() || !cpu_ok(x) || !cpu_ok(r) || !cpu_ok(p) || !cpu_ok(q) || !cpu_ok(dinv) ||
      !cpu_ok(rz) || !cpu_ok(pq) || !cpu_ok(active) || !cpu_ok(rz_new) || !cpu_ok(rr) ||
      (dinv.defined() && dinv.is_conj())) {
    return update_aten(x, r, p, q, dinv, rz, pq, active, rz_new, rr);
  }
  const int64_t B = x.size(0), n = x.size(1), k = x.size(2);
  DSLA_DISPATCH_VALUE(x.scalar_type(), "cg", [&] {
    using R = kc::real_of_t<scalar_t>;
    kernels::CgVectors<scalar_t> v;
    v.x = ptr<scalar_t>(x);
    v.r = ptr<scalar_t>(r);
    v.p = ptr<scalar_t>(p);
    v.q = ptr<scalar_t>(q);
    v.dinv = static_cast<const scalar_t*>(opt_ptr(dinv));
    v.dinv_bstride = dinv_stride(dinv, n);
    kernels::CgScalars<R> c;
    c.rz = ptr<R>(rz);
    c.pq = ptr<R>(pq);
    c.active = static_cast<const R*>(opt_ptr(active));
    c.rz_new = ptr<R>(rz_new);
    c.rr = ptr<R>(rr);
    kc::cg_update<scalar_t>(kernels::BlockShape{n, k, B}, v, c, detail::num_threads());
  });
}

void cg_direction(at::Tensor& p, const at::Tensor& r, const at::Tensor& z, const at::Tensor& dinv,
                  at::Tensor& rz, const at::Tensor& rz_new, const at::Tensor& active) {
  if (auto* f = cg_direction_stub.on(p.device())) return f(p, r, z, dinv, rz, rz_new, active);
  if (!p.is_cpu() || !cpu_ok(p) || !cpu_ok(r) || !cpu_ok(z) || !cpu_ok(dinv) || !cpu_ok(rz) ||
      !cpu_ok(rz_new) || !cpu_ok(active) || (dinv.defined() && dinv.is_conj()) ||
      (z.defined() && z.is_conj())) {
    return direction_aten(p, r, z, dinv, rz, rz_new, active);
  }
  const int64_t B = p.size(0), n = p.size(1), k = p.size(2);
  DSLA_DISPATCH_VALUE(p.scalar_type(), "cg", [&] {
    using R = kc::real_of_t<scalar_t>;
    kernels::CgVectors<scalar_t> v;
    v.p = ptr<scalar_t>(p);
    v.r = ptr<scalar_t>(r);
    v.z = static_cast<const scalar_t*>(opt_ptr(z));
    v.dinv = static_cast<const scalar_t*>(opt_ptr(dinv));
    v.dinv_bstride = dinv_stride(dinv, n);
    kernels::CgScalars<R> c;
    c.rz = ptr<R>(rz);
    c.rz_new = ptr<R>(rz_new);
    c.active = static_cast<const R*>(opt_ptr(active));
    kc::cg_direction<scalar_t>(kernels::BlockShape{n, k, B}, v, c, detail::num_threads());
  });
}

}  // namespace dsla::krylov
