// The spectral estimate of D⁻¹A (spectral_estimate.h): three step implementations of one
// recurrence (CPU kernel, device slot, ATen for batches and complex values), one host-side
// reading of the tridiagonal.
#include "solve/precond/spectral_estimate.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "core/dispatch.h"
#include "core/products.h"
#include "kernels/cpu/amg_kernels.h"

namespace dsla::precond::detail {

device::Stub<LanczosFn> lanczos_stub;

namespace {

// v_i = frac(0.618.. i + 0.25) − 0.5, normalized: the CPU and CUDA kernels generate the same.
at::Tensor start_vector(int64_t B, int64_t n, const at::Tensor& like) {
  auto o = like.options().dtype(at::kDouble);
  auto v = (at::arange(n, o) * 0.6180339887498949 + 0.25).frac() - 0.5;
  v = v / v.norm();
  return v.to(like.scalar_type()).view({1, n, 1}).expand({B, n, 1}).contiguous();
}

bool real_positive(const at::Tensor& d) {
  if (at::isComplexType(d.scalar_type())) {
    return (at::real(d) > 0).all().item<bool>() && (at::imag(d) == 0).all().item<bool>();
  }
  return (d > 0).all().item<bool>();
}

// The Lanczos coefficients by ATen (any batch, real or complex), as the kernels compute them.
void lanczos_aten(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv, int64_t K,
                  at::Tensor& al, at::Tensor& be) {
  const int64_t B = values.size(0), n = a.rows();
  auto v = start_vector(B, n, values);
  auto s = at::real(dinv).sqrt().to(values.scalar_type());
  auto v_prev = at::zeros_like(v);
  auto beta = at::zeros({B, 1, 1}, at::real(s).options());
  std::vector<at::Tensor> alphas, betas;
  for (int64_t j = 0; j < K; ++j) {
    auto w = s * dsla::detail::spmm(a, values, s * v);
    auto alpha = at::real((v.conj() * w).sum(1, true));
    w = w - alpha * v - beta * v_prev;
    auto bn = at::real(w.norm(2, {1}, true));
    auto ok = bn > 1e-10 * alpha.abs();
    v_prev = v;
    v = at::where(ok, w / bn.clamp_min(1e-300), at::zeros_like(w));
    beta = at::where(ok, bn, at::zeros_like(bn));
    alphas.push_back(alpha.view({B}));
    if (j + 1 < K) betas.push_back(beta.view({B}));
  }
  al = at::stack(alphas, 1).to(at::kCPU, at::kDouble);
  be = betas.empty() ? at::zeros({B, 0}, al.options())
                     : at::stack(betas, 1).to(at::kCPU, at::kDouble);
}

void lanczos_cpu(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv, int64_t K,
                 at::Tensor& al, at::Tensor& be) {
  al = at::empty({1, K}, at::kDouble);
  be = at::zeros({1, std::max<int64_t>(K - 1, 0)}, at::kDouble);
  auto vv = values.contiguous(), dd = dinv.contiguous();
  DSLA_DISPATCH_INDEX(a.index_dtype(), "spectral estimate", [&] {
    AT_DISPATCH_FLOATING_TYPES(vv.scalar_type(), "spectral estimate", [&] {
      kernels::cpu::amg_lanczos<scalar_t, index_t>(
          a.rows(), dsla::detail::ptr<index_t>(a.crow()), dsla::detail::ptr<index_t>(a.col()),
          dsla::detail::ptr<scalar_t>(vv), dsla::detail::ptr<scalar_t>(dd), K,
          dsla::detail::ptr<double>(al), dsla::detail::ptr<double>(be),
          dsla::detail::num_threads());
    });
  });
}

}  // namespace

SpectrumEstimate estimate_spectrum(const Pattern& a, const at::Tensor& values,
                                   const at::Tensor& dinv, int64_t steps, bool hermitian) {
  const int64_t B = values.size(0), n = a.rows();
  const int64_t K = std::max<int64_t>(1, std::min<int64_t>(steps, n));
  SpectrumEstimate est;
  if (n == 0) {
    est.lmax = at::zeros({B}, at::kDouble);
    est.lmin = est.lmax.clone();
    est.lanczos = true;
    return est;
  }
  if (!hermitian || !real_positive(dinv)) {
    // Power iteration on D⁻¹A: ‖D⁻¹A v‖ for unit v tends to ρ from below for diagonalizable
    // matrices with a dominant eigenvalue.
    auto v = start_vector(B, n, values);
    at::Tensor lam;
    for (int64_t j = 0; j < K; ++j) {
      auto w = dinv * dsla::detail::spmm(a, values, v);
      lam = at::real(w.norm(2, {1}, true));
      v = w / lam.clamp_min(1e-300);
    }
    est.lmax = lam.reshape({B}).to(at::kCPU, at::kDouble);
    return est;
  }
  at::Tensor al, be;
  auto* on_device = lanczos_stub.on(values.device());
  if (B == 1 && at::isFloatingType(values.scalar_type()) && values.is_cpu()) {
    lanczos_cpu(a, values, dinv, K, al, be);
  } else if (B == 1 && at::isFloatingType(values.scalar_type()) && on_device != nullptr) {
    on_device(a, values, dinv, K, al, be);
  } else {
    lanczos_aten(a, values, dinv, K, al, be);
  }
  // The tridiagonal up to the first breakdown (later coefficients describe zero vectors), its
  // extreme eigenvalues per member: K x K, on the host (a device eigensolver costs more).
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

}  // namespace dsla::precond::detail
