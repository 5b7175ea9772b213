// The inner Solver of shift-invert eigensolvers and Newton (see solver_internal.h): direct where
// this build has a backend for the matrix's device, iterative with a tight tolerance otherwise,
// as a plan of stages that callers step through when a stage does not converge.
#include <ATen/ATen.h>
#include <dsla/config.h>
#include <dsla/errors.h>

#include <algorithm>

#include "solve/direct/factorization.h"
#include "solve/solver_internal.h"

namespace dsla::detail {
namespace {

bool diagonal_all(const SparseMatrix& A, bool positive) {
  if (!A.pattern()->has_full_diagonal()) return false;
  auto d = A.diagonal();
  if (d.is_complex()) {
    if ((at::imag(d).abs() > 0).any().item<bool>()) return false;
    d = at::real(d);
  }
  return (positive ? (d > 0) : (d != 0)).all().item<bool>();
}

// Every Gershgorin disc in the closed right half-plane (with a symmetric A: positive
// semidefinite, so CG applies).
bool gershgorin_nonnegative(const SparseMatrix& A) {
  auto d = at::real(A.diagonal());
  auto off = at::real(A.with_values(A.values().abs()).row_sums()) - d.abs();
  return ((d - off).min().item<double>() >= 0);
}

SolveOptions iterative(const SolveOptions& user, Method m, const std::string& precond,
                       double rtol) {
  SolveOptions so = user;
  so.method = m;
  so.precond = precond;
  so.rtol = std::min(user.rtol, rtol);
  so.warn = false;
  if (m == Method::GMRES) so.restart = std::max<int64_t>(user.restart, 50);
  return so;
}

// The iterative stages for method Auto without a direct backend.
std::vector<SolveOptions> iterative_plan(const SparseMatrix& A, const SolveOptions& user,
                                         InnerKind kind, double rtol) {
  std::vector<SolveOptions> plan;
  const bool real = !A.is_complex();
  const bool pos_diag = diagonal_all(A, true);
  const bool symmetric = kind == InnerKind::Symmetric || A.is_symmetric(1e-12);
  const bool gmres_first = kind == InnerKind::General;
  if (real && symmetric && pos_diag) {
    // SPD-looking (General: Newton's convex case; Symmetric: A − σM of eigsh, e.g. an SPD A at
    // σ = 0 that Gershgorin cannot prove semidefinite, such as 494_bus, where CG + AMG takes 3
    // iterations and MINRES + Jacobi 431 per solve). CG stops at the first pᴴAp ≤ 0 of an
    // indefinite A − σM, and a solve that fails moves the plan on to MINRES; an unproven one
    // gets fewer iterations before that happens.
    auto so = iterative(user, Method::CG, "amg", rtol);
    if (kind == InnerKind::Symmetric && so.maxiter < 0)
      so.maxiter = gershgorin_nonnegative(A) ? 1000 : 300;
    plan.push_back(so);
  }
  if (kind == InnerKind::Symmetric) {
    plan.push_back(iterative(user, Method::MINRES, pos_diag ? "jacobi" : "none", rtol));
  }
  if (gmres_first) {
    const std::string pc = !diagonal_all(A, false) ? "none"
                           : A.device().is_cpu()   ? "ilu0"
                                                   : "jacobi";
    plan.push_back(iterative(user, Method::GMRES, pc, rtol));
    // Last resort: unpreconditioned GMRES with a long restart (basis memory ≤ ~160 MB).
    auto so = iterative(user, Method::GMRES, "none", rtol);
    so.restart = std::clamp<int64_t>(20000000 / std::max<int64_t>(A.rows(), 1), 50, A.rows());
    if (pc != "none" || so.restart > plan.back().restart) plan.push_back(so);
  }
  return plan;
}

}  // namespace

bool direct_available(c10::Device device) {
  if (device.is_cpu()) return direct::available(direct::Kind::LU);
  return device.is_cuda() && DSLA_HAVE_CUDSS != 0;
}

std::string describe(const Solver& s) {
  const auto p = s.preconditioner();
  auto name = to_string(s.method());
  return (p.empty() || p == "none") ? name : name + "+" + p;
}

Solver make_gmres_solver(const SparseMatrix& A, const SolveOptions& user, double rtol,
                         std::string* name) {
  const std::string pc = !diagonal_all(A, false) ? "none" : A.device().is_cpu() ? "ilu0" : "jacobi";
  Solver s(A, iterative(user, Method::GMRES, pc, rtol));
  if (name) *name = describe(s);
  return s;
}

Solver make_inner_solver(const SparseMatrix& A, const SolveOptions& user, InnerKind kind,
                         double rtol, std::string* name, int stage) {
  Solver s;
  if (user.method != Method::Auto) {
    if (stage > 0) return s;
    SolveOptions so = user;
    so.warn = false;  // the callers check convergence and report (or raise) themselves
    s = Solver(A, so);
  } else if (direct_available(A.device())) {
    // Past the direct stage (a non-CPU backend that refused the matrix): the iterative plan.
    if (stage > 0) {
      return A.device().is_cpu()
                 ? s
                 : make_inner_solver_iterative(A, user, kind, rtol, name, stage - 1);
    }
    SolveOptions so = user;
    so.method = kind == InnerKind::Symmetric ? Method::Cholesky : Method::LU;
    try {
      s = Solver(A, so);
    } catch (const std::exception&) {
      // Cholesky: not positive definite. On the CPU LU is the answer (and its errors, e.g. a
      // singular A − σI, are the user's); elsewhere the direct backend may not take this matrix:
      // the iterative plan below.
      if (kind == InnerKind::Symmetric && A.device().is_cpu()) {
        so.method = Method::LU;
        s = Solver(A, so);
      } else if (A.device().is_cpu()) {
        throw;
      }
    }
    if (!s.defined()) return make_inner_solver_iterative(A, user, kind, rtol, name, 0);
  } else {
    return make_inner_solver_iterative(A, user, kind, rtol, name, stage);
  }
  if (name) *name = describe(s);
  return s;
}

Solver make_inner_solver_iterative(const SparseMatrix& A, const SolveOptions& user, InnerKind kind,
                                   double rtol, std::string* name, int stage) {
  auto plan = iterative_plan(A, user, kind, rtol);
  for (int i = stage; i < static_cast<int>(plan.size()); ++i) {
    try {
      Solver s(A, plan[i]);
      if (name) *name = describe(s);
      return s;
    } catch (const std::exception&) {
      // e.g. AMG or ILU0 setup failing on this matrix: the next stage
      if (i + 1 == static_cast<int>(plan.size())) throw;
    }
  }
  return Solver();
}

}  // namespace dsla::detail
