// Newton with Armijo backtracking on ½‖F‖². Assembled Jacobians go through one Solver (direct
// where the build has a backend for the device, else iterative: detail::make_inner_solver) that
// is refactored (numeric phase only) while the pattern stays the same; without a Jacobian, GMRES
// runs on finite-difference Jacobian-vector products (JFNK).
#include <dsla/eigen.h>
#include <dsla/errors.h>

#include <cmath>
#include <limits>

#include "solve/nonlinear/nonlinear_internal.h"
#include "solve/solver_internal.h"

namespace dsla::nonlinear {
namespace {

bool same_pattern(const SparseMatrix& a, const SparseMatrix& b) {
  return a.rows() == b.rows() && a.nnz() == b.nnz() &&
         at::equal(a.crow_indices(), b.crow_indices()) &&
         at::equal(a.col_indices(), b.col_indices());
}

}  // namespace

at::Tensor newton(const ResidualFn& F, at::Tensor u, const NonlinearOptions& opt,
                  const JacobianFn& J, NonlinearInfo& info) {
  auto r = F(u);
  ++info.function_evals;
  double rn = vnorm(r);
  const double r0 = rn;
  info.residual_history.push_back(rn);
  const double tol = std::max(opt.rtol * r0, opt.atol);
  Solver solver;
  SolveOptions lin = opt.linear;
  lin.warn = false;
  // Assembled Jacobians, method Auto: LU where this build has a direct backend for u's device,
  // else CG + AMG (symmetric, positive diagonal) or GMRES + ILU0 / Jacobi, rtol ≤ 1e-10.
  constexpr double kLinearRtol = 1e-10;
  for (int64_t it = 0;; ++it) {
    info.iterations = it;
    if (const char* stop = stop_status(rn, r0, tol, it, opt)) {
      info.status = stop;
      return u;
    }
    at::Tensor du;
    SolveInfo si;
    if (J) {
      auto Jm = J(u).detach();
      DSLA_CHECK_ARG(Jm.rows() == u.size(0) && Jm.cols() == u.size(0), "jacobian", "returned a ",
                     Jm.rows(), " x ", Jm.cols(), " matrix for n = ", u.size(0));
      if (solver.defined() && same_pattern(solver.matrix(), Jm)) {
        solver.refactor(Jm.values());
      } else {
        solver = detail::make_inner_solver(Jm, lin, detail::InnerKind::General, kLinearRtol,
                                           &info.linear_solver);
      }
      du = solver.solve(-r, &si);
      if (!si.converged && lin.method == Method::Auto && solver.method() == Method::CG) {
        // Symmetric but not positive definite (CG broke down): GMRES from here on.
        solver = detail::make_gmres_solver(Jm, lin, kLinearRtol, &info.linear_solver);
        du = solver.solve(-r, &si);
      }
    } else {
      const at::Tensor uc = u, rc = r;
      const double eps_base = std::sqrt(std::numeric_limits<double>::epsilon()) * (1 + vnorm(u));
      auto op = make_operator(u.size(0), u.size(0), u.scalar_type(), u.device(),
                              [F, uc, rc, eps_base](const at::Tensor& x3, at::Tensor& y3) {
                                for (int64_t j = 0; j < x3.size(2); ++j) {
                                  auto v = x3.select(0, 0).select(1, j);
                                  const double vn = vnorm(v);
                                  if (vn == 0) {
                                    y3.select(0, 0).select(1, j).zero_();
                                    continue;
                                  }
                                  const double eps = eps_base / vn;
                                  y3.select(0, 0).select(1, j).copy_((F(uc + eps * v) - rc) / eps);
                                }
                              });
      SolveOptions g = lin;
      if (is_direct(g.method) || g.method == Method::Auto) g.method = Method::GMRES;
      info.linear_solver = "jfnk-" + to_string(g.method);
      du = solve_operator(op, -r, g, &si);
    }
    info.linear_iterations.push_back(si.iterations);
    if (!at::isfinite(du).all().item<bool>()) {
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
      rnn = vnorm(rnew);
      if (!opt.line_search) break;
      if (std::isfinite(rnn) && rnn * rnn <= (1 - 2e-4 * t) * rn * rn) break;
      t *= 0.5;
      if (t < 1e-10) {
        info.status = "line_search_failed";
        info.message =
            "no decrease along the Newton direction (inaccurate Jacobian or linear "
            "solve, or a local minimum of |F|)";
        return u;
      }
    }
    const double step = t * vnorm(du);
    u = un;
    r = rnew;
    rn = rnn;
    info.residual_history.push_back(rn);
    if (step_stop(step, u, rn, tol, it, opt, info)) return u;
  }
}

}  // namespace dsla::nonlinear
