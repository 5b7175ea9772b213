// The CUDA Lanczos of the spectral estimate (spectral_estimate.h): two fused kernels per step,
// the scalars on the device, one synchronization at the end to read the tridiagonal.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cmath>

#include "core/dispatch.h"
#include "core/kernel_views.h"
#include "kernels/cuda/chebyshev_cuda.h"
#include "solve/precond/spectral_estimate.h"

namespace dsla::precond::detail {

namespace {

namespace kc = kernels::cuda;
using dsla::detail::ptr;

cudaStream_t stream() {
  return at::cuda::getCurrentCUDAStream().stream();
}

void lanczos_cuda(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv, int64_t K,
                  at::Tensor& alpha, at::Tensor& beta) {
  const c10::cuda::CUDAGuard guard(a.device());
  const int64_t n = a.rows();
  auto v = values.contiguous(), d = dinv.contiguous();
  auto o = v.options().dtype(at::kDouble);
  auto work = at::empty({kc::lanczos_workspace(n)}, o);
  auto ticket = at::zeros({1}, o.dtype(at::kInt));
  auto coef = at::zeros({2 * K + 1}, o);  // alpha [K], then nrm [K + 1]
  DSLA_DISPATCH_INDEX(a.index_dtype(), "spectral estimate", [&] {
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "spectral estimate", [&] {
      kc::lanczos_tridiagonal<scalar_t, index_t>(
          dsla::detail::csr_view<scalar_t, index_t>(a, v), ptr<scalar_t>(d), K, ptr<double>(work),
          reinterpret_cast<unsigned*>(ptr<int32_t>(ticket)), ptr<double>(coef),
          ptr<double>(coef) + K, stream());
    });
  });
  auto h = coef.cpu();
  const double* al = h.data_ptr<double>();
  const double* nrm = al + K;
  alpha = h.narrow(0, 0, K).view({1, K}).clone();
  beta = at::zeros({1, std::max<int64_t>(K - 1, 0)}, h.options());
  double* be = beta.data_ptr<double>();
  for (int64_t j = 0; j + 1 < K; ++j) {
    // The CPU kernel's breakdown rule: beta_j = 0 when ‖u_{j+1}‖ <= 1e-10 |alpha_j|.
    const double bn = std::sqrt(nrm[j + 1]);
    be[j] = bn > 1e-10 * std::abs(al[j]) ? bn : 0.0;
  }
}

}  // namespace

DSLA_REGISTER_CUDA(lanczos_stub, lanczos_cuda);

}  // namespace dsla::precond::detail
