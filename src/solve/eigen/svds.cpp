// svds front end: the k largest singular triplets by LOBPCG on AᴴA (or AAᴴ, the smaller side),
// or for square A the k smallest by LOBPCG on (AᴴA)⁻¹ = A⁻¹A⁻ᴴ through one Solver.
#include <ATen/ATen.h>
#include <dsla/errors.h>
#include <dsla/ops.h>

#include <cmath>

#include "solve/eigen/eigen_internal.h"
#include "solve/solver_internal.h"

namespace dsla::detail {

std::tuple<at::Tensor, at::Tensor, at::Tensor> svds_nograd(const SparseMatrix& A, int64_t k,
                                                           const EigenOptions& opt,
                                                           EigenInfo* info_out) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  TORCH_CHECK_NOT_IMPLEMENTED(!A.is_batched(),
                              "dsla: svds: batched matrices are not supported; "
                              "loop over the batch members");
  const std::string which = opt.which.empty() ? "LM" : opt.which;
  const int64_t n = A.rows(), m = A.cols();
  const int64_t p = std::min(n, m);
  DSLA_CHECK_ARG(k >= 1 && k < p, "k", "must be in [1, min(n, m) - 1] = [1, ", p - 1, "]; got ", k,
                 " (use torch.linalg.svd on A.to_dense() for all singular values)");
  DSLA_CHECK_ARG(which == "LM" || which == "SM", "which", "must be 'LM' or 'SM'; got '", which,
                 "'");
  DSLA_CHECK_ARG(which == "LM" || n == m, "which",
                 "'SM' needs a square matrix (it solves with A); got ", n, " x ", m);
  DSLA_CHECK_ARG(opt.tol > 0, "tol", "must be positive; got ", opt.tol);
  auto options = A.values().options().requires_grad(false);
  auto Ad = A.detach();
  auto AH = Ad.conj_transpose();
  auto Aop = matrix_block_op(Ad);
  auto AHop = matrix_block_op(AH);
  const double n1 = Ad.norm("1").item<double>(), ninf = Ad.norm("inf").item<double>();
  const double anorm = std::sqrt(n1 * ninf);  // ≥ ‖A‖₂
  eigen::LobpcgProblem P;
  P.options = options;
  at::Tensor U, S, V;
  eigen::LobpcgResult r;
  auto inner_name = std::make_shared<std::string>();
  if (which == "LM") {
    const bool right = m <= n;
    P.n = right ? m : n;
    P.A = right ? eigen::BlockOp([Aop, AHop](const at::Tensor& X) { return AHop(Aop(X)); })
                : eigen::BlockOp([Aop, AHop](const at::Tensor& X) { return Aop(AHop(X)); });
    P.anorm = n1 * ninf;
    r = eigen::lobpcg(P, k, true, opt.X0, opt.tol, opt.maxiter, opt.block, opt.seed);
    S = r.values.clamp_min(0).sqrt();
    auto Sc = S.to(r.vectors.scalar_type()).clamp_min(1e-300);
    if (right) {
      V = r.vectors;
      U = Aop(V) / Sc.unsqueeze(0);
    } else {
      U = r.vectors;
      V = AHop(U) / Sc.unsqueeze(0);
    }
  } else {
    // (AᴴA)⁻¹ X = A⁻¹ (A⁻ᴴ X): LU where this build has a direct backend for the device,
    // else GMRES (CG + AMG when A looks SPD) with a tight rtol, both directions.
    P.n = n;
    P.A = inner_op(Ad, opt.solver, InnerKind::General, "svds", inner_name, /*adjoint_too=*/true);
    P.anorm = 0;
    r = eigen::lobpcg(P, k, true, opt.X0, opt.tol, opt.maxiter, opt.block, opt.seed);
    S = r.values.clamp_min(1e-300).rsqrt();
    V = r.vectors;
    U = Aop(V) / S.to(V.scalar_type()).unsqueeze(0);
  }
  auto order = std::get<1>(S.sort(/*stable=*/true, 0, /*descending=*/which == "LM"));
  S = S.index_select(0, order);
  V = V.index_select(1, order);
  U = U.index_select(1, order);
  // Phase: V's largest entry real positive, U follows (A v = σ u).
  auto piv = V.gather(0, V.abs().argmax(0, /*keepdim=*/true));
  auto phase = piv / piv.abs().clamp_min(1e-300);
  V = V / phase;
  U = U / phase;
  auto Sc = S.to(U.scalar_type()).unsqueeze(0);
  // Residual norms in the problem's space (U and V share it while A is one process's matrix).
  auto r1 = P.space->norm(Aop(V) - U * Sc).squeeze(0);
  auto r2 = P.space->norm(AHop(U) - V * Sc).squeeze(0);
  auto res = (at::maximum(r1, r2).to(at::kDouble) / std::max(anorm, 1e-300)).cpu();
  auto inner = r.residuals.index_select(0, order.cpu());
  int64_t nconv = at::logical_or(inner <= opt.tol, res <= opt.tol).sum().item<int64_t>();
  EigenInfo info;
  info.inner_solver = *inner_name;
  info.method = which == "LM" ? "lobpcg" : "shift-invert(" + *inner_name + ")";
  finish(info, k, nconv, r.iterations, res, opt, "svds (LOBPCG)");
  if (info_out) *info_out = std::move(info);
  return {U, S, V};
}

}  // namespace dsla::detail
