// B-orthonormalization of a block: Cholesky QR (fast, one Gram matrix), SVQB when the Gram
// matrix is too ill-conditioned for Cholesky (drops near-dependent directions). The Gram matrix
// comes from the block's VectorSpace, so the same code orthonormalizes distributed blocks.
// Also the random start block, drawn by global row so that it does not depend on the layout.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>

#include "solve/eigen/eigen_internal.h"

namespace dsla::eigen {

namespace {

// splitmix64 is counter-based by construction: its i-th output is mix(seed + (i + 1) γ). Entry
// (row, column) of a block uses the outputs i = 4 (column · 2⁴⁰ + row) + stream, stream 0 and 1:
// distinct for up to 2⁴⁰ rows and 2²² columns.
uint64_t splitmix64_at(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A uniform in (0, 1] from the counter (seed, row, column, stream).
double uniform(uint64_t seed, uint64_t row, uint64_t col, uint64_t stream) {
  const uint64_t h = splitmix64_at(seed, 4 * ((col << 40) + row) + stream);
  return (static_cast<double>(h >> 11) + 1.0) * 0x1.0p-53;
}

}  // namespace

at::Tensor random_block(const at::Tensor& ids_in, int64_t m, at::TensorOptions options,
                        uint64_t seed) {
  const auto ids = ids_in.to(at::kCPU, at::kLong).contiguous();
  const int64_t n = ids.numel();
  const int64_t* gid = ids.data_ptr<int64_t>();
  // Box–Muller on two counter-based uniforms per entry: the pair (r cos t, r sin t) is two
  // independent standard normals, the real and imaginary parts of a complex entry.
  const bool cplx = at::isComplexType(c10::typeMetaToScalarType(options.dtype()));
  auto X = at::empty({n, m, cplx ? 2 : 1}, at::TensorOptions().dtype(at::kDouble));
  double* x = X.data_ptr<double>();
  const double part = cplx ? std::sqrt(0.5) : 1.0;  // at::randn: complex entries of variance 1
  constexpr double two_pi = 6.283185307179586;
  at::parallel_for(0, n, 1024, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const auto g = static_cast<uint64_t>(gid[i]);
      for (int64_t j = 0; j < m; ++j) {
        const double r = std::sqrt(-2.0 * std::log(uniform(seed, g, j, 0))) * part;
        const double t = two_pi * uniform(seed, g, j, 1);
        double* e = x + (i * m + j) * (cplx ? 2 : 1);
        e[0] = r * std::cos(t);
        if (cplx) e[1] = r * std::sin(t);
      }
    }
  });
  auto out = cplx ? at::view_as_complex(X) : X.squeeze(-1);
  return out.to(options);
}

at::Tensor orthonormalize(const VectorSpace& space, at::Tensor& X, at::Tensor& BX,
                          std::vector<at::Tensor*> also, double drop) {
  const bool has_b = BX.defined();
  auto G = space.gram(X, has_b ? BX : X);
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
