// The inner Solver of shift-invert eigensolvers and Newton (see solver_internal.h): direct where
// this build has a backend for the matrix's device, iterative with a tight tolerance otherwise.
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
                         double rtol, std::string* name) {
  Solver s;
  if (user.method != Method::Auto) {
    SolveOptions so = user;
    so.warn = false;  // the callers check convergence and report (or raise) themselves
    s = Solver(A, so);
  } else if (direct_available(A.device())) {
    SolveOptions so = user;
    so.method = kind == InnerKind::Symmetric ? Method::Cholesky : Method::LU;
    try {
      s = Solver(A, so);
    } catch (const std::exception&) {
      // Cholesky: not positive definite. On the CPU LU is the answer (and its errors, e.g. a
      // singular A − σI, are the user's); elsewhere the direct backend may not take this matrix:
      // fall back to an iterative solve.
      if (kind == InnerKind::Symmetric && A.device().is_cpu()) {
        so.method = Method::LU;
        s = Solver(A, so);
      } else if (A.device().is_cpu()) {
        throw;
      }
    }
  }
  if (!s.defined()) {
    if (kind == InnerKind::Symmetric) {
      s = Solver(A,
                 iterative(user, Method::MINRES, diagonal_all(A, true) ? "jacobi" : "none", rtol));
    } else if (!A.is_complex() && A.is_symmetric(1e-12) && diagonal_all(A, true)) {
      s = Solver(A, iterative(user, Method::CG, "amg", rtol));
    } else {
      return make_gmres_solver(A, user, rtol, name);
    }
  }
  if (name) *name = describe(s);
  return s;
}

}  // namespace dsla::detail
