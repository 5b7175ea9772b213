// Shared pieces of the eigen front ends: block operators over a SparseMatrix, phase
// normalization, failure reporting, and the matrix-free Krylov entry point.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <dsla/errors.h>
#include <dsla/ops.h>

#include <chrono>
#include <sstream>

#include "solve/eigen/eigen_internal.h"
#include "solve/krylov/krylov.h"
#include "solve/solver_internal.h"

namespace dsla {
namespace detail {

eigen::BlockOp complexify(eigen::BlockOp op) {
  return [op](const at::Tensor& X) -> at::Tensor {
    if (!X.is_complex()) return op(X);
    const int64_t m = X.size(1);
    auto r = op(at::cat({at::real(X), at::imag(X)}, 1));
    return at::complex(r.slice(1, 0, m), r.slice(1, m, 2 * m));
  };
}

eigen::BlockOp matrix_block_op(const SparseMatrix& A) {
  auto Ad = A.detach();
  eigen::BlockOp op = [Ad](const at::Tensor& X) {
    c10::AutoGradMode g(false);
    return dsla::matmul(Ad, X.contiguous());
  };
  return Ad.is_complex() ? op : complexify(op);
}

at::Tensor normalize_phase(const at::Tensor& U) {
  if (U.numel() == 0) return U;
  auto idx = U.abs().argmax(0, /*keepdim=*/true);
  auto piv = U.gather(0, idx);
  auto phase = piv / piv.abs().clamp_min(1e-300);
  return U / phase;
}

namespace {

// Inner solves aim at rtol 1e-12; one that stalls above that near rounding (ill-conditioned
// A − σM: the true residual cannot go below about eps · cond) still serves (the eigen residuals
// on the original problem report the outcome). Above 1e-6 it cannot.
constexpr double kInnerRtol = 1e-12;
constexpr double kInnerFail = 1e-6;

bool ok_inner(const SolveInfo& si) {
  return si.converged || si.residual <= kInnerFail;
}

[[noreturn]] void fail_inner(const SolveInfo& si, const char* what, const std::string& inner) {
  throw SolveError(std::string("dsla: ") + what + ": the shift-invert inner solve (" + inner +
                   ") did not converge: " + si.message +
                   ". Without a direct solver for this device (dsla.features: suitesparse on "
                   "the CPU, cudss on CUDA) shift-invert relies on it; pass solver={'method': "
                   "..., 'precond': ..., 'maxiter': ...} that converges here, or avoid "
                   "shift-invert (which='SA'/'LA' with a preconditioner)");
}

}  // namespace

eigen::BlockOp inner_op(const SparseMatrix& A, const SolveOptions& user, InnerKind kind,
                        const char* what, std::shared_ptr<std::string> name, bool adjoint_too,
                        Solver* first) {
  struct State {
    SparseMatrix A;
    SolveOptions user;
    InnerKind kind;
    int stage = 0;
    Solver S;
  };
  auto st = std::make_shared<State>();
  st->A = A;
  st->user = user;
  st->kind = kind;
  st->S = make_inner_solver(A, user, kind, kInnerRtol, name.get(), 0);
  if (first) *first = st->S;
  return [st, what, name, adjoint_too](const at::Tensor& X) {
    for (;;) {
      SolveInfo si;
      auto Y = X.contiguous();
      if (adjoint_too) Y = st->S.solve_adjoint(Y, &si).contiguous();
      if (ok_inner(si)) Y = st->S.solve(Y, &si);
      if (ok_inner(si)) return Y;
      Solver next;
      std::string next_name;
      try {
        next = make_inner_solver(st->A, st->user, st->kind, kInnerRtol, &next_name, st->stage + 1);
      } catch (const std::exception&) {
      }
      if (!next.defined()) fail_inner(si, what, *name);
      st->S = next;
      st->stage += 1;
      *name = next_name;
    }
  };
}

void finish(EigenInfo& info, int64_t k, int64_t converged, int64_t iterations,
            const at::Tensor& residuals, const EigenOptions& opt, const char* what,
            const std::string& shortfall) {
  info.iterations = iterations;
  info.converged = converged;
  info.ok = converged == k && shortfall.empty();
  info.residuals = residuals.to(at::kDouble).cpu();
  std::ostringstream msg;
  const std::string via =
      info.inner_solver.empty() ? "" : " (inner solver " + info.inner_solver + ")";
  const double worst = residuals.numel() ? residuals.max().item<double>() : 0.0;
  if (info.ok) {
    msg << what << " converged: " << k << " pairs in " << iterations
        << " iterations (largest backward error " << worst << ")" << via;
  } else if (converged == k) {
    msg << what << " did not converge: " << shortfall << " after " << iterations
        << " iterations (all " << k << " pairs met tol " << opt.tol << ", largest backward error "
        << worst << ")" << via << "; raise maxiter";
  } else {
    msg << what << " did not converge: " << converged << " of " << k << " pairs met tol " << opt.tol
        << " after " << iterations << " iterations (largest backward error " << worst << ")" << via
        << "; raise maxiter, loosen tol, use a preconditioner, or shift-invert (sigma)";
  }
  info.message = msg.str();
  if (!info.ok) {
    if (opt.raise_on_failure) throw SolveError("dsla: " + info.message);
    if (opt.warn) TORCH_WARN("dsla: ", info.message);
  }
}

}  // namespace detail

at::Tensor solve_operator(const LinearOperatorPtr& A, const at::Tensor& b, const SolveOptions& opt,
                          SolveInfo* info) {
  DSLA_CHECK_ARG(A != nullptr, "A", "is empty");
  DSLA_CHECK_ARG(!is_direct(opt.method) && opt.method != Method::Auto, "method",
                 "a matrix-free solve needs an iterative method (gmres, fgmres, bicgstab, cg, "
                 "minres); got ",
                 to_string(opt.method));
  DSLA_CHECK_ARG(b.dim() == 1 || b.dim() == 2, "b", "must be [n] or [n, k]; got ", b.sizes());
  DSLA_CHECK_ARG(b.size(0) == A->rows(), "b", "has ", b.size(0), " rows; the operator has ",
                 A->rows());
  auto b3 = (b.dim() == 1 ? b.view({1, -1, 1}) : b.unsqueeze(0)).contiguous();
  krylov::Problem P;
  P.A = A.get();
  P.M = opt.M.get();
  P.opt = &opt;
  auto x =
      opt.x0.defined() ? opt.x0.reshape(b3.sizes()).to(b3.options()).clone() : at::zeros_like(b3);
  SolveInfo inf;
  inf.method = opt.method;  // the one that ran (SolveInfo's default reads "auto")
  inf.preconditioner = opt.M ? "user" : "none";
  const auto t0 = std::chrono::steady_clock::now();
  krylov::run(opt.method, P, b3, x, inf);
  inf.solve_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!inf.converged) {
    if (opt.raise_on_failure) throw SolveError("dsla: " + inf.message);
    if (opt.warn) TORCH_WARN("dsla: ", inf.message);
  }
  if (info) *info = std::move(inf);
  return b.dim() == 1 ? x.view({-1}) : x.squeeze(0);
}

}  // namespace dsla
