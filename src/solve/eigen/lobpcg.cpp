// LOBPCG (locally optimal block preconditioned conjugate gradient) for A x = λ B x with A
// Hermitian and B SPD. Each iteration: residuals of the active (not yet converged) columns,
// preconditioned, B-orthogonalized against X and B-orthonormalized (Cholesky QR / SVQB); the
// search directions P are carried implicitly (the non-X part of the previous Ritz vectors); a
// Rayleigh–Ritz step on [X, W, P] picks the new block. A X, B X, A P, B P are updated by the
// same small linear combinations, so one block product with A (and B) per iteration.
// Soft locking: converged columns stay in the Rayleigh–Ritz basis (they keep improving) but add
// no new directions. Small problems (n ≤ 5 × block) use a dense eigensolver instead.
// Every Gram matrix and column norm is the problem's space's (P.gram, P.space), so the same
// iteration runs on row-distributed blocks.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "solve/eigen/eigen_internal.h"

namespace dsla::eigen {
namespace {

at::Tensor apply_b(const LobpcgProblem& P, const at::Tensor& X) {
  return P.B ? P.B(X) : X;
}

at::Tensor col_norms(const LobpcgProblem& P, const at::Tensor& X) {
  return P.space->norm(X).squeeze(0);
}

// Rayleigh–Ritz on the basis Q (B-orthonormal up to rounding): returns (θ ascending, C).
std::tuple<at::Tensor, at::Tensor> rayleigh_ritz(const LobpcgProblem& P, const at::Tensor& Q,
                                                 const at::Tensor& AQ, const at::Tensor& BQ,
                                                 bool& ok) {
  auto GA = P.gram(Q, AQ);
  GA = (GA + GA.mH()) * 0.5;
  auto GB = P.gram(Q, BQ);
  GB = (GB + GB.mH()) * 0.5;
  auto [L, info] = at::linalg_cholesky_ex(GB);
  ok = info.item<int64_t>() == 0;
  if (!ok) return {};
  auto I = at::eye(L.size(0), L.options());
  auto Li = at::linalg_solve_triangular(L, I, /*upper=*/false);
  auto H = Li.matmul(GA).matmul(Li.mH());
  H = (H + H.mH()) * 0.5;
  auto [theta, Z] = at::linalg_eigh(H);
  return {theta, Li.mH().matmul(Z)};
}

// Rayleigh–Ritz on [X, S] with X B-orthonormal and Xᴴ A X = diag(θ) (kept so by the updates
// and refreshed periodically): only the blocks involving S are computed.
std::tuple<at::Tensor, at::Tensor> rayleigh_ritz_structured(
    const LobpcgProblem& P, const at::Tensor& X, const at::Tensor& theta, const at::Tensor& S,
    const at::Tensor& AS, const at::Tensor& BS, bool& ok) {
  const int64_t m = X.size(1), s = S.size(1);
  auto XAB = P.gram(X, at::cat({AS, BS}, 1));  // [m, 2s]
  auto SAB = P.gram(S, at::cat({AS, BS}, 1));  // [s, 2s]
  auto GA = at::zeros({m + s, m + s}, X.options());
  auto GB = at::zeros({m + s, m + s}, X.options());
  GA.slice(0, 0, m).slice(1, 0, m).copy_(at::diag(theta.to(X.scalar_type())));
  GB.slice(0, 0, m).slice(1, 0, m).copy_(at::eye(m, X.options()));
  GA.slice(0, 0, m).slice(1, m, m + s).copy_(XAB.slice(1, 0, s));
  GB.slice(0, 0, m).slice(1, m, m + s).copy_(XAB.slice(1, s, 2 * s));
  GA.slice(0, m, m + s).slice(1, m, m + s).copy_(SAB.slice(1, 0, s));
  GB.slice(0, m, m + s).slice(1, m, m + s).copy_(SAB.slice(1, s, 2 * s));
  GA.slice(0, m, m + s).slice(1, 0, m).copy_(XAB.slice(1, 0, s).mH());
  GB.slice(0, m, m + s).slice(1, 0, m).copy_(XAB.slice(1, s, 2 * s).mH());
  GA = (GA + GA.mH()) * 0.5;
  GB = (GB + GB.mH()) * 0.5;
  auto [L, info] = at::linalg_cholesky_ex(GB);
  ok = info.item<int64_t>() == 0;
  if (ok) {
    auto ld = at::real(L.diagonal());
    ok = ld.min().item<double>() > 1e-7 * ld.max().item<double>();
  }
  if (!ok) return {};
  auto I = at::eye(L.size(0), L.options());
  auto Li = at::linalg_solve_triangular(L, I, /*upper=*/false);
  auto H = Li.matmul(GA).matmul(Li.mH());
  H = (H + H.mH()) * 0.5;
  auto [th, Z] = at::linalg_eigh(H);
  return {th, Li.mH().matmul(Z)};
}

at::Tensor pick(const at::Tensor& theta, int64_t m, bool largest) {
  const int64_t s = theta.size(0);
  auto idx = at::arange(s, theta.options().dtype(at::kLong));
  return largest ? idx.slice(0, s - m, s).flip(0) : idx.slice(0, 0, m);
}

LobpcgResult dense(const LobpcgProblem& P, int64_t k, bool largest) {
  auto [theta, C] = dense_eigh(P);
  auto sel = pick(theta, k, largest);
  LobpcgResult r;
  r.values = theta.index_select(0, sel);
  r.vectors = C.index_select(1, sel);
  r.residuals = at::zeros({k}, at::kDouble);
  r.converged = k;
  return r;
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> dense_eigh(const LobpcgProblem& P) {
  auto I = at::eye(P.n, P.options);
  auto Ad = P.A(I);
  Ad = (Ad + Ad.mH()) * 0.5;
  auto Bd = apply_b(P, I);
  bool ok = false;
  auto [theta, C] = rayleigh_ritz(P, I, Ad, Bd, ok);
  TORCH_CHECK_VALUE(ok,
                    "dsla: argument 'M': the matrix is not positive definite (Cholesky "
                    "failed); the generalized problem needs an SPD M");
  return {theta, C};
}

int64_t default_block(int64_t n, int64_t k) {
  return std::min<int64_t>(n, k + std::max<int64_t>(4, k));
}

LobpcgResult lobpcg(const LobpcgProblem& P, int64_t k, bool largest, const at::Tensor& X0,
                    double tol, int64_t maxiter, int64_t block, uint64_t seed) {
  const int64_t n = P.n;
  // Decisions from the global row count, so that every rank of a distributed space takes the
  // same ones (its local n differs per rank).
  const int64_t N = P.space->global_rows(n);
  int64_t m = block > 0 ? block : default_block(N, k);
  if (X0.defined()) m = std::max<int64_t>(m, X0.size(1));
  m = std::max(m, k);
  // Small problems relative to the block (SciPy's rule, n <= 5 m): a dense generalized eigh is
  // exact and cheap there, while LOBPCG's basis of 3 m vectors spans most of the space and
  // loses B-orthogonality (n = 30, m = 6, random M: stagnation at a 1e-6 backward error).
  // The dense path needs every row in one process: only on a local space.
  if (n <= 5 * m && P.space->is_local()) return dense(P, k, largest);
  if (maxiter < 0) maxiter = std::max<int64_t>(500, std::min<int64_t>(N, 20000));

  const VectorSpace& space = *P.space;
  at::Tensor X = random_block(space.global_ids(n), m, P.options, seed);
  if (X0.defined()) X.slice(1, 0, X0.size(1)).copy_(X0);
  at::Tensor BX = P.B ? P.B(X) : at::Tensor();
  orthonormalize(space, X, BX, {});
  at::Tensor AX = P.A(X);
  if (!P.B) BX = X;
  bool ok = false;
  auto [th0, C0] = rayleigh_ritz(P, X, AX, BX, ok);
  TORCH_CHECK_VALUE(ok, "dsla: argument 'M': the matrix is not positive definite");
  auto sel0 = pick(th0, m, largest);
  at::Tensor theta = th0.index_select(0, sel0);
  auto Cs = C0.index_select(1, sel0);
  X = X.matmul(Cs);
  AX = AX.matmul(Cs);
  BX = P.B ? BX.matmul(Cs) : X;

  at::Tensor Pd, APd, BPd;  // implicit search directions
  at::Tensor res;
  double anorm = P.anorm;
  LobpcgResult out;
  int64_t it = 0;
  // X re-B-orthonormalized, A X and B X recomputed exactly, then a Rayleigh–Ritz on span(X).
  int64_t refills = 0;
  auto refresh = [&] {
    auto normalize = [&](at::Tensor& V, at::Tensor& BV) {
      if (P.B) {
        BV = P.B(V);
        orthonormalize(space, V, BV, {});
      } else {
        at::Tensor none;
        orthonormalize(space, V, none, {});
        BV = V;
      }
    };
    normalize(X, BX);
    // X lost rank (an inexact operator — an iterative inner solve under a tight tol — can
    // make the block degenerate): refill it to m columns with fresh random directions
    // B-orthogonal to it, so the block keeps its size (it used to shrink below k and fail with
    // an index error).
    if (X.size(1) < m) {
      auto extra = random_block(space.global_ids(n), m - X.size(1), P.options,
                                seed + 7919 * static_cast<uint64_t>(++refills));
      extra = extra - X.matmul(P.gram(BX, extra));
      at::Tensor BE;
      normalize(extra, BE);
      X = at::cat({X, extra}, 1);
      normalize(X, BX);
      TORCH_CHECK(X.size(1) >= k, "dsla: LOBPCG could not keep ", k,
                  " independent directions (the operator is numerically of lower rank here)");
      m = X.size(1);  // every later step sizes its slices by m
    }
    AX = P.A(X);
    bool rr_ok = false;
    auto [thr, Cr] = rayleigh_ritz(P, X, AX, BX, rr_ok);
    if (rr_ok) {
      auto selr = pick(thr, m, largest);
      theta = thr.index_select(0, selr);
      auto Crs = Cr.index_select(1, selr);
      X = X.matmul(Crs);
      AX = AX.matmul(Crs);
      BX = P.B ? BX.matmul(Crs) : X;
    }
  };
  bool just_refreshed = false;
  bool exact = true;  // A X, B X as computed by A and B, not by the implicit updates
  for (;; ++it) {
    const auto th_c = theta.to(X.scalar_type());
    auto R = AX - BX * th_c.unsqueeze(0);
    // Scale 0: the block's largest |Ritz value| now (not the largest seen: a random start's
    // Rayleigh quotients of an SA run are near the middle of the spectrum), at least the floor.
    if (P.anorm <= 0) anorm = std::max(theta.abs().max().item<double>(), P.anorm_floor);
    auto scale = (anorm + theta.abs() * P.bnorm).to(at::kDouble) * col_norms(P, X).to(at::kDouble);
    res = (col_norms(P, R).to(at::kDouble) / scale.clamp_min(1e-300)).cpu();
    auto conv = res <= tol;
    const int64_t nconv = conv.slice(0, 0, k).sum().item<int64_t>();
    if (nconv == k && !exact && it < maxiter) {
      // Convergence is confirmed on A X recomputed (one more product): the implicit updates
      // drift by about ε ‖A‖ per step, which a tolerance relative to small Ritz values (eigsh's
      // automatic plan: down to 1e3 ε ‖A‖) need not stay above.
      refresh();
      exact = true;
      continue;
    }
    if (nconv == k || it >= maxiter || !at::isfinite(res).all().item<bool>()) {
      out.converged = nconv;
      break;
    }
    auto active = conv.logical_not().nonzero().squeeze(1).to(X.device());
    at::Tensor W = R.index_select(1, active);
    if (P.T) W = P.T(W);
    // W ⟂_B X (classical Gram–Schmidt against the B-orthonormal X), then B-orthonormalized.
    W = W - X.matmul(P.gram(BX, W));
    at::Tensor BW = P.B ? P.B(W) : at::Tensor();
    orthonormalize(space, W, BW, {});
    if (W.size(1) == 0) {  // residual directions already in span(X): nothing left to gain
      out.converged = nconv;
      break;
    }
    at::Tensor AW = P.A(W);
    if (!P.B) BW = W;
    // P: columns B-normalized only (the generalized Rayleigh–Ritz copes with the rest; P is
    // dropped when its Gram matrix is not positive definite).
    bool use_p = Pd.defined() && Pd.size(1) > 0;
    if (use_p) {
      auto pn = at::real(space.dot(Pd, P.B ? BPd : Pd).squeeze(0)).clamp_min(0).sqrt();
      use_p = pn.min().item<double>() > 1e-14 * std::max(pn.max().item<double>(), 1e-300);
      if (use_p) {
        auto inv = (1.0 / pn).to(Pd.scalar_type()).unsqueeze(0);
        Pd = Pd * inv;
        APd = APd * inv;
        if (P.B) BPd = BPd * inv;
      }
    }
    at::Tensor Q, AQ, BQ, theta_all, C;
    for (int attempt = 0; attempt < 2; ++attempt) {
      at::Tensor S = use_p ? at::cat({W, Pd}, 1) : W;
      at::Tensor AS = use_p ? at::cat({AW, APd}, 1) : AW;
      at::Tensor BS = P.B ? (use_p ? at::cat({BW, BPd}, 1) : BW) : S;
      Q = at::cat({X, S}, 1);
      AQ = at::cat({AX, AS}, 1);
      BQ = P.B ? at::cat({BX, BS}, 1) : Q;
      std::tie(theta_all, C) = rayleigh_ritz_structured(P, X, theta, S, AS, BS, ok);
      if (ok || !use_p) break;
      use_p = false;
    }
    if (!ok) {
      // Usually X has drifted from B-orthonormality (rounding in the implicit updates, tight
      // tol): refresh it exactly, drop P, and go on. Twice in a row means M is not SPD.
      TORCH_CHECK(!just_refreshed,
                  "dsla: LOBPCG lost B-orthogonality (the Gram matrix of its basis is not "
                  "positive definite); check that M is SPD, or use a smaller block");
      refresh();
      exact = true;
      Pd = APd = BPd = at::Tensor();
      just_refreshed = true;
      continue;
    }
    just_refreshed = false;
    auto sel = pick(theta_all, m, largest);
    auto Cx = C.index_select(1, sel);
    theta = theta_all.index_select(0, sel);
    // New directions: the non-X part of the Ritz vectors of the active columns.
    auto Cp = Cx.slice(0, m, Cx.size(0)).index_select(1, active);
    auto Qr = Q.slice(1, m, Q.size(1));
    Pd = Qr.matmul(Cp);
    APd = AQ.slice(1, m, AQ.size(1)).matmul(Cp);
    if (P.B) BPd = BQ.slice(1, m, BQ.size(1)).matmul(Cp);
    X = Q.matmul(Cx);
    AX = AQ.matmul(Cx);
    BX = P.B ? BQ.matmul(Cx) : X;
    exact = false;
    // Rounding in the implicit updates: refresh A X exactly every 20 iterations.
    if (it % 20 == 19) {
      refresh();
      exact = true;
    }
  }
  out.iterations = it;
  out.values = theta.slice(0, 0, k);
  out.vectors = X.slice(1, 0, k);
  out.residuals = res.slice(0, 0, k).clone();
  return out;
}

}  // namespace dsla::eigen
