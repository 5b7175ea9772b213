// Newton's linear solves, shared by the forward steps (newton.cpp) and the implicit-function
// adjoint (src/autograd/nonlinear_fn.cpp): one policy for the inner solver in both directions.
#include <dsla/eigen.h>
#include <dsla/errors.h>
#include <dsla/linear_operator.h>

#include <limits>

#include "solve/nonlinear/nonlinear_internal.h"
#include "solve/solver_internal.h"

namespace dsla::nonlinear {
namespace {

// torch.finfo(dtype).eps of u's (real) precision.
double dtype_eps(at::ScalarType t) {
  switch (c10::toRealValueType(t)) {
    case at::kFloat:
      return std::numeric_limits<float>::epsilon();
    case at::kHalf:
      return 0.0009765625;  // 2^-10
    case at::kBFloat16:
      return 0.0078125;  // 2^-7
    default:
      return std::numeric_limits<double>::epsilon();
  }
}

bool same_pattern(const SparseMatrix& a, const SparseMatrix& b) {
  return a.rows() == b.rows() && a.nnz() == b.nnz() &&
         at::equal(a.crow_indices(), b.crow_indices()) &&
         at::equal(a.col_indices(), b.col_indices());
}

}  // namespace

AssembledSolve::AssembledSolve(const SolveOptions& user) : lin_(user) {
  lin_.warn = false;  // NonlinearInfo (or the adjoint's own warning) reports failures
  lin_.raise_on_failure = false;
}

at::Tensor AssembledSolve::solve(const SparseMatrix& J, const at::Tensor& b, bool adjoint,
                                 SolveInfo* si) {
  if (solver_.defined() && same_pattern(solver_.matrix(), J)) {
    solver_.refactor(J.values());
  } else {
    solver_ = detail::make_inner_solver(J, lin_, detail::InnerKind::General, kLinearRtol, &name_);
  }
  auto run = [&] { return adjoint ? solver_.solve_adjoint(b, si) : solver_.solve(b, si); };
  auto x = run();
  if (!si->converged && lin_.method == Method::Auto && solver_.method() == Method::CG) {
    // Symmetric but not positive definite (CG broke down): GMRES from here on.
    solver_ = detail::make_gmres_solver(J, lin_, kLinearRtol, &name_);
    x = run();
  }
  return x;
}

SolveOptions matrix_free_options(const SolveOptions& user, bool adjoint) {
  SolveOptions o = user;
  if (is_direct(o.method) || o.method == Method::Auto) {
    o.method = Method::GMRES;
    o.restart = std::max<int64_t>(o.restart, 50);
  }
  o.warn = false;
  o.raise_on_failure = false;
  if (adjoint) {
    o.M = nullptr;
    o.rtol = std::min(o.rtol, kLinearRtol);
  } else {
    // A named preconditioner needs a matrix; matrix-free Newton has none.
    DSLA_CHECK_ARG(o.M || o.precond == "auto" || o.precond == "none" || o.precond.empty(),
                   "linear.precond", "matrix-free Newton (no jacobian) cannot build '", o.precond,
                   "' without a matrix; pass a preconditioner operator as linear.M (Python: "
                   "linear_solver={'M': callable or SparseTensor}) or an assembled jacobian");
  }
  return o;
}

at::Tensor solve_matrix_free(const JvpFn& A, const at::Tensor& b, const SolveOptions& o,
                             SolveInfo* si) {
  const int64_t n = b.size(0);
  auto op =
      make_operator(n, n, b.scalar_type(), b.device(), [A](const at::Tensor& x3, at::Tensor& y3) {
        for (int64_t i = 0; i < x3.size(0); ++i) {
          for (int64_t j = 0; j < x3.size(2); ++j) {
            y3.select(0, i).select(1, j).copy_(A(x3.select(0, i).select(1, j)));
          }
        }
      });
  return solve_operator(op, b, o, si);
}

JvpFn fd_jvp(const ResidualFn& F, const at::Tensor& u, const at::Tensor& Fu) {
  // √eps of u's precision (float32 needs a larger ε than float64), scaled by ‖u‖: the classic
  // balance of truncation against cancellation.
  const double base = std::sqrt(dtype_eps(u.scalar_type())) * (1 + vnorm(u));
  return [F, u, Fu, base](const at::Tensor& v) {
    const double vn = vnorm(v);
    if (vn == 0) return at::zeros_like(v);
    const double eps = base / vn;
    return (F(u + eps * v) - Fu) / eps;
  };
}

}  // namespace dsla::nonlinear
