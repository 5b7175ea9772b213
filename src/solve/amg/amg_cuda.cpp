#include "solve/amg/amg_cuda.h"

#include "solve/amg/amg_internal.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/dispatch.h"
#include "kernels/cuda/amg_cuda.h"

namespace dsla::cuda {

namespace kc = kernels::cuda;
using detail::ptr;

namespace {
cudaStream_t stream() {
  return at::cuda::getCurrentCUDAStream().stream();
}
}  // namespace

PatternPtr amg_strength(const Pattern& a, const at::Tensor& values, double theta) {
  const c10::cuda::CUDAGuard guard(a.device());
  const int64_t n = a.rows();
  auto v = values.contiguous();
  auto absdiag = v.index_select(0, a.diag_pos()).abs().contiguous();
  auto count = at::empty({n}, a.crow().options().dtype(at::kLong));
  auto s = stream();
  at::Tensor crow, col;
  DSLA_DISPATCH_INDEX(a.index_dtype(), "amg strength", [&] {
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "amg strength", [&] {
      kc::amg_strength_count<scalar_t, index_t>(n, ptr<index_t>(a.crow()), ptr<index_t>(a.col()),
                                                ptr<scalar_t>(v), ptr<scalar_t>(absdiag), theta,
                                                ptr<int64_t>(count), s);
      crow = at::zeros({n + 1}, count.options());
      if (n > 0) {
        auto tail = crow.narrow(0, 1, n);
        at::cumsum_out(tail, count, 0);
      }
      col = at::empty({n > 0 ? crow[n].item<int64_t>() : 0}, a.col().options());
      kc::amg_strength_fill<scalar_t, index_t>(n, ptr<index_t>(a.crow()), ptr<index_t>(a.col()),
                                               ptr<scalar_t>(v), ptr<scalar_t>(absdiag), theta,
                                               ptr<int64_t>(crow), ptr<index_t>(col), s);
    });
  });
  return Pattern::from_csr(crow.to(a.index_dtype()), col, n, n, /*check=*/false);
}

int64_t amg_aggregate_mis2(const Pattern& g, uint64_t seed, at::Tensor& agg) {
  const c10::cuda::CUDAGuard guard(g.device());
  const int64_t n = g.rows();
  auto lo = g.crow().options().dtype(at::kLong);
  auto own = at::empty({n}, lo);
  auto flag = at::zeros({1}, lo.dtype(at::kInt));
  auto s = stream();
  {
    auto work = at::empty({4 * n}, lo);
    DSLA_DISPATCH_INDEX(g.index_dtype(), "amg aggregation", [&] {
      kc::amg_aggregate_mis2_own<index_t>(n, ptr<index_t>(g.crow()), ptr<index_t>(g.col()), seed,
                                          ptr<int64_t>(own), ptr<int64_t>(work), ptr<int>(flag), s);
    });
  }
  auto is_root = at::empty({n}, lo);
  kc::amg_aggregate_roots(n, ptr<int64_t>(own), ptr<int64_t>(is_root), s);
  auto root_id = is_root.cumsum(0);
  is_root = at::Tensor();
  const int64_t n_agg = n > 0 ? root_id[n - 1].item<int64_t>() : 0;
  agg = at::empty({n}, lo);
  kc::amg_aggregate_number(n, ptr<int64_t>(own), ptr<int64_t>(root_id), ptr<int64_t>(agg), s);
  return n_agg;
}

at::Tensor amg_smoothing_values(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv,
                                const at::Tensor& scale) {
  const c10::cuda::CUDAGuard guard(a.device());
  const int64_t B = values.size(0), n = a.rows();
  auto v = values.contiguous();
  auto d = dinv.expand({B, n, 1}).contiguous();
  auto sc = scale.to(v.scalar_type()).expand({B, 1, 1}).contiguous();
  auto out = at::empty_like(v);
  DSLA_DISPATCH_INDEX(a.index_dtype(), "amg prolongator", [&] {
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "amg prolongator", [&] {
      kc::amg_smoothing_values<scalar_t, index_t>(
          n, a.nnz(), B, ptr<index_t>(a.crow()), ptr<index_t>(a.col()), ptr<scalar_t>(v),
          ptr<scalar_t>(d), ptr<scalar_t>(sc), ptr<scalar_t>(out), stream());
    });
  });
  return out;
}

PatternPtr amg_transpose(const Pattern& p) {
  const c10::cuda::CUDAGuard guard(p.device());
  const int64_t R = p.rows(), C = p.cols();
  auto lo = p.crow().options().dtype(at::kLong);
  auto col64 = p.col().to(at::kLong);
  at::Tensor keys;
  {
    auto crow = p.crow().to(at::kLong);
    auto counts = crow.narrow(0, 1, R) - crow.narrow(0, 0, R);
    keys = col64 * R + at::repeat_interleave(at::arange(R, lo), counts);
  }
  keys = std::get<0>(at::sort(keys));
  auto col_t = keys.remainder(R).to(p.index_dtype());
  keys = at::Tensor();
  auto counts_t = at::bincount(col64, {}, C);
  auto crow_t = at::cat({at::zeros({1}, lo), counts_t.cumsum(0)}).to(p.index_dtype());
  return Pattern::from_csr(crow_t, col_t, C, R, /*check=*/false);
}

at::Tensor amg_transpose_values(const Pattern& p, const at::Tensor& values, const Pattern& pt) {
  const c10::cuda::CUDAGuard guard(p.device());
  auto v = values.contiguous();
  const int64_t B = v.size(0);
  auto out = at::empty_like(v);
  DSLA_DISPATCH_INDEX(p.index_dtype(), "amg restriction", [&] {
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "amg restriction", [&] {
      kc::amg_transpose_values<scalar_t, index_t>(
          p.rows(), p.nnz(), B, ptr<index_t>(p.crow()), ptr<index_t>(p.col()), ptr<scalar_t>(v),
          ptr<index_t>(pt.crow()), ptr<index_t>(pt.col()), ptr<scalar_t>(out), stream());
    });
  });
  return out;
}

namespace {

// The CUDA passes of smoother.cpp's Chebyshev sweep loop (coefficients stay on the device).
void cheb_first_cuda(const amg::detail::Level& lv, const at::Tensor& b, const at::Tensor* x,
                     at::Tensor& r, at::Tensor& d) {
  const auto& a = *lv.a;
  const c10::cuda::CUDAGuard guard(a.device());
  DSLA_DISPATCH_INDEX(a.index_dtype(), "amg smoother", [&] {
    AT_DISPATCH_FLOATING_TYPES(b.scalar_type(), "amg smoother", [&] {
      kc::amg_cheb_first<scalar_t, index_t>(
          a.rows(), ptr<index_t>(a.crow()), ptr<index_t>(a.col()), ptr<scalar_t>(lv.values),
          ptr<scalar_t>(lv.dinv), ptr<scalar_t>(lv.inv_theta), ptr<scalar_t>(b),
          x ? ptr<scalar_t>(*x) : nullptr, ptr<scalar_t>(r), ptr<scalar_t>(d), stream());
    });
  });
}

void cheb_step_cuda(const amg::detail::Level& lv, int64_t k, at::Tensor& r, const at::Tensor& d,
                    at::Tensor& dn, at::Tensor& x, int mode) {
  const auto& a = *lv.a;
  const c10::cuda::CUDAGuard guard(a.device());
  DSLA_DISPATCH_INDEX(a.index_dtype(), "amg smoother", [&] {
    AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "amg smoother", [&] {
      kc::amg_cheb_step<scalar_t, index_t>(
          a.rows(), ptr<index_t>(a.crow()), ptr<index_t>(a.col()), ptr<scalar_t>(lv.values),
          ptr<scalar_t>(lv.dinv), ptr<scalar_t>(lv.cheb_a[k - 1]), ptr<scalar_t>(lv.cheb_b[k - 1]),
          ptr<scalar_t>(r), ptr<scalar_t>(d), ptr<scalar_t>(dn), ptr<scalar_t>(x), mode, stream());
    });
  });
}

}  // namespace

void amg_lanczos(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv, int64_t K,
                 at::Tensor& alpha, at::Tensor& beta) {
  const c10::cuda::CUDAGuard guard(a.device());
  const int64_t n = a.rows();
  auto v = values.contiguous(), d = dinv.contiguous();
  auto o = v.options().dtype(at::kDouble);
  auto work = at::empty({kc::amg_lanczos_workspace(n)}, o);
  auto ticket = at::zeros({1}, o.dtype(at::kInt));
  auto coef = at::zeros({2 * K + 1}, o);  // alpha [K], then nrm [K + 1]
  DSLA_DISPATCH_INDEX(a.index_dtype(), "amg eigenvalue estimate", [&] {
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "amg eigenvalue estimate", [&] {
      kc::amg_lanczos<scalar_t, index_t>(n, ptr<index_t>(a.crow()), ptr<index_t>(a.col()),
                                         ptr<scalar_t>(v), ptr<scalar_t>(d), K, ptr<double>(work),
                                         reinterpret_cast<unsigned*>(ptr<int32_t>(ticket)),
                                         ptr<double>(coef), ptr<double>(coef) + K, stream());
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

// The CUDA slots of src/solve/amg (amg_internal.h).
DSLA_REGISTER_CUDA(amg::detail::strength_stub, amg_strength);
DSLA_REGISTER_CUDA(amg::detail::aggregate_mis2_stub, amg_aggregate_mis2);
DSLA_REGISTER_CUDA(amg::detail::smoothing_values_stub, amg_smoothing_values);
DSLA_REGISTER_CUDA(amg::detail::transpose_stub, amg_transpose);
DSLA_REGISTER_CUDA(amg::detail::transpose_values_stub, amg_transpose_values);
DSLA_REGISTER_CUDA(amg::detail::cheb_first_stub, cheb_first_cuda);
DSLA_REGISTER_CUDA(amg::detail::cheb_step_stub, cheb_step_cuda);
DSLA_REGISTER_CUDA(amg::detail::lanczos_stub, amg_lanczos);

}  // namespace dsla::cuda
