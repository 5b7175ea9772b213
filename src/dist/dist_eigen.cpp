// Distributed eigsh: the one LOBPCG of src/solve/eigen over the distributed vector space (the
// operator's space reduces every Gram matrix and norm across ranks; the start block is drawn by
// global offset, see eigen::random_block), with the distributed SpMV as its block operator.
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <sstream>
#include <string>

#include "dist/dist_internal.h"
#include "solve/eigen/eigen_internal.h"

namespace dsla::dist {

std::tuple<at::Tensor, at::Tensor> eigsh(const DistMatrix& A, int64_t k, const EigenOptions& opt,
                                         EigenInfo* info_out) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) distributed matrix");
  const auto& C = A.comm();
  const std::string which = opt.which.empty() ? "SA" : opt.which;
  // Arguments every rank sees alike: plain checks raise on every rank together.
  DSLA_CHECK_ARG(!A.is_batched(), "A",
                 "distributed eigsh takes one matrix, got batched values; run it per member");
  DSLA_CHECK_ARG(which == "SA" || which == "LA", "which", "distributed eigsh finds 'SA' or 'LA' ",
                 "pairs (LOBPCG), got '", which,
                 "'; 'SM', 'LM' and sigma need a distributed shift-invert, not available yet");
  DSLA_CHECK_ARG(!opt.sigma, "sigma",
                 "shift-invert is not available for distributed matrices yet; use which='SA' or "
                 "'LA'");
  DSLA_CHECK_ARG(!opt.precond_op, "precond",
                 "an operator preconditioner is not available for distributed eigsh; use "
                 "'auto', 'jacobi' or 'none'");
  DSLA_CHECK_ARG(k >= 1 && k <= A.rows(), "k", "must be in [1, ", A.rows(), "], got ", k);
  DSLA_CHECK_ARG(opt.tol > 0, "tol", "must be > 0, got ", opt.tol);
  const std::string pc = opt.precond.empty() ? "auto" : opt.precond;
  DSLA_CHECK_ARG(pc == "auto" || pc == "jacobi" || pc == "none", "precond",
                 "distributed eigsh takes 'auto', 'jacobi' or 'none', got '", pc, "'");
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
  DSLA_CHECK_ARG(pc != "jacobi" || pos, "precond",
                 "'jacobi' needs a positive diagonal on every rank; use precond='none'");

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
  if ((pc == "jacobi" || pc == "auto") && pos) {
    at::Tensor dinv;
    if (n > 0) dinv = A.diag().diagonal().detach().reciprocal().unsqueeze(1);
    P.T = [dinv](const at::Tensor& R) { return dinv.defined() ? R * dinv : R.clone(); };
  }
  // ‖A‖∞ over all ranks for the backward errors (as the one-process eigsh).
  auto abs_row_sums = [](const SparseMatrix& M) {
    return M.with_values(M.values().detach().abs()).row_sums().to(at::kCPU, at::kDouble);
  };
  // offd holds the boundary rows only: the last n_owned − n_interior rows of the local order.
  auto rows = n > 0 ? abs_row_sums(A.diag()) : at::zeros({1}, at::kDouble);
  if (n > 0 && A.offd().rows() > 0) rows.slice(0, A.n_interior()).add_(abs_row_sums(A.offd()));
  auto anorm = rows.max().view({1}).clone();
  C.allreduce_max_(anorm);
  P.anorm = anorm.item<double>();

  EigenOptions o = opt;
  o.warn = opt.warn && C.rank() == 0;  // one warning, not one per rank
  const bool largest = which == "LA";
  auto r = eigen::lobpcg(P, k, largest, X0, opt.tol, opt.maxiter, opt.block, opt.seed);
  auto order = std::get<1>(r.values.sort(/*stable=*/true, 0, false));
  auto lam = r.values.index_select(0, order);
  auto U = r.vectors.index_select(1, order);
  auto res = r.residuals.index_select(0, order.cpu());
  EigenInfo info;
  info.method = "lobpcg";
  const int64_t nconv = (res <= opt.tol).sum().item<int64_t>();
  ::dsla::detail::finish(info, k, nconv, r.iterations, res, o, "eigsh (lobpcg, distributed)");
  if (info_out) *info_out = std::move(info);
  return {lam, U};
}

}  // namespace dsla::dist
