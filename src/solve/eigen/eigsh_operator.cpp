// eigsh of a matrix-free Hermitian operator (dsla.eigsh on a callable / scipy LinearOperator):
// the one LOBPCG of lobpcg.cpp with the operator as its block product. "SA" / "LA" run it once;
// "LM" (SciPy's default) runs both ends and keeps the k of largest magnitude. Shift-invert and
// the automatic plan need the matrix's entries; a preconditioner is a user operator ≈ A⁻¹.
#include <dsla/eigen.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <string>

#include "solve/eigen/eigen_internal.h"

namespace dsla {

std::tuple<at::Tensor, at::Tensor> eigsh(const LinearOperator& A, int64_t k,
                                         const EigenOptions& opt, EigenInfo* info_out) {
  const int64_t n = A.rows();
  DSLA_CHECK_ARG(A.cols() == n, "A", "is ", n, " x ", A.cols(), "; eigsh needs a square operator");
  const std::string which = opt.which.empty() ? "LM" : opt.which;
  DSLA_CHECK_ARG(which == "SA" || which == "LA" || which == "LM", "which", "'", which,
                 "' needs the matrix's entries (shift-invert); a matrix-free operator takes "
                 "'LM', 'SA' or 'LA'");
  DSLA_CHECK_ARG(!opt.sigma, "sigma",
                 "shift-invert factors A − σI, which needs the matrix's entries; pass a "
                 "dsla.SparseTensor (or scipy.sparse matrix) instead of an operator");
  DSLA_CHECK_ARG(k >= 1 && 3 * k <= std::max<int64_t>(n, 3), "k", "must be in [1, n/3] for ",
                 "LOBPCG on a matrix-free operator (n = ", n, "), got ", k);
  DSLA_CHECK_ARG(opt.precond == "auto" || opt.precond == "none" || opt.precond_op, "precond", "'",
                 opt.precond,
                 "' is built from the matrix's entries; with a matrix-free operator pass a "
                 "callable approximating A⁻¹");
  auto options = at::TensorOptions().dtype(A.dtype()).device(A.device());
  eigen::LobpcgProblem P;
  P.n = n;
  P.options = options;
  P.A = [&A](const at::Tensor& X) {
    auto x3 = X.unsqueeze(0).contiguous();
    auto y3 = at::empty_like(x3);
    A.apply(x3, y3);
    return y3.squeeze(0);
  };
  if (opt.precond_op) {
    auto T = opt.precond_op;
    P.T = [T](const at::Tensor& R) {
      auto r3 = R.unsqueeze(0).contiguous();
      auto z3 = at::empty_like(r3);
      T->apply(r3, z3);
      return z3.squeeze(0);
    };
  }
  auto X0 = opt.X0.defined() ? opt.X0.to(options) : at::Tensor();
  int64_t iterations = 0;
  std::vector<at::Tensor> values, vectors, residuals;
  for (const bool largest : {true, false}) {
    if ((which == "SA" && largest) || (which == "LA" && !largest)) continue;
    auto r = eigen::lobpcg(P, k, largest, X0, opt.tol, opt.maxiter, opt.block, opt.seed);
    iterations += r.iterations;
    values.push_back(r.values);
    vectors.push_back(r.vectors);
    residuals.push_back(r.residuals);
  }
  auto lam = at::cat(values);
  auto U = at::cat(vectors, 1);
  auto res = at::cat(residuals);  // LOBPCG's own backward errors (the ones it stopped on)
  // "LM": the k of largest magnitude among both ends (disjoint: 2k <= n).
  at::Tensor keep;
  if (which == "LM") {
    keep = std::get<1>(lam.abs().sort(/*stable=*/true, 0, /*descending=*/true)).narrow(0, 0, k);
  } else {
    keep = at::arange(k, lam.options().dtype(at::kLong));
  }
  lam = lam.index_select(0, keep);
  U = U.index_select(1, keep);
  res = res.index_select(0, keep.cpu());
  auto order = std::get<1>(lam.sort(/*stable=*/true, 0, false));
  lam = lam.index_select(0, order);
  U = detail::normalize_phase(U.index_select(1, order));
  res = res.index_select(0, order.cpu());
  const int64_t nconv = (res <= opt.tol).sum().item<int64_t>();
  EigenInfo info;
  info.method = opt.precond_op ? "lobpcg+user" : "lobpcg";
  detail::finish(info, k, nconv, iterations, res, opt, "eigsh (lobpcg, matrix-free)");
  if (info_out) *info_out = std::move(info);
  return {lam, U};
}

}  // namespace dsla
