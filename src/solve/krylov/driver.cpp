// The Krylov driver: runs a method, recomputes the true residual b − A x, and restarts from the
// current x when the recurrence claimed convergence that the true residual does not confirm.
#include <cmath>
#include <limits>
#include <sstream>

#include "solve/krylov/krylov.h"

namespace dsla::krylov {

namespace {

void dispatch(Method m, const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon) {
  switch (m) {
    case Method::CG:
      return cg(P, b, x, mon);
    case Method::BiCGStab:
      return bicgstab(P, b, x, mon);
    case Method::GMRES:
      return gmres(P, b, x, mon, /*flexible=*/false);
    case Method::FGMRES:
      return gmres(P, b, x, mon, /*flexible=*/true);
    case Method::MINRES:
      return minres(P, b, x, mon);
    case Method::LSQR:
      return lsqr(P, b, x, mon);
    case Method::LSMR:
      return lsmr(P, b, x, mon);
    default:
      TORCH_CHECK_VALUE(false, "dsla: ", to_string(m), " is not an iterative method");
  }
}

}  // namespace

void run(Method method, const Problem& P, const at::Tensor& b, at::Tensor& x, SolveInfo& info) {
  const auto& opt = *P.opt;
  const LinearOperator& A = *P.A;
  const auto& space = A.space();
  auto bnorm = space.norm(b);
  int64_t maxiter = opt.maxiter;
  if (maxiter < 0)
    maxiter = std::max<int64_t>(
        100, 10 * std::max(space.global_rows(A.rows()), space.global_rows(A.cols())));
  // A preconditioner beyond Jacobi (an AMG cycle, triangular solves) costs far more than the
  // host read of a convergence check: check every iteration by default rather than run up to 15
  // unneeded iterations (each with its preconditioner) after convergence inside a device block.
  const bool costly_precond = P.M != nullptr && !P.dinv.defined();
  Monitor mon(opt, bnorm, maxiter, b.device(), costly_precond);
  mon.x = &x;
  double prev_worst = std::numeric_limits<double>::infinity();
  at::Tensor rn;
  Status status = Status::Converged;
  for (int restart = 0;; ++restart) {
    if (maxiter > 0) dispatch(method, P, b, x, mon);
    auto r = b - apply(A, x);
    rn = space.norm(r);
    auto conv = rn <= mon.tol;
    if (P.least_squares && P.anorm > 0) {
      auto g = apply_adjoint(A, r);
      if (opt.damp > 0) {
        // The damped normal equations Aᴴ r − damp² x = 0 on the augmented system [A; damp I].
        const double d2 = opt.damp * opt.damp;
        g = g - d2 * x;
        auto xn = space.norm(x);
        auto rnd = at::sqrt(rn * rn + d2 * xn * xn);
        const double anormd =
            std::sqrt(P.anorm * P.anorm + d2 * static_cast<double>(space.global_rows(A.cols())));
        conv = space.norm(g) <= rnd * (opt.rtol * anormd);
      } else {
        auto arn = space.norm(g);
        conv = at::logical_or(conv, arn <= rn * (opt.rtol * P.anorm));
      }
    }
    auto rel = at::where(bnorm > 0, safe_div(rn.to(at::kDouble), bnorm.to(at::kDouble)),
                         rn.to(at::kDouble));
    auto finite = at::isfinite(rn);
    auto pack =
        at::stack({conv.all().to(at::kDouble), finite.all().to(at::kDouble),
                   rel.numel() ? at::nan_to_num(rel, std::numeric_limits<double>::infinity()).max()
                               : at::zeros({}, rel.options())})
            .cpu();
    const double* h = pack.data_ptr<double>();
    const double worst = h[2];
    if (h[0] != 0) {
      status = Status::Converged;
      break;
    }
    if (h[1] == 0) {
      status = Status::NotFinite;
      break;
    }
    if (P.least_squares && opt.damp > 0) {
      // A restart from x would solve min ‖A d − r‖² + damp² ‖d‖², another problem: the damped
      // run stands as it ended.
      const Status f = mon.failure();
      status = f != Status::Converged    ? f
               : mon.out_of_iterations() ? Status::MaxIterations
                                         : Status::Stagnated;
      break;
    }
    Status f = mon.failure();
    // BiCGStab's rho = 0 breakdown usually goes away with a fresh shadow residual: restart.
    const bool retry = f == Status::Breakdown && method == Method::BiCGStab && restart < 8 &&
                       !mon.out_of_iterations() && worst < prev_worst;
    if (retry) {
      mon.clear_failures();
      f = Status::Converged;
    }
    if (f != Status::Converged) {
      status = f;
      break;
    }
    if (mon.out_of_iterations() || maxiter == 0) {
      status = Status::MaxIterations;
      break;
    }
    if (!retry && (restart >= 8 || !(worst < 0.5 * prev_worst))) {
      status = Status::Stagnated;
      break;
    }
    prev_worst = worst;
    mon.set_active(at::logical_and(conv.logical_not(), finite));
  }
  auto rel =
      at::where(bnorm > 0, safe_div(rn.to(at::kDouble), bnorm.to(at::kDouble)), rn.to(at::kDouble));
  info.residuals = rel.squeeze(1).cpu();
  info.residual = info.residuals.numel() ? info.residuals.max().item<double>() : 0.0;
  if (std::isnan(info.residual)) info.residual = std::numeric_limits<double>::quiet_NaN();
  info.iterations = mon.iterations;
  info.status = status;
  info.converged = status == Status::Converged;
  info.history_iterations = mon.hist_it;
  info.history_residuals = mon.hist_res;
  std::ostringstream msg;
  msg << to_string(method);
  if (info.converged) {
    msg << " converged in " << info.iterations << " iterations (relative residual " << info.residual
        << ")";
  } else {
    msg << " did not converge: " << to_string(status) << " after " << info.iterations
        << " iterations, relative residual " << info.residual << " (rtol " << opt.rtol << ", atol "
        << opt.atol << ")";
    switch (status) {
      case Status::MaxIterations:
        msg << "; raise maxiter, loosen rtol, or use a stronger preconditioner";
        break;
      case Status::Indefinite:
        msg << "; the matrix (or preconditioner) is not positive definite: use minres (symmetric) "
               "or gmres";
        break;
      case Status::Breakdown:
        msg << "; the recurrence broke down (singular or badly conditioned matrix): try gmres "
               "or a direct method";
        break;
      case Status::NotFinite:
        msg << "; NaN or Inf appeared: check A and b for non-finite values";
        break;
      case Status::Stagnated:
        msg << "; restarts no longer reduce the true residual: the tolerance may be below what "
               "this precision and conditioning allow";
        break;
      default:
        break;
    }
  }
  info.message = msg.str();
}

}  // namespace dsla::krylov
