// Spectral radius estimates of D⁻¹A for the prolongator damping and the Chebyshev bounds.

#include "core/dispatch.h"
#include "core/products.h"
#include "kernels/cpu/amg_kernels.h"
#include "solve/amg/amg_internal.h"

namespace dsla::amg::detail {

namespace {

// A deterministic, device-generic start vector (quasi-random, no RNG state).
at::Tensor start_vector(int64_t B, int64_t n, const at::TensorOptions& o) {
  auto v = (at::arange(n, o) * 0.6180339887498949 + 0.25).frac() - 0.5;
  v = v.view({1, n, 1}).expand({B, n, 1}).contiguous();
  return v / v.norm(2, {1}, true);
}

}  // namespace

at::Tensor estimate_rho(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv,
                        int64_t iters, bool symmetric) {
  const int64_t B = values.size(0), n = a.rows();
  const int64_t K = std::max<int64_t>(2, std::min<int64_t>(iters, n));
  const bool lanczos = symmetric && (dinv > 0).all().item<bool>();
  if (!lanczos) {
    auto v = start_vector(B, n, values.options());
    // Power iteration on D⁻¹A: ‖D⁻¹A v‖ for unit v converges to ρ from below for diagonalizable
    // matrices with a dominant eigenvalue; the caller pads it.
    at::Tensor lam;
    for (int64_t j = 0; j < K; ++j) {
      auto w = dinv * dsla::detail::spmm(a, values, v);
      lam = w.norm(2, {1}, true);
      v = w / lam.clamp_min(1e-300);
    }
    return lam;
  }
  auto* lanczos_on_device = lanczos_stub.on(values.device());
  const bool fused = B == 1 && at::isFloatingType(values.scalar_type()) &&
                     (values.is_cpu() || lanczos_on_device != nullptr);
  if (fused) {
    // Fused kernels (a few passes per step instead of a dozen tensor ops and temporaries): on
    // the CPU with OpenMP, on CUDA two kernels per step with the scalars on the device.
    at::Tensor al, be;
    if (values.is_cpu()) {
      al = at::empty({1, K}, at::kDouble);
      be = at::zeros({1, K - 1}, at::kDouble);
      auto vv = values.contiguous(), dd = dinv.contiguous();
      DSLA_DISPATCH_INDEX(a.index_dtype(), "amg eigenvalue estimate", [&] {
        AT_DISPATCH_FLOATING_TYPES(vv.scalar_type(), "amg eigenvalue estimate", [&] {
          kernels::cpu::amg_lanczos<scalar_t, index_t>(
              n, dsla::detail::ptr<index_t>(a.crow()), dsla::detail::ptr<index_t>(a.col()),
              dsla::detail::ptr<scalar_t>(vv), dsla::detail::ptr<scalar_t>(dd), K,
              dsla::detail::ptr<double>(al), dsla::detail::ptr<double>(be),
              dsla::detail::num_threads());
        });
      });
    } else {
      lanczos_on_device(a, values, dinv, K, al, be);
    }
    // The K x K tridiagonal eigenproblem on the host (a device eigensolver costs more).
    auto T = at::diag_embed(al) + at::diag_embed(be, 1) + at::diag_embed(be, -1);
    auto ev = at::linalg_eigvalsh(T);
    return ev.select(1, K - 1).view({1, 1, 1}).to(values.device(), values.scalar_type());
  }
  auto v = start_vector(B, n, values.options());
  auto s = dinv.sqrt();
  auto v_prev = at::zeros_like(v);
  auto beta = at::zeros({B, 1, 1}, values.options());
  std::vector<at::Tensor> alphas, betas;
  for (int64_t j = 0; j < K; ++j) {
    auto w = s * dsla::detail::spmm(a, values, s * v);
    auto alpha = (w * v).sum(1, true);
    w = w - alpha * v - beta * v_prev;
    auto beta_new = w.norm(2, {1}, true);
    // Breakdown (invariant subspace found): continue with zeros, which adds zero Ritz values.
    auto ok = beta_new > 1e-10 * alpha.abs();
    v_prev = v;
    v = at::where(ok, w / beta_new.clamp_min(1e-300), at::zeros_like(w));
    beta = at::where(ok, beta_new, at::zeros_like(beta_new));
    alphas.push_back(alpha.view({B}));
    if (j + 1 < K) betas.push_back(beta.view({B}));
  }
  auto T = at::diag_embed(at::stack(alphas, 1));
  auto off = at::stack(betas, 1);
  T = T + at::diag_embed(off, 1) + at::diag_embed(off, -1);
  // A K x K problem: on the host (a device eigensolver call costs more than the copies).
  auto ev = at::linalg_eigvalsh(T.cpu());  // [B, K], ascending
  return ev.select(1, K - 1).view({B, 1, 1}).to(values.device());
}

}  // namespace dsla::amg::detail
