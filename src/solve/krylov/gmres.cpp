// Restarted GMRES (right-preconditioned) and flexible GMRES (the preconditioned vectors are
// kept, so M may change between iterations). Arnoldi with classical Gram–Schmidt done twice
// (CGS2: two batched projections, as stable as modified Gram–Schmidt in practice), Givens
// rotations on the Hessenberg matrix, one host read per check. The projections and norms are
// the space's (gram, norm): the basis is stored [B, k, m + 1, n] and handed over transposed. Happy
// breakdown (h_{j+1,j} = 0) is convergence; a zero on the diagonal of the rotated Hessenberg matrix
// is a breakdown (singular A).
#include "solve/krylov/krylov.h"

namespace dsla::krylov {

namespace {

// [B, n, k] <-> [B, k, n]
at::Tensor to_t(const at::Tensor& v) {
  return v.permute({0, 2, 1});
}
at::Tensor from_t(const at::Tensor& v) {
  return v.permute({0, 2, 1}).contiguous();
}

}  // namespace

void gmres(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon, bool flexible) {
  const auto& space = P.A->space();
  const int64_t B = x.size(0), n = x.size(1), k = x.size(2);
  const int64_t n_all = space.global_rows(n);  // the cap must be the same on every rank
  const int64_t m =
      std::max<int64_t>(1, std::min<int64_t>(P.opt->restart, std::max<int64_t>(n_all, 1)));
  auto opts = x.options();
  auto ropts = opts.dtype(c10::toRealValueType(x.scalar_type()));
  auto V = at::zeros({B, k, m + 1, n}, opts);
  at::Tensor Z = flexible ? at::zeros({B, k, m, n}, opts) : at::Tensor();
  auto H = at::zeros({B, k, m + 1, m}, opts);
  auto cs = at::zeros({B, k, m}, ropts);
  auto sn = at::zeros({B, k, m}, opts);
  auto g = at::zeros({B, k, m + 1}, opts);
  bool first = true;
  while (!mon.out_of_iterations()) {
    auto r = b - apply(*P.A, x);
    auto beta = space.norm(r);  // [B, 1, k]
    if (first) {
      mon.begin(beta);
      first = false;
    }
    if (!mon.any_active()) return;
    V.select(2, 0).copy_(to_t(safe_div(r, beta)));
    g.zero_();
    g.select(2, 0).copy_(beta.squeeze(1));
    auto steps = at::zeros({B, k}, ropts);
    int64_t J = 0;
    bool stop = false;
    for (int64_t j = 0; j < m; ++j) {
      auto vj = from_t(V.select(2, j));
      auto zj = precondition(P, vj);
      if (flexible) Z.select(2, j).copy_(to_t(zj));
      auto w = to_t(apply(*P.A, zj)).contiguous();  // [B, k, n]
      auto Vj = V.narrow(2, 0, j + 1);              // [B, k, j+1, n]
      auto Vt = Vj.transpose(-1, -2);               // [B, k, n, j+1]: vectors on dim -2
      auto h = space.gram(Vt, w.unsqueeze(-1));     // [B, k, j+1, 1]
      w.sub_(at::matmul(Vt, h).squeeze(-1));
      auto h2 = space.gram(Vt, w.unsqueeze(-1));
      w.sub_(at::matmul(Vt, h2).squeeze(-1));
      h = (h + h2).squeeze(-1);                          // [B, k, j+1]
      auto hn = space.norm(w.unsqueeze(-1)).flatten(1);  // [B, k]
      V.select(2, j + 1).copy_(safe_div(w, hn.unsqueeze(-1)));
      auto col = at::cat({h, hn.to(opts.dtype()).unsqueeze(-1)}, -1);  // [B, k, j+2]
      for (int64_t i = 0; i < j; ++i) {
        auto c = cs.select(2, i), s = sn.select(2, i);
        auto xi = col.select(2, i).clone(), yi = col.select(2, i + 1).clone();
        col.select(2, i).copy_(c * xi + s * yi);
        col.select(2, i + 1).copy_(-s.conj() * xi + c * yi);
      }
      auto a = col.select(2, j), bb = col.select(2, j + 1);
      auto absa = a.abs(), absb = bb.abs();
      auto rr = at::sqrt(absa * absa + absb * absb);
      auto phase = at::where(absa > 0, safe_div(a, absa.to(opts.dtype())), at::ones_like(a));
      auto c = at::where(rr > 0, safe_div(absa, rr), at::ones_like(rr));
      auto s = phase * safe_div(bb.conj(), rr.to(opts.dtype()));
      cs.select(2, j).copy_(c);
      sn.select(2, j).copy_(s);
      col.select(2, j).copy_(phase * rr.to(opts.dtype()));
      col.select(2, j + 1).zero_();
      H.select(3, j).narrow(2, 0, j + 2).copy_(col);
      auto gj = g.select(2, j).clone();
      g.select(2, j + 1).copy_(-s.conj() * gj);
      g.select(2, j).copy_(c * gj);
      steps.add_(mon.active.squeeze(1));
      J = j + 1;
      stop = mon.step(g.select(2, j + 1).abs().unsqueeze(1));
      if (stop || mon.out_of_iterations()) break;
    }
    // y = R⁻¹ g on each system's own number of columns.
    auto idx = at::arange(J, ropts);
    auto mask = (idx.view({1, 1, J}) < steps.unsqueeze(-1)).to(opts.dtype());  // [B, k, J]
    auto R = H.narrow(2, 0, J).narrow(3, 0, J);
    auto mm = mask.unsqueeze(-1) * mask.unsqueeze(-2);
    auto eye = at::eye(J, opts);
    auto diag = R.diagonal(0, -2, -1);
    auto zero_pivot = at::logical_and(diag == 0, mask != 0);  // [B, k, J]
    mon.fail(Status::Breakdown, zero_pivot.any(-1).unsqueeze(1));
    R = R * mm + eye * (1 - mask).unsqueeze(-1) + at::diag_embed(zero_pivot.to(opts.dtype()));
    auto gy = (g.narrow(2, 0, J) * mask).unsqueeze(-1);
    auto y = at::linalg_solve_triangular(R, gy, /*upper=*/true);    // [B, k, J, 1]
    auto basis = flexible ? Z.narrow(2, 0, J) : V.narrow(2, 0, J);  // [B, k, J, n]
    auto upd = from_t(at::matmul(basis.transpose(-1, -2), y).squeeze(-1));
    if (!flexible) upd = precondition(P, upd);
    x.add_(upd);
    if (stop || mon.failure() != Status::Converged) return;
  }
}

}  // namespace dsla::krylov
