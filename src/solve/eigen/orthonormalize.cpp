// B-orthonormalization of a block: Cholesky QR (fast, one Gram matrix), SVQB when the Gram
// matrix is too ill-conditioned for Cholesky (drops near-dependent directions).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "solve/eigen/eigen_internal.h"

namespace dsla::eigen {

at::Tensor random_block(int64_t n, int64_t m, at::TensorOptions options, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto X = at::randn({n, m}, gen, options.device(at::kCPU));
  return X.to(options.device());
}

at::Tensor orthonormalize(at::Tensor& X, at::Tensor& BX, std::vector<at::Tensor*> also,
                          double drop) {
  const bool has_b = BX.defined();
  auto G = X.mH().matmul(has_b ? BX : X);
  G = (G + G.mH()) * 0.5;
  auto d = at::real(G.diagonal()).clamp_min(0);
  const double dmax = d.numel() ? d.max().item<double>() : 0.0;
  auto dscale = at::where(d > drop * dmax, d.rsqrt(), at::zeros_like(d));
  auto Gs = G * dscale.unsqueeze(0) * dscale.unsqueeze(1);
  at::Tensor C;
  auto [L, info] = at::linalg_cholesky_ex(Gs);
  bool ok = info.item<int64_t>() == 0;
  if (ok) {
    auto ld = at::real(L.diagonal());
    ok = ld.numel() > 0 && ld.min().item<double>() > 1e-6;  // condition ≲ 1e12
  }
  if (ok) {
    auto I = at::eye(L.size(0), L.options());
    auto Linv = at::linalg_solve_triangular(L, I, /*upper=*/false);
    C = dscale.to(L.scalar_type()).unsqueeze(1) * Linv.mH();
  } else {
    auto [w, V] = at::linalg_eigh(Gs);
    const double wmax = w.numel() ? w.max().item<double>() : 0.0;
    auto keep = (w > drop * 1e3 * std::max(wmax, 1e-300)).nonzero().squeeze(1);
    auto Vk = V.index_select(1, keep);
    auto wk = w.index_select(0, keep);
    C = dscale.to(V.scalar_type()).unsqueeze(1) * (Vk * wk.rsqrt().to(V.scalar_type()));
  }
  X = X.matmul(C);
  if (has_b) BX = BX.matmul(C);
  for (auto* t : also)
    if (t && t->defined()) *t = t->matmul(C);
  return C;
}

}  // namespace dsla::eigen
