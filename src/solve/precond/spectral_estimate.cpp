// The spectral estimate of D⁻¹A (spectral_estimate.h): three step implementations of one
// recurrence (CPU kernel, device slot, ATen for batches and complex values), one host-side
// reading of the tridiagonal.
#include "solve/precond/spectral_estimate.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "core/dispatch.h"
#include "core/kernel_views.h"
#include "core/products.h"
#include "kernels/cpu/chebyshev_kernels.h"

namespace dsla::precond::detail {

device::Stub<LanczosFn> lanczos_stub;

namespace {

using ApplyFn = std::function<at::Tensor(const at::Tensor&)>;  // x [B, n, 1] -> A x

// v_i = frac(0.618.. g + 0.25) − 0.5 by global row id g (VectorSpace::global_ids), normalized
// over the space: the CPU and CUDA kernels generate the same (ids 0, 1, ...), and every layout
// of a distributed A — any partition, interior-first local order — draws one process's vector.
at::Tensor start_vector(int64_t B, int64_t n, const at::Tensor& like, const VectorSpace& space) {
  auto o = like.options().dtype(at::kDouble);
  // The ids to the device as they are, converted there (a host conversion of a 250M-row
  // share's ids took longer than the copy).
  auto g = space.global_ids(n).to(like.device()).to(o);
  auto v = ((g * 0.6180339887498949 + 0.25).frac() - 0.5).view({1, n, 1});
  v = v / space.norm(v);
  return v.to(like.scalar_type()).expand({B, n, 1}).contiguous();
}

// Whether every entry of dinv is real and positive, on every rank (one reduction).
bool real_positive(const at::Tensor& d, const VectorSpace& space) {
  at::Tensor bad = at::isComplexType(d.scalar_type())
                       ? at::logical_or(at::real(d) <= 0, at::imag(d) != 0)
                       : d <= 0;
  auto count = bad.sum().to(at::kDouble).view({1});
  space.reduce_(count);
  return count.item<double>() == 0;
}

// The Lanczos coefficients by ATen (any batch, real or complex, any space), as the kernels
// compute them: dot products and norms through the space.
void lanczos_aten(const ApplyFn& apply, const at::Tensor& dinv, int64_t B, int64_t n, int64_t K,
                  const at::Tensor& like, const VectorSpace& space, at::Tensor& al,
                  at::Tensor& be) {
  auto v = start_vector(B, n, like, space);
  auto s = at::real(dinv).sqrt().to(like.scalar_type());
  auto v_prev = at::zeros_like(v);
  auto beta = at::zeros({B, 1, 1}, at::real(s).options());
  std::vector<at::Tensor> alphas, betas;
  for (int64_t j = 0; j < K; ++j) {
    auto w = s * apply(s * v);
    auto alpha = at::real(space.dot(v, w));
    w = w - alpha * v - beta * v_prev;
    auto bn = space.norm(w).to(beta.scalar_type());
    auto ok = bn > 1e-10 * alpha.abs();
    v_prev = v;
    v = at::where(ok, w / bn.clamp_min(1e-300), at::zeros_like(w));
    beta = at::where(ok, bn, at::zeros_like(bn));
    alphas.push_back(alpha.reshape({B}));
    if (j + 1 < K) betas.push_back(beta.reshape({B}));
  }
  al = at::stack(alphas, 1).to(at::kCPU, at::kDouble);
  be = betas.empty() ? at::zeros({B, 0}, al.options())
                     : at::stack(betas, 1).to(at::kCPU, at::kDouble);
}

// Power iteration on D⁻¹A: ‖D⁻¹A v‖ for unit v tends to ρ from below for diagonalizable
// matrices with a dominant eigenvalue.
at::Tensor power_lmax(const ApplyFn& apply, const at::Tensor& dinv, int64_t B, int64_t n, int64_t K,
                      const at::Tensor& like, const VectorSpace& space) {
  auto v = start_vector(B, n, like, space);
  at::Tensor lam;
  for (int64_t j = 0; j < K; ++j) {
    auto w = dinv * apply(v);
    lam = space.norm(w);
    v = w / lam.clamp_min(1e-300);
  }
  return lam.reshape({B}).to(at::kCPU, at::kDouble);
}

void lanczos_cpu(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv, int64_t K,
                 at::Tensor& al, at::Tensor& be) {
  al = at::empty({1, K}, at::kDouble);
  be = at::zeros({1, std::max<int64_t>(K - 1, 0)}, at::kDouble);
  auto vv = values.contiguous(), dd = dinv.contiguous();
  DSLA_DISPATCH_INDEX(a.index_dtype(), "spectral estimate", [&] {
    AT_DISPATCH_FLOATING_TYPES(vv.scalar_type(), "spectral estimate", [&] {
      kernels::cpu::lanczos_tridiagonal<scalar_t, index_t>(
          dsla::detail::csr_view<scalar_t, index_t>(a, vv), dsla::detail::ptr<scalar_t>(dd), K,
          dsla::detail::ptr<double>(al), dsla::detail::ptr<double>(be),
          dsla::detail::num_threads());
    });
  });
}

}  // namespace

namespace {

// The host reading of the tridiagonal: up to the first breakdown (later coefficients describe
// zero vectors), its extreme eigenvalues per member (K x K on the host: a device eigensolver
// costs more).
SpectrumEstimate read_tridiagonal(const at::Tensor& al, const at::Tensor& be) {
  const int64_t B = al.size(0), K = al.size(1);
  SpectrumEstimate est;
  est.lanczos = true;
  est.lmin = at::empty({B}, at::kDouble);
  est.lmax = at::empty({B}, at::kDouble);
  auto A = al.accessor<double, 2>();
  auto Bt = be.accessor<double, 2>();
  for (int64_t b = 0; b < B; ++b) {
    int64_t size = K;
    for (int64_t j = 0; j + 1 < K; ++j) {
      if (Bt[b][j] == 0.0) {
        size = j + 1;
        break;
      }
    }
    auto T = at::zeros({size, size}, at::kDouble);
    auto t = T.accessor<double, 2>();
    for (int64_t j = 0; j < size; ++j) {
      t[j][j] = A[b][j];
      if (j + 1 < size) t[j][j + 1] = t[j + 1][j] = Bt[b][j];
    }
    auto ev = at::linalg_eigvalsh(T);  // ascending
    est.lmin[b] = ev[0].item<double>();
    est.lmax[b] = ev[size - 1].item<double>();
  }
  return est;
}

SpectrumEstimate empty_estimate(int64_t B) {
  SpectrumEstimate est;
  est.lmax = at::zeros({B}, at::kDouble);
  est.lmin = est.lmax.clone();
  est.lanczos = true;
  return est;
}

}  // namespace

SpectrumEstimate estimate_spectrum(const Pattern& a, const at::Tensor& values,
                                   const at::Tensor& dinv, int64_t steps, bool hermitian) {
  const int64_t B = values.size(0), n = a.rows();
  const int64_t K = std::max<int64_t>(1, std::min<int64_t>(steps, n));
  if (n == 0) return empty_estimate(B);
  const auto& local = VectorSpace::local();
  ApplyFn apply = [&](const at::Tensor& x) { return dsla::detail::spmm(a, values, x); };
  if (!hermitian || !real_positive(dinv, local)) {
    SpectrumEstimate est;
    est.lmax = power_lmax(apply, dinv, B, n, K, values, local);
    return est;
  }
  at::Tensor al, be;
  auto* on_device = lanczos_stub.on(values.device());
  if (B == 1 && at::isFloatingType(values.scalar_type()) && values.is_cpu()) {
    lanczos_cpu(a, values, dinv, K, al, be);
  } else if (B == 1 && at::isFloatingType(values.scalar_type()) && on_device != nullptr) {
    on_device(a, values, dinv, K, al, be);
  } else {
    lanczos_aten(apply, dinv, B, n, K, values, local, al, be);
  }
  return read_tridiagonal(al, be);
}

SpectrumEstimate estimate_spectrum(const LinearOperator& A, const at::Tensor& dinv, int64_t steps,
                                   bool hermitian) {
  const auto& space = A.space();
  const int64_t B = dinv.size(0), n = A.rows();
  // The step count from the global size: every rank runs the same number of collectives.
  const int64_t K = std::max<int64_t>(1, std::min<int64_t>(steps, space.global_rows(n)));
  auto like = at::empty({0}, at::TensorOptions().dtype(A.dtype()).device(A.device()));
  ApplyFn apply = [&](const at::Tensor& x) {
    auto y = at::empty_like(x);
    A.apply(x, y);
    return y;
  };
  if (space.global_rows(n) == 0) return empty_estimate(B);
  if (!hermitian || !real_positive(dinv, space)) {
    SpectrumEstimate est;
    est.lmax = power_lmax(apply, dinv, B, n, K, like, space);
    return est;
  }
  at::Tensor al, be;
  lanczos_aten(apply, dinv, B, n, K, like, space, al, be);
  return read_tridiagonal(al, be);
}

}  // namespace dsla::precond::detail
