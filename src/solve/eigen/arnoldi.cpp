// Restarted Arnoldi for a few eigenvalues of a general operator, in complex arithmetic.
// Thick restart in the Krylov–Schur manner: after each cycle of ncv steps the p wanted Ritz
// vectors are orthonormalized (Q), the basis is compressed to V Q and the Hessenberg matrix to
// the p × p block Qᴴ H Q plus one coupling row β e_mᵀ Q; span(Q) is H-invariant, so the
// Arnoldi relation A V_p = V_p T + v bᵀ holds exactly and the next cycle continues from v.
// Classical Gram–Schmidt with one reorthogonalization pass (DGKS) keeps V orthonormal.
//
// Locking, and why: a Krylov space grown from one vector v holds, in exact arithmetic, one
// vector of each eigenspace (v's component in it), so a repeated eigenvalue shows up once and
// the next distinct one takes the second copy's place (convdiff2d(12, 1), k = 4: 11.49, 11.25,
// 11.01, 10.86 instead of 11.49, 11.25, 11.25, 11.01), with every residual small. Hence:
//   - a converged Ritz pair that ranks among the k best seen so far is locked: its Schur vector
//     leaves the active basis for Ql (orthonormal, A Ql ≈ Ql T), and every later vector is
//     orthogonalized against Ql, i.e. Arnoldi continues on the deflated operator
//     (I − Ql Qlᴴ) A, whose spectrum is A's with the locked eigenvalues removed once each;
//   - once k pairs are locked, a verification round restarts from a fresh random vector ⟂ Ql:
//     it sees the further copies of the locked eigenvalues (and anything the first start
//     missed). The round ends when its best Ritz value has converged and ranks outside the k
//     best; a round that locked something is followed by another (a third copy, ...). Only a
//     round that locks nothing verifies the set.
// The returned pairs come from a Rayleigh–Ritz step on span(Ql) (plus the active basis when
// not verified), so a multiple eigenvalue gets independent vectors. `verified` false (maxiter
// reached first) means the set may still miss copies: the front end reports non-convergence.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "solve/eigen/eigen_internal.h"

namespace dsla::eigen {

namespace {

// The sort key of `which` (smaller is better).
at::Tensor which_key(const at::Tensor& vals, const std::string& which) {
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
  return key.to(at::kDouble);
}

}  // namespace

at::Tensor select(const at::Tensor& vals, const std::string& which, int64_t k) {
  auto order = std::get<1>(which_key(vals, which).sort(/*stable=*/true, 0, false));
  return order.slice(0, 0, k);
}

namespace {

ArnoldiResult dense(const BlockOp& A, int64_t n, at::TensorOptions copt, int64_t k,
                    const std::string& which) {
  ArnoldiResult out;
  auto Ad = A(at::eye(n, copt));
  auto [w, Vd] = at::linalg_eig(Ad);
  auto sel = select(w, which, k);
  out.values = w.index_select(0, sel);
  out.vectors = Vd.index_select(1, sel);
  out.vectors = out.vectors / at::linalg_vector_norm(out.vectors, 2, {0}).unsqueeze(0);
  out.residuals = at::zeros({k}, at::kDouble);
  out.converged = k;
  out.verified = true;
  out.dense = true;
  return out;
}

// v ⟂ the columns of Q (two classical Gram–Schmidt passes), normalized; every inner product
// through the space.
at::Tensor orthogonal_unit(at::Tensor v, const at::Tensor& Q, const VectorSpace& space) {
  if (Q.size(1) > 0)
    for (int pass = 0; pass < 2; ++pass) v = v - Q.matmul(space.gram(Q, v));
  return v / space.norm(v);
}

}  // namespace

ArnoldiResult arnoldi(const BlockOp& A, int64_t n, at::TensorOptions options, int64_t k,
                      const std::string& which, double anorm, double tol, int64_t maxiter,
                      int64_t ncv, uint64_t seed, const VectorSpace& space) {
  auto copt = options.dtype(c10::toComplexType(c10::typeMetaToScalarType(options.dtype())));
  if (ncv <= 0) ncv = std::max<int64_t>(2 * k + 1, 20);
  ncv = std::min(ncv, n);
  // Small: dense (a distributed space never goes dense: no rank holds the whole operator).
  if (ncv >= n && space.is_local()) return dense(A, n, copt, k, which);
  TORCH_CHECK_VALUE(ncv > k + 1,
                    "dsla: argument 'ncv': needs more than k + 1 basis vectors; "
                    "raise ncv or lower k");
  if (maxiter < 0) maxiter = 300;
  // Basis B = [Ql (l locked columns) | V (ncv + 1 active columns)]; grows when l does.
  at::Tensor B = at::zeros({n, k + 4 + ncv + 1}, copt);
  // AB = A B, column by column as the vectors are expanded and by the same combinations when
  // they are compressed or locked: the final Rayleigh–Ritz step needs A on the locked basis,
  // and applying A again there would cost l more products (shift-invert: l more solves).
  at::Tensor AB = at::zeros_like(B);
  int64_t l = 0;
  auto V = [&] { return B.slice(1, l, l + ncv + 1); };
  auto H = at::zeros({ncv + 1, ncv}, copt);
  std::vector<c10::complex<double>> locked;  // Ritz values of the locked vectors
  int64_t round = 0, locked_in_round = 0, restart = 0;
  bool verified = false;
  double maxabs = 0;  // largest |Ritz value| seen: the scale when anorm is not given
  // A fresh start ⟂ Ql (round 0: the seed's vector, as before locking existed). A verification
  // round adds the previous round's best unlocked Ritz vector `hint`: the random part reaches
  // every direction ⟂ Ql (missing copies included), the hint converges the next eigenvalue,
  // which usually ends the round, in fewer restarts.
  auto fresh = [&](const at::Tensor& hint) {
    V().zero_();
    H.zero_();
    auto Ql = B.slice(1, 0, l);
    auto v = orthogonal_unit(
        random_block(space.global_ids(n), 1, copt, seed + 1000003 * static_cast<uint64_t>(round)),
        Ql, space);
    if (hint.defined()) v = orthogonal_unit(v + orthogonal_unit(hint, Ql, space), Ql, space);
    V().slice(1, 0, 1).copy_(v);
  };
  fresh(at::Tensor());
  int64_t j0 = 0;
  for (;;) {
    for (int64_t j = j0; j < ncv; ++j) {
      auto Vj = B.slice(1, 0, l + j + 1);  // locked + active: deflation is this projection
      auto w = A(B.slice(1, l + j, l + j + 1));
      AB.slice(1, l + j, l + j + 1).copy_(w);
      auto h = space.gram(Vj, w);
      w = w - Vj.matmul(h);
      auto h2 = space.gram(Vj, w);
      w = w - Vj.matmul(h2);
      h = (h + h2).slice(0, l, l + j + 1);  // the coupling to Ql belongs to the deflation
      auto beta = space.norm(w).squeeze();
      const double b = beta.item<double>();
      H.slice(0, 0, j + 1).slice(1, j, j + 1).copy_(h);
      if (b <= 1e-14 * std::max(anorm, 1e-300)) {
        // Invariant subspace: continue with a fresh random direction (coupling 0).
        auto r = random_block(space.global_ids(n), 1, copt, seed + 7919 * (j + 1) + restart);
        B.slice(1, l + j + 1, l + j + 2).copy_(orthogonal_unit(r, Vj, space));
        H.index_put_({j + 1, j}, 0);
      } else {
        B.slice(1, l + j + 1, l + j + 2).copy_(w / beta);
        H.index_put_({j + 1, j}, beta);
      }
    }
    auto Hm = H.slice(0, 0, ncv);
    auto [theta, Y] = at::linalg_eig(Hm);
    auto theta_c = theta.to(at::kCPU, at::kComplexDouble);
    maxabs = std::max(maxabs, theta_c.abs().max().item<double>());
    const double scale = anorm > 0 ? anorm : maxabs;
    auto est = (H.index({ncv, ncv - 1}).abs() * Y.index({ncv - 1}).abs()).to(at::kCPU, at::kDouble);
    // Lock at half the tolerance: the final Rayleigh–Ritz step mixes the locked vectors (two
    // copies of a double eigenvalue), adding their residuals (up to √2 × each).
    auto conv = (est <= 0.5 * tol * scale).contiguous();
    // Rank the active Ritz values among the locked ones: in_top[i] when θᵢ is among the k best,
    // and, once k are locked, better than the k-th by more than the tolerance (a tie at the
    // boundary, e.g. the conjugate of the k-th, leaves the set's values as they are).
    auto lam_l = at::empty({l}, theta_c.options());
    for (int64_t i = 0; i < l; ++i) lam_l[i] = locked[i];
    auto top = select(at::cat({lam_l, theta_c}), which, k);
    std::vector<bool> in_top(ncv, false);
    for (int64_t t = 0; t < top.size(0); ++t)
      if (top[t].item<int64_t>() >= l) in_top[top[t].item<int64_t>() - l] = true;
    if (l >= k) {
      auto kth = std::get<0>(which_key(lam_l, which).sort()).index({k - 1}).item<double>();
      auto key = which_key(theta_c, which);
      for (int64_t i = 0; i < ncv; ++i)
        in_top[i] = in_top[i] && key[i].item<double>() < kth - tol * scale;
    }
    auto order = select(theta_c, which, ncv);
    const auto* cv = conv.data_ptr<bool>();
    std::vector<int64_t> lock, rest;
    for (int64_t t = 0; t < ncv; ++t) {
      const int64_t i = order[t].item<int64_t>();
      (cv[i] && in_top[i] ? lock : rest).push_back(i);
    }
    const int64_t best = order[0].item<int64_t>();
    const int64_t c = static_cast<int64_t>(lock.size());
    // The round's best Ritz value converged outside the k best: the deflated operator has
    // nothing better to offer from this start.
    const bool round_done = l + c >= k && cv[best] && !in_top[best];
    if (restart >= maxiter) break;
    ++restart;
    if (round_done && round > 0 && locked_in_round == 0) {
      verified = true;
      break;
    }
    const int64_t kw = std::max<int64_t>(k - l - c, 1);  // still wanted from the active part
    const int64_t p = std::min<int64_t>(ncv - 1, c + kw + (ncv - kw) / 2);
    std::vector<int64_t> sel(lock);
    for (int64_t i : rest)
      if (static_cast<int64_t>(sel.size()) < p) sel.push_back(i);
    auto sel_t = at::tensor(sel, at::kLong).to(Y.device());
    // Locked vectors first: every leading column block of Q spans an H-invariant subspace.
    auto Q = std::get<0>(at::linalg_qr(Y.index_select(1, sel_t)));
    auto T = Q.mH().matmul(Hm).matmul(Q);
    auto brow = H.index({ncv, ncv - 1}) * Q.index({ncv - 1});
    auto Vm = V().slice(1, 0, ncv);
    auto AVm = AB.slice(1, l, l + ncv);
    auto Xlock = Vm.matmul(Q.slice(1, 0, c));
    auto AXlock = AVm.matmul(Q.slice(1, 0, c));
    auto Vnew = Vm.matmul(Q.slice(1, c, p));
    auto AVnew = AVm.matmul(Q.slice(1, c, p));
    auto vlast = V().slice(1, ncv, ncv + 1).clone();
    // The best unlocked Ritz vector, the hint of a verification round (taken before the locked
    // vectors overwrite the first columns of V).
    const bool verify_next = l + c >= k && (round == 0 || round_done);
    at::Tensor hint;
    if (verify_next && !rest.empty())
      hint = Vm.matmul(Y.index_select(1, at::tensor({rest[0]}, at::kLong).to(Y.device())));
    if (c > 0) {
      if (l + c + ncv + 1 > B.size(1)) {
        auto B2 = at::zeros({n, 2 * (l + c) + ncv + 1}, copt);
        B2.slice(1, 0, l).copy_(B.slice(1, 0, l));
        auto AB2 = at::zeros_like(B2);
        AB2.slice(1, 0, l).copy_(AB.slice(1, 0, l));
        B = B2;
        AB = AB2;
      }
      B.slice(1, l, l + c).copy_(Xlock);
      AB.slice(1, l, l + c).copy_(AXlock);
      for (int64_t i : lock) locked.push_back(theta_c[i].item<c10::complex<double>>());
      l += c;
      locked_in_round += c;
    }
    if (l + ncv + 1 > n && space.is_local()) {  // no room for an active basis ⟂ Ql: go dense
      auto out = dense(A, n, copt, k, which);
      out.iterations = restart;
      return out;
    }
    if (verify_next) {  // start a verification round
      ++round;
      locked_in_round = 0;
      fresh(hint);
      j0 = 0;
      continue;
    }
    const int64_t pa = p - c;
    V().zero_();
    V().slice(1, 0, pa).copy_(Vnew);
    AB.slice(1, l, l + pa).copy_(AVnew);
    V().slice(1, pa, pa + 1).copy_(vlast);
    H.zero_();
    H.slice(0, 0, pa).slice(1, 0, pa).copy_(T.slice(0, c, p).slice(1, c, p));
    H.select(0, pa).slice(0, 0, pa).copy_(brow.slice(0, c, p));
    j0 = pa;
  }
  // Rayleigh–Ritz on the locked basis (and the active one while unverified); A W is carried
  // along (AB), so the residuals below are those of A, up to rounding in the combinations.
  auto W = B.slice(1, 0, verified ? l : l + ncv);
  auto AW = AB.slice(1, 0, verified ? l : l + ncv);
  auto [th, Yw] = at::linalg_eig(space.gram(W, AW));
  auto sel = select(th, which, k).to(th.device());
  auto Ys = Yw.index_select(1, sel);
  auto nrm = space.norm(W.matmul(Ys));
  Ys = Ys / nrm;
  ArnoldiResult out;
  out.iterations = restart;
  out.values = th.index_select(0, sel);
  out.vectors = W.matmul(Ys);
  auto R = AW.matmul(Ys) - out.vectors * out.values.unsqueeze(0);
  const double scale = anorm > 0 ? anorm : std::max(maxabs, out.values.abs().max().item<double>());
  out.residuals = (space.norm(R).squeeze(0).to(at::kDouble) / std::max(scale, 1e-300)).cpu();
  out.converged = (out.residuals <= tol).sum().item<int64_t>();
  out.verified = verified;
  return out;
}

}  // namespace dsla::eigen
