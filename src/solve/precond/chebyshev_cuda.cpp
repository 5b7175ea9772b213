// The CUDA passes of the Chebyshev sweep loop (smoothing.h, chebyshev.cpp): one fused SpMV
// kernel per pass, the coefficients read from device memory (no host synchronization).
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "core/dispatch.h"
#include "kernels/cuda/amg_cuda.h"
#include "solve/precond/smoothing.h"

namespace dsla::precond::detail {

namespace {

namespace kc = kernels::cuda;
using dsla::detail::ptr;

cudaStream_t stream() {
  return at::cuda::getCurrentCUDAStream().stream();
}

void cheb_first_cuda(const ChebyshevPassArgs& p, const at::Tensor& b, const at::Tensor* x,
                     at::Tensor& r, at::Tensor& d) {
  const c10::cuda::CUDAGuard guard(p.a.device());
  DSLA_DISPATCH_INDEX(p.a.index_dtype(), "chebyshev", [&] {
    AT_DISPATCH_FLOATING_TYPES(b.scalar_type(), "chebyshev", [&] {
      kc::amg_cheb_first<scalar_t, index_t>(
          p.a.rows(), ptr<index_t>(p.a.crow()), ptr<index_t>(p.a.col()), ptr<scalar_t>(p.values),
          ptr<scalar_t>(p.dinv), ptr<scalar_t>(p.coef), ptr<scalar_t>(b),
          x ? ptr<scalar_t>(*x) : nullptr, ptr<scalar_t>(r), ptr<scalar_t>(d), stream());
    });
  });
}

void cheb_step_cuda(const ChebyshevPassArgs& p, int64_t k, at::Tensor& r, const at::Tensor& d,
                    at::Tensor& dn, at::Tensor& x, int mode) {
  const c10::cuda::CUDAGuard guard(p.a.device());
  DSLA_DISPATCH_INDEX(p.a.index_dtype(), "chebyshev", [&] {
    AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "chebyshev", [&] {
      const scalar_t* c = ptr<scalar_t>(p.coef);
      kc::amg_cheb_step<scalar_t, index_t>(
          p.a.rows(), ptr<index_t>(p.a.crow()), ptr<index_t>(p.a.col()), ptr<scalar_t>(p.values),
          ptr<scalar_t>(p.dinv), c + 2 * k - 1, c + 2 * k, ptr<scalar_t>(r), ptr<scalar_t>(d),
          ptr<scalar_t>(dn), ptr<scalar_t>(x), mode, stream());
    });
  });
}

}  // namespace

DSLA_REGISTER_CUDA(cheb_first_stub, cheb_first_cuda);
DSLA_REGISTER_CUDA(cheb_step_stub, cheb_step_cuda);

}  // namespace dsla::precond::detail
