// Restarted Arnoldi for a few eigenvalues of a general operator, in complex arithmetic.
// Thick restart in the Krylov–Schur manner: after each cycle of ncv steps the p wanted Ritz
// vectors are orthonormalized (Q), the basis is compressed to V Q and the Hessenberg matrix to
// the p × p block Qᴴ H Q plus one coupling row β e_mᵀ Q; span(Q) is H-invariant, so the
// Arnoldi relation A V_p = V_p T + v bᵀ holds exactly and the next cycle continues from v.
// Classical Gram–Schmidt with one reorthogonalization pass (DGKS) keeps V orthonormal.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "solve/eigen/eigen_internal.h"

namespace dsla::eigen {

at::Tensor select(const at::Tensor& vals, const std::string& which, int64_t k) {
  at::Tensor key;
  auto re = vals.is_complex() ? at::real(vals) : vals;
  if (which == "LM")
    key = -vals.abs();
  else if (which == "SM")
    key = vals.abs();
  else if (which == "LR" || which == "LA")
    key = -re;
  else if (which == "SR" || which == "SA")
    key = re;
  else
    TORCH_CHECK_VALUE(false, "dsla: argument 'which': unknown value '", which, "'");
  auto order = std::get<1>(key.to(at::kDouble).sort(/*stable=*/true, 0, false));
  return order.slice(0, 0, k);
}

ArnoldiResult arnoldi(const BlockOp& A, int64_t n, at::TensorOptions options, int64_t k,
                      const std::string& which, double anorm, double tol, int64_t maxiter,
                      int64_t ncv, uint64_t seed, const VectorSpace& space) {
  auto copt = options.dtype(c10::toComplexType(c10::typeMetaToScalarType(options.dtype())));
  if (ncv <= 0) ncv = std::max<int64_t>(2 * k + 1, 20);
  ncv = std::min(ncv, n);
  ArnoldiResult out;
  if (ncv >= n && space.is_local()) {  // small: dense
    auto Ad = A(at::eye(n, copt));
    auto [w, Vd] = at::linalg_eig(Ad);
    auto sel = select(w, which, k);
    out.values = w.index_select(0, sel);
    out.vectors = Vd.index_select(1, sel);
    out.vectors = out.vectors / at::linalg_vector_norm(out.vectors, 2, {0}).unsqueeze(0);
    out.residuals = at::zeros({k}, at::kDouble);
    out.converged = k;
    return out;
  }
  TORCH_CHECK_VALUE(ncv > k + 1,
                    "dsla: argument 'ncv': needs more than k + 1 basis vectors; "
                    "raise ncv or lower k");
  if (maxiter < 0) maxiter = 300;
  auto V = at::zeros({n, ncv + 1}, copt);
  auto H = at::zeros({ncv + 1, ncv}, copt);
  auto v0 = random_block(n, 1, copt, seed, space.global_offset());
  V.slice(1, 0, 1).copy_(v0 / space.norm(v0));
  int64_t j0 = 0;
  const int64_t p = std::min<int64_t>(ncv - 1, k + (ncv - k) / 2);
  at::Tensor theta, Y, sel;
  int64_t restart = 0;
  for (;; ++restart) {
    for (int64_t j = j0; j < ncv; ++j) {
      auto Vj = V.slice(1, 0, j + 1);
      auto w = A(V.slice(1, j, j + 1));
      auto h = space.gram(Vj, w);
      w = w - Vj.matmul(h);
      auto h2 = space.gram(Vj, w);
      w = w - Vj.matmul(h2);
      h = h + h2;
      auto beta = space.norm(w).squeeze();
      const double b = beta.item<double>();
      H.slice(0, 0, j + 1).slice(1, j, j + 1).copy_(h);
      if (b <= 1e-14 * std::max(anorm, 1e-300)) {
        // Invariant subspace: continue with a fresh random direction (coupling 0).
        auto r = random_block(n, 1, copt, seed + 7919 * (j + 1) + restart, space.global_offset());
        for (int pass = 0; pass < 2; ++pass) r = r - Vj.matmul(space.gram(Vj, r));
        V.slice(1, j + 1, j + 2).copy_(r / space.norm(r));
        H.index_put_({j + 1, j}, 0);
      } else {
        V.slice(1, j + 1, j + 2).copy_(w / beta);
        H.index_put_({j + 1, j}, beta);
      }
    }
    auto Hm = H.slice(0, 0, ncv);
    std::tie(theta, Y) = at::linalg_eig(Hm);
    sel = select(theta, which, k);
    auto beta = H.index({ncv, ncv - 1}).abs();
    auto est = (beta * Y.index({ncv - 1}).abs()).index_select(0, sel);
    double scale = anorm > 0 ? anorm : theta.abs().max().item<double>();
    const bool done = (est <= tol * scale).all().item<bool>();
    if (done || restart >= maxiter) break;
    auto selp = select(theta, which, p);
    auto Q = std::get<0>(at::linalg_qr(Y.index_select(1, selp)));
    auto T = Q.mH().matmul(Hm).matmul(Q);
    auto brow = H.index({ncv, ncv - 1}) * Q.index({ncv - 1});
    auto Vnew = V.slice(1, 0, ncv).matmul(Q);
    auto vlast = V.slice(1, ncv, ncv + 1).clone();
    V.zero_();
    V.slice(1, 0, p).copy_(Vnew);
    V.slice(1, p, p + 1).copy_(vlast);
    H.zero_();
    H.slice(0, 0, p).slice(1, 0, p).copy_(T);
    H.select(0, p).slice(0, 0, p).copy_(brow);
    j0 = p;
  }
  out.iterations = restart;
  out.values = theta.index_select(0, sel);
  auto X = V.slice(1, 0, ncv).matmul(Y.index_select(1, sel));
  X = X / space.norm(X);
  out.vectors = X;
  auto R = A(X) - X * out.values.unsqueeze(0);
  double scale = anorm > 0 ? anorm : out.values.abs().max().item<double>();
  out.residuals = (space.norm(R).squeeze(0).to(at::kDouble) / std::max(scale, 1e-300)).cpu();
  out.converged = (out.residuals <= tol).sum().item<int64_t>();
  return out;
}

}  // namespace dsla::eigen
