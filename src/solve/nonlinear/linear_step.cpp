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

namespace {

// Products column by column, over the given space (a distributed solve's) or the local one.
class FreeOperator final : public LinearOperator {
 public:
  FreeOperator(JvpFn A, const at::Tensor& b, std::shared_ptr<const VectorSpace> space)
      : A_(std::move(A)),
        n_(b.size(0)),
        dtype_(b.scalar_type()),
        device_(b.device()),
        space_(std::move(space)) {}
  int64_t rows() const override { return n_; }
  int64_t cols() const override { return n_; }
  at::ScalarType dtype() const override { return dtype_; }
  c10::Device device() const override { return device_; }
  void apply(const at::Tensor& x3, at::Tensor& y3) const override {
    for (int64_t i = 0; i < x3.size(0); ++i)
      for (int64_t j = 0; j < x3.size(2); ++j)
        y3.select(0, i).select(1, j).copy_(A_(x3.select(0, i).select(1, j)));
  }
  const VectorSpace& space() const override { return space_ ? *space_ : LinearOperator::space(); }

 private:
  JvpFn A_;
  int64_t n_;
  at::ScalarType dtype_;
  c10::Device device_;
  std::shared_ptr<const VectorSpace> space_;
};

}  // namespace

at::Tensor solve_matrix_free(const JvpFn& A, const at::Tensor& b, const SolveOptions& o,
                             SolveInfo* si, std::shared_ptr<const VectorSpace> space) {
  auto op = std::make_shared<FreeOperator>(A, b, std::move(space));
  return solve_operator(op, b, o, si);
}

JvpFn fd_jvp(const ResidualFn& F, const at::Tensor& u, const at::Tensor& Fu,
             std::shared_ptr<const VectorSpace> space) {
  // √eps of u's precision (float32 needs a larger ε than float64), scaled by ‖u‖: the classic
  // balance of truncation against cancellation.
  const double base = std::sqrt(dtype_eps(u.scalar_type())) * (1 + vnorm(u, space.get()));
  return [F, u, Fu, base, space](const at::Tensor& v) {
    const double vn = vnorm(v, space.get());
    if (vn == 0) return at::zeros_like(v);
    const double eps = base / vn;
    return (F(u + eps * v) - Fu) / eps;
  };
}

}  // namespace dsla::nonlinear
