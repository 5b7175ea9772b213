// The CUDA passes of the Chebyshev sweep loop (smoothing.h, chebyshev.cpp): one fused SpMV
// kernel per pass, the coefficients read from device memory (no host synchronization).
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "core/dispatch.h"
#include "core/kernel_views.h"
#include "kernels/cuda/chebyshev_cuda.h"
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
      kc::cheb_first<scalar_t, index_t>(dsla::detail::csr_view<scalar_t, index_t>(p.a, p.values),
                                        chebyshev_vectors<scalar_t>(p, &b, x, r, d, nullptr),
                                        ptr<scalar_t>(p.coef), stream());
    });
  });
}

void cheb_step_cuda(const ChebyshevPassArgs& p, int64_t k, at::Tensor& r, const at::Tensor& d,
                    at::Tensor& dn, at::Tensor& x, int mode) {
  const c10::cuda::CUDAGuard guard(p.a.device());
  DSLA_DISPATCH_INDEX(p.a.index_dtype(), "chebyshev", [&] {
    AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "chebyshev", [&] {
      const scalar_t* c = ptr<scalar_t>(p.coef);
      kc::cheb_step<scalar_t, index_t>(dsla::detail::csr_view<scalar_t, index_t>(p.a, p.values),
                                       chebyshev_vectors<scalar_t>(p, nullptr, &x, r, d, &dn),
                                       c + 2 * k - 1, c + 2 * k, mode, stream());
    });
  });
}

}  // namespace

DSLA_REGISTER_CUDA(cheb_first_stub, cheb_first_cuda);
DSLA_REGISTER_CUDA(cheb_step_stub, cheb_step_cuda);

}  // namespace dsla::precond::detail
