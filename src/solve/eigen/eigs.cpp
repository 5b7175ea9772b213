// eigs front end: restarted Arnoldi on A ("LM", "LR", "SR"; "SM" and sigma by shift-invert
// (A − σI)⁻¹ through an LU Solver, whose largest |μ| give the λ = σ + 1/μ nearest σ).
#include <ATen/ATen.h>
#include <dsla/errors.h>
#include <dsla/ops.h>

#include "solve/eigen/eigen_internal.h"
#include "solve/solver_internal.h"

namespace dsla::detail {

std::tuple<at::Tensor, at::Tensor> eigs_nograd(const SparseMatrix& A, int64_t k,
                                               const EigenOptions& opt, EigenInfo* info_out) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  TORCH_CHECK_NOT_IMPLEMENTED(!A.is_batched(),
                              "dsla: eigs: batched matrices are not supported; "
                              "loop over the batch members");
  DSLA_CHECK_ARG(A.rows() == A.cols(), "A", "must be square; got ", A.rows(), " x ", A.cols());
  const int64_t n = A.rows();
  DSLA_CHECK_ARG(k >= 1 && k < n - 1, "k", "must be in [1, n - 2] = [1, ", n - 2, "]; got ", k,
                 " (use torch.linalg.eigvals on A.to_dense() for the full spectrum)");
  const std::string which = opt.which.empty() ? "LM" : opt.which;
  DSLA_CHECK_ARG(which == "LM" || which == "SM" || which == "LR" || which == "SR", "which",
                 "must be 'LM', 'SM', 'LR' or 'SR'; got '", which, "'");
  DSLA_CHECK_ARG(opt.tol > 0, "tol", "must be positive; got ", opt.tol);
  auto options = A.values().options().requires_grad(false);
  const double anorm = A.detach().norm("inf").item<double>();
  auto Aop = matrix_block_op(A);
  c10::optional<double> sigma = opt.sigma;
  if (!sigma && which == "SM") sigma = 0.0;
  eigen::ArnoldiResult r;
  at::Tensor lam, U;
  auto inner_name = std::make_shared<std::string>();
  if (sigma) {
    const int64_t nn = n;
    auto io = at::TensorOptions().dtype(at::kLong).device(A.device());
    auto I = SparseMatrix::from_csr(at::arange(nn + 1, io), at::arange(nn, io),
                                    at::ones({nn}, options), {nn, nn}, false);
    // LU where this build has a direct backend for the device, else GMRES + ILU0 / Jacobi
    // with a tight rtol.
    eigen::BlockOp K = inner_op(add(A.detach(), I, 1.0, -*sigma), opt.solver, InnerKind::General,
                                "eigs", inner_name);
    if (!A.is_complex()) K = complexify(K);
    r = eigen::arnoldi(K, n, options, k, "LM", 0.0, opt.tol, opt.maxiter, opt.block, opt.seed);
    lam = *sigma + 1.0 / r.values;
  } else {
    r = eigen::arnoldi(Aop, n, options, k, which, anorm, opt.tol, opt.maxiter, opt.block, opt.seed);
    lam = r.values;
  }
  U = r.vectors;
  auto order = sigma ? eigen::select(lam - *sigma, "SM", k) : eigen::select(lam, which, k);
  lam = lam.index_select(0, order);
  U = normalize_phase(U.index_select(1, order));
  auto R = Aop(U) - U * lam.unsqueeze(0);
  auto res = (at::linalg_vector_norm(R, 2, {0}).to(at::kDouble) / std::max(anorm, 1e-300)).cpu();
  auto inner = r.residuals.index_select(0, order.cpu());
  int64_t nconv = at::logical_or(inner <= opt.tol, res <= opt.tol).sum().item<int64_t>();
  EigenInfo info;
  info.inner_solver = *inner_name;
  info.method = sigma ? "shift-invert(" + *inner_name + ")" : r.dense ? "dense-eig" : "arnoldi";
  finish(info, k, nconv, r.iterations, res, opt, "eigs (Arnoldi)",
         r.verified
             ? ""
             : "the set is unverified (a repeated eigenvalue's further copies may be missing)");
  if (info_out) *info_out = std::move(info);
  return {lam, U};
}

}  // namespace dsla::detail
