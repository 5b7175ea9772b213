// Newton with Armijo backtracking on ½‖F‖². Assembled Jacobians go through AssembledSolve (one
// Solver, refactored while the pattern stays the same, GMRES once CG fails); without a Jacobian,
// GMRES runs on Jacobian-vector products (JFNK): opt.jvp's, or finite differences of F.
#include <dsla/errors.h>

#include <cmath>

#include "solve/nonlinear/nonlinear_internal.h"

namespace dsla::nonlinear {

at::Tensor newton(const ResidualFn& F, at::Tensor u, at::Tensor r, const NonlinearOptions& opt,
                  const JacobianFn& J, NonlinearInfo& info) {
  ++info.function_evals;
  const VectorSpace* sp = opt.space.get();
  double rn = vnorm(r, sp);
  const double r0 = rn;
  info.residual_history.push_back(rn);
  const double tol = std::max(opt.rtol * r0, opt.atol);
  AssembledSolve assembled(opt.linear);
  // Checked before the first step: a matrix-free solve cannot use a named preconditioner.
  const bool assembled_step = J || opt.linear_step;
  const SolveOptions free_opts =
      assembled_step ? SolveOptions() : matrix_free_options(opt.linear, false);
  for (int64_t it = 0;; ++it) {
    info.iterations = it;
    if (const char* stop = stop_status(rn, r0, tol, it, opt)) {
      info.status = stop;
      return u;
    }
    at::Tensor du;
    SolveInfo si;
    if (opt.linear_step) {
      du = opt.linear_step(u, -r, /*adjoint=*/false, &si, &info.linear_solver);
    } else if (J) {
      auto Jm = J(u).detach();
      DSLA_CHECK_ARG(Jm.rows() == u.size(0) && Jm.cols() == u.size(0), "jacobian",
                     "returned shape (", Jm.rows(), ", ", Jm.cols(), "); expected (", u.size(0),
                     ", ", u.size(0), ")");
      du = assembled.solve(Jm, -r, /*adjoint=*/false, &si);
      info.linear_solver = assembled.name();
    } else {
      // The products of this step (opt.jvp: e.g. one autograd graph at u, reused by every one).
      const JvpFn jv = opt.jvp ? opt.jvp(u, r) : fd_jvp(F, u, r, opt.space);
      du = solve_matrix_free(jv, -r, free_opts, &si, opt.space);
      info.linear_solver = "jfnk-" + to_string(free_opts.method) + (free_opts.M ? "+user" : "");
    }
    info.linear_iterations.push_back(si.iterations);
    if (!finite_everywhere(du, sp)) {
      info.status = "linear_solve_failed";
      info.message = si.message;
      return u;
    }
    double t = 1.0;
    at::Tensor un, rnew;
    double rnn = 0;
    for (;;) {
      un = u + t * du;
      rnew = F(un);
      ++info.function_evals;
      rnn = vnorm(rnew, sp);
      if (!opt.line_search) break;
      // Armijo on ½‖F‖²: the Newton direction has slope −‖F‖² (c = 1e-4).
      if (std::isfinite(rnn) && rnn * rnn <= (1 - 2e-4 * t) * rn * rn) break;
      t *= 0.5;
      if (t < 1e-10) {
        info.status = "line_search_failed";
        info.message =
            "the line search found no decrease along the Newton direction "
            "(inaccurate Jacobian or linear solve" +
            (si.converged ? std::string() : ": " + si.message) + ", or a local minimum of ‖F‖)";
        return u;
      }
    }
    const double step = t * vnorm(du, sp);
    u = un;
    r = rnew;
    rn = rnn;
    info.residual_history.push_back(rn);
    if (step_stop(step, u, rn, tol, it, opt, info)) return u;
  }
}

}  // namespace dsla::nonlinear
