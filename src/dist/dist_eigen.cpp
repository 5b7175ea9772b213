// Distributed eigsh: the one LOBPCG of src/solve/eigen over the distributed vector space (the
// operator's space reduces every Gram matrix and norm across ranks; the start block is drawn by
// global row id, see eigen::random_block), with the distributed SpMV as its block operator.
// sigma / "SM": the one shift-invert LOBPCG (eigen::shift_invert) with a distributed inner solve;
// "LM": both ends, the k of largest magnitude kept.
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "dist/dist_internal.h"
#include "solve/eigen/eigen_internal.h"

namespace dsla::dist {

namespace {

// A − σI with A's distribution (a collective): this rank's entries in global ids plus −σ on its
// diagonal; from_local_coo sums the duplicates and builds the halo plan again.
DistMatrix shifted(const DistMatrix& A, double sigma) {
  const auto g = detail::global_coo(A);
  const auto owned = A.owned().to(at::kCPU);
  auto shift = at::full({A.n_owned()}, -sigma, g.values.options());
  return DistMatrix::from_local_coo(A.comm(), at::cat({g.row, owned}), at::cat({g.col, owned}),
                                    at::cat({g.values, shift}), {A.rows(), A.cols()}, owned);
}

// min over every row of every rank of Re a_ii − Σ_{j≠i} |a_ij| (Gershgorin's left end).
double gershgorin_lower(const DistMatrix& A) {
  auto lo = at::full({1}, std::numeric_limits<double>::infinity(), at::kDouble);
  if (A.n_owned() > 0) {
    auto off = detail::abs_row_sums(A);
    auto d = A.diag().diagonal().detach().to(at::kCPU);
    auto dre = (d.is_complex() ? at::real(d) : d).to(at::kDouble);
    off.sub_(d.abs().to(at::kDouble));
    lo = (dre - off).min().view({1});
  }
  auto neg = -lo;
  A.comm().allreduce_max_(neg);
  return -neg.item<double>();
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> eigsh(const DistMatrix& A, int64_t k, const EigenOptions& opt,
                                         EigenInfo* info_out) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) distributed matrix");
  const auto& C = A.comm();
  const std::string which = opt.which.empty() ? "SA" : opt.which;
  // Arguments every rank sees alike: plain checks raise on every rank together.
  DSLA_CHECK_ARG(!A.is_batched(), "A",
                 "distributed eigsh takes one matrix, got batched values; run it per member");
  DSLA_CHECK_ARG(which == "SA" || which == "LA" || which == "SM" || which == "LM", "which",
                 "must be 'SA', 'LA', 'SM' or 'LM', got '", which, "'");
  c10::optional<double> sigma = opt.sigma;
  if (!sigma && which == "SM") sigma = 0.0;
  DSLA_CHECK_ARG(!sigma || std::isfinite(*sigma), "sigma", "must be finite, got ",
                 sigma ? *sigma : 0.0);
  DSLA_CHECK_ARG(!opt.precond_op, "precond",
                 "an operator preconditioner is not available for distributed eigsh; use "
                 "'auto', 'jacobi', 'amg' or 'none'");
  DSLA_CHECK_ARG(k >= 1 && k <= A.rows(), "k", "must be in [1, ", A.rows(), "], got ", k);
  DSLA_CHECK_ARG(opt.tol > 0, "tol", "must be > 0, got ", opt.tol);
  const std::string pc = opt.precond.empty() ? "auto" : opt.precond;
  DSLA_CHECK_ARG(pc == "auto" || pc == "jacobi" || pc == "amg" || pc == "none", "precond",
                 "distributed eigsh takes 'auto', 'jacobi', 'amg' or 'none', got '", pc, "'");
  const int64_t n = A.n_owned();
  // X0: this rank's rows (agreed on: a wrong slice on one rank raises on all).
  at::Tensor X0;
  {
    std::ostringstream m;
    if (opt.X0.defined() && (opt.X0.dim() != 2 || opt.X0.size(0) != n || opt.X0.size(1) < k)) {
      m << "argument 'X0': has shape " << opt.X0.sizes() << "; expected this rank's rows [" << n
        << ", >= " << k << "]";
    }
    const std::string err = m.str();
    C.agree(err.empty(), err);
    if (opt.X0.defined()) X0 = opt.X0.detach().to(A.values().options());
  }
  auto op = detail::make_operator(A, false);
  DSLA_CHECK_ARG(detail::probably_hermitian(A, *op), "A",
                 "is not Hermitian (A v != Aᴴ v for a probe v); eigsh needs a symmetric / "
                 "Hermitian matrix");
  bool pos = false, nz = false;
  detail::diagonal_facts(A, pos, nz);
  DSLA_CHECK_ARG((pc != "jacobi" && pc != "amg") || pos, "precond", "'", pc,
                 "' needs a positive diagonal on every rank; use precond='none'");

  eigen::LobpcgProblem P;
  P.n = n;
  P.options = A.values().options().requires_grad(false);
  P.space = &op->space();
  P.A = [op](const at::Tensor& X) {
    auto x3 = X.unsqueeze(0).contiguous();
    auto y3 = at::empty_like(x3);
    op->apply(x3, y3);
    return y3.squeeze(0);
  };
  if (pc == "amg" && !sigma) {
    // One distributed AMG cycle per block (the hierarchy of A: SPD for the smallest pairs).
    amg::AmgOptions ao;
    ao.symmetric = "yes";
    auto h = DistAmg::build(A, ao);
    P.T = [h](const at::Tensor& R) { return h->apply(R.unsqueeze(0).contiguous()).squeeze(0); };
  } else if ((pc == "jacobi" || pc == "auto") && pos) {
    at::Tensor dinv;
    if (n > 0) dinv = A.diag().diagonal().detach().reciprocal().unsqueeze(1);
    P.T = [dinv](const at::Tensor& R) { return dinv.defined() ? R * dinv : R.clone(); };
  }
  // ‖A‖∞ over all ranks for the backward errors (as the one-process eigsh).
  auto anorm =
      n > 0 ? detail::abs_row_sums(A).max().view({1}).clone() : at::zeros({1}, at::kDouble);
  C.allreduce_max_(anorm);
  P.anorm = anorm.item<double>();

  EigenOptions o = opt;
  o.warn = opt.warn && C.rank() == 0;  // one warning, not one per rank
  // Candidates (λ, U, converged), then the k kept by `which` (nearest σ for shift-invert).
  std::vector<at::Tensor> lams, vecs, convs;
  int64_t iterations = 0;
  std::string method = "lobpcg";
  std::string inner;
  auto run = [&](bool largest) {
    auto r = eigen::lobpcg(P, k, largest, X0, opt.tol, opt.maxiter, opt.block, opt.seed);
    iterations += r.iterations;
    lams.push_back(r.values);
    vecs.push_back(r.vectors);
    convs.push_back((r.residuals <= opt.tol).cpu());
  };
  if (sigma) {
    // K = (A − σI)⁻¹ by a distributed Krylov solve (the ranks' one MINRES / CG), the same
    // shift-invert LOBPCG as one process (eigen::shift_invert): definite when every Gershgorin
    // disc of A − σI lies right of 0, else the (K K) form with a Rayleigh–Ritz step on A.
    const double s = *sigma;
    auto Sh = shifted(A, s);
    const bool definite = gershgorin_lower(A) - s >= 0;
    SolveOptions so = opt.solver;
    if (so.method == Method::Auto) so.method = definite ? Method::CG : Method::MINRES;
    // precond='amg' with a shift: the inner solves of a definite A − σI take the AMG.
    if (so.precond.empty() || so.precond == "auto")
      so.precond = definite ? (pc == "amg" ? "amg" : "jacobi") : "none";
    so.rtol = std::min(so.rtol, 1e-10);  // the outer residuals see the inner solve's error
    so.raise_on_failure = true;          // an inner solve that fails stops every rank
    so.warn = false;
    DistSolver S(Sh, so);
    inner = to_string(S.method()) + "+" + S.preconditioner();
    eigen::BlockOp K = [S](const at::Tensor& X) {
      return S.solve3(X.unsqueeze(0).contiguous(), false, nullptr).squeeze(0);
    };
    P.T = nullptr;  // LOBPCG on the inverse needs no preconditioner
    auto r = eigen::shift_invert(P, K, P.A, s, definite, k, X0, opt.tol, opt.maxiter, opt.block,
                                 opt.seed);
    iterations += r.iterations;
    lams.push_back(r.values);
    vecs.push_back(r.vectors);
    convs.push_back(r.converged);
    method = "shift-invert(" + inner + ", distributed)";
  } else if (which == "LM") {
    run(false);
    run(true);
  } else {
    run(which == "LA");
  }
  auto lam = at::cat(lams);
  auto U = at::cat(vecs, 1);
  auto cv = at::cat(convs);
  at::Tensor keep = sigma           ? eigen::select(lam - *sigma, "SM", k)
                    : which == "LM" ? eigen::select(lam, "LM", k)
                                    : at::arange(k, lam.options().dtype(at::kLong));
  lam = lam.index_select(0, keep);
  U = U.index_select(1, keep);
  cv = cv.index_select(0, keep.cpu());
  auto order = std::get<1>(lam.sort(/*stable=*/true, 0, false));
  lam = lam.index_select(0, order);
  U = U.index_select(1, order).contiguous();
  cv = cv.index_select(0, order.cpu());
  // Backward errors on A itself, every norm through the distributed space.
  const auto& sp = op->space();
  auto R = P.A(U) - U * lam.to(U.scalar_type()).unsqueeze(0);
  auto rn = sp.norm(R.unsqueeze(0)).reshape({-1}).to(at::kCPU, at::kDouble);
  auto un = sp.norm(U.unsqueeze(0)).reshape({-1}).to(at::kCPU, at::kDouble);
  auto res = rn / ((P.anorm + lam.abs().to(at::kCPU, at::kDouble)) * un).clamp_min(1e-300);
  EigenInfo info;
  info.method = sigma ? method : "lobpcg";
  info.inner_solver = inner;
  const int64_t nconv = at::logical_or(cv, res <= opt.tol).sum().item<int64_t>();
  const std::string what = "eigsh (" + info.method + (sigma ? ")" : ", distributed)");
  ::dsla::detail::finish(info, k, nconv, iterations, res, o, what.c_str());
  if (info_out) *info_out = std::move(info);
  return {lam, U};
}

}  // namespace dsla::dist
