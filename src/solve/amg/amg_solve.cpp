// Standalone AMG solves: stationary cycles (their own loop: no Krylov method is one), or
// AMG-preconditioned CG — the one CG (src/solve/krylov/cg.cpp) with the hierarchy as M.
// Convergence is checked on the host once per iteration.
#include <dsla/amg.h>
#include <dsla/errors.h>
#include <dsla/solve.h>

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>

#include "core/products.h"
#include "solve/amg/amg_preconditioner.h"

namespace dsla::amg {

namespace {

using Clock = std::chrono::steady_clock;

// b -> [B', n, k] and back.
at::Tensor to3d(const SparseMatrix& A, const at::Tensor& b) {
  const int64_t n = A.rows();
  if (b.dim() == 1) return b.view({1, n, 1});
  if (b.dim() == 2) return A.is_batched() ? b.unsqueeze(2) : b.unsqueeze(0);
  return b;
}

at::Tensor from3d(const at::Tensor& x, const at::Tensor& like, const SparseMatrix& A) {
  if (like.dim() == 1) return x.view({A.rows()});
  if (like.dim() == 2) return A.is_batched() ? x.squeeze(2) : x.squeeze(0);
  return x;
}

at::Tensor norms(const at::Tensor& v) {
  return v.norm(2, {1}, true);
}  // [B, 1, k]

}  // namespace

at::Tensor solve(const AmgHierarchy& H, const SparseMatrix& A, const at::Tensor& b, double rtol,
                 int64_t maxiter, const std::string& accel, AmgSolveInfo* info) {
  auto t0 = Clock::now();
  DSLA_CHECK_ARG(accel == "none" || accel == "cg", "accel", "must be \"none\" or \"cg\", got \"",
                 accel, "\"");
  DSLA_CHECK_ARG(rtol > 0, "rtol", "must be > 0, got ", rtol);
  DSLA_CHECK_ARG(maxiter >= 0, "maxiter", "must be >= 0, got ", maxiter);
  DSLA_CHECK_ARG(A.rows() == H.rows(), "A", "has ", A.rows(), " rows, the hierarchy ", H.rows());
  DSLA_CHECK_ARG(b.dim() >= 1 && b.dim() <= 3, "b", "must be [n], [n, k], [B, n] or [B, n, k]");
  auto b3 = to3d(A, b.detach()).to(A.dtype()).contiguous();
  DSLA_CHECK_ARG(b3.size(1) == A.rows(), "b", "has ", b3.size(1), " rows, A has ", A.rows());
  DSLA_CHECK_ARG(b3.device() == A.device(), "b", "is on ", b3.device(), ", A on ", A.device());
  if (accel == "cg") {
    SolveOptions so;
    so.method = Method::CG;
    so.rtol = rtol;
    so.maxiter = maxiter;
    so.history = true;  // the per-iteration residual estimates of AmgSolveInfo
    so.check_every = 1;
    so.warn = false;  // AmgSolveInfo reports non-convergence
    // The caller's hierarchy, borrowed (it outlives the solve).
    so.M = std::make_shared<AmgPreconditioner>(H);
    SolveInfo si;
    auto x = dsla::solve(A.detach(), from3d(b3, b, A), so, &si);
    if (info) {
      info->iterations = si.iterations;
      info->residual = si.residual;
      info->converged = si.converged;
      info->residuals = si.history_residuals;
      // x0 = 0: the first relative residual is 1.
      info->convergence_factor =
          si.iterations > 0 && si.residual > 0 ? std::pow(si.residual, 1.0 / si.iterations) : 0.0;
      info->solve_time = std::chrono::duration<double>(Clock::now() - t0).count();
      info->stats = H.stats();
    }
    return x;
  }
  const auto& p = *A.pattern();
  auto vals = A.values().detach();
  if (vals.dim() == 1) vals = vals.unsqueeze(0);
  auto bn = norms(b3);
  auto bn_safe = at::where(bn > 0, bn, at::ones_like(bn));
  at::Tensor x = at::zeros_like(b3);
  if (vals.size(0) > 1 && x.size(0) == 1)
    x = x.expand({vals.size(0), x.size(1), x.size(2)}).clone();
  at::Tensor r = b3.expand_as(x).clone();
  std::vector<double> hist;
  double rel = (norms(r) / bn_safe).max().item<double>();
  const double rel0 = rel;
  int64_t it = 0;
  while (rel > rtol && it < maxiter) {
    ++it;
    x.add_(H.apply(r));
    r = b3 - dsla::detail::spmm(p, vals, x);  // true residual
    rel = (norms(r) / bn_safe).max().item<double>();
    hist.push_back(rel);
  }
  if (info) {
    info->iterations = it;
    info->residual = rel;
    info->converged = rel <= rtol;
    info->residuals = hist;
    info->convergence_factor = it > 0 && rel0 > 0 ? std::pow(rel / rel0, 1.0 / it) : 0.0;
    info->solve_time = std::chrono::duration<double>(Clock::now() - t0).count();
    info->stats = H.stats();
  }
  return from3d(x, b, A);
}

at::Tensor solve(const SparseMatrix& A, const at::Tensor& b, const AmgOptions& opt, double rtol,
                 int64_t maxiter, const std::string& accel, AmgSolveInfo* info) {
  auto t0 = Clock::now();
  auto H = AmgHierarchy::build(A, opt);
  const double setup = std::chrono::duration<double>(Clock::now() - t0).count();
  auto x = solve(*H, A, b, rtol, maxiter, accel, info);
  if (info) info->setup_time = setup;
  return x;
}

}  // namespace dsla::amg
