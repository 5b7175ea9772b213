#include "solve/amg/amg_cuda.h"

#include "solve/amg/amg_internal.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/dispatch.h"
#include "core/kernel_views.h"
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
      const auto A = dsla::detail::csr_view<scalar_t, index_t>(a, v);
      kc::amg_strength_count<scalar_t, index_t>(A, ptr<scalar_t>(absdiag), theta,
                                                ptr<int64_t>(count), s);
      crow = at::zeros({n + 1}, count.options());
      if (n > 0) {
        auto tail = crow.narrow(0, 1, n);
        at::cumsum_out(tail, count, 0);
      }
      col = at::empty({n > 0 ? crow[n].item<int64_t>() : 0}, a.col().options());
      kc::amg_strength_fill<scalar_t, index_t>(A, ptr<scalar_t>(absdiag), theta, ptr<int64_t>(crow),
                                               ptr<index_t>(col), s);
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
      kc::amg_smoothing_values<scalar_t, index_t>(dsla::detail::csr_view<scalar_t, index_t>(a, v),
                                                  a.nnz(), B, ptr<scalar_t>(d), ptr<scalar_t>(sc),
                                                  ptr<scalar_t>(out), stream());
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
          dsla::detail::csr_view<scalar_t, index_t>(p, v), p.nnz(), B,
          dsla::detail::csr_pattern<index_t>(pt), ptr<scalar_t>(out), stream());
    });
  });
  return out;
}

// The CUDA slots of src/solve/amg (amg_internal.h).
DSLA_REGISTER_CUDA(amg::detail::strength_stub, amg_strength);
DSLA_REGISTER_CUDA(amg::detail::aggregate_mis2_stub, amg_aggregate_mis2);
DSLA_REGISTER_CUDA(amg::detail::smoothing_values_stub, amg_smoothing_values);
DSLA_REGISTER_CUDA(amg::detail::transpose_stub, amg_transpose);
DSLA_REGISTER_CUDA(amg::detail::transpose_values_stub, amg_transpose_values);

}  // namespace dsla::cuda
