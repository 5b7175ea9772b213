// Nonlinear solves over the ranks (dist.h, nonlinear_options): the one Newton / Picard / Anderson
// of src/solve/nonlinear on owned slices, with the distributed space for every norm and Gram
// matrix and, for an assembled Jacobian, Newton's linear steps through a DistSolver: refactored
// (numeric setup only) while the Jacobian keeps its distributed pattern, replaced by GMRES once CG
// fails under method Auto — the policy of the one-process AssembledSolve, across ranks.
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <memory>

#include "dist/dist_internal.h"

namespace dsla::dist {

namespace {

class DistAssembled {
 public:
  explicit DistAssembled(SolveOptions user) : lin_(std::move(user)) {
    lin_.warn = false;  // NonlinearInfo (or the adjoint's warning) reports failures
    lin_.raise_on_failure = false;
    if (lin_.method == Method::Auto) lin_.rtol = std::min(lin_.rtol, 1e-10);
  }

  at::Tensor solve(const DistMatrix& J, const at::Tensor& b, bool adjoint, SolveInfo* si,
                   std::string* name) {
    DSLA_CHECK_ARG(J.defined() && J.n_owned() == b.size(0), "jacobian",
                   "must return a DistTensor with this rank's ", b.size(0), " owned rows");
    // The same distributed pattern (the halo plan is shared by every matrix built from another
    // with with_values, e.g. A.with_values(...) or the user's own): refactor only.
    const bool same = solver_.defined() && &solver_.matrix().plan() == &J.plan() &&
                      solver_.matrix().local_nnz() == J.local_nnz();
    if (same) {
      solver_.refactor(J.values().detach());
    } else {
      solver_ = DistSolver(J.detach(), lin_);
    }
    auto run = [&] {
      return solver_.solve3(b.reshape({1, -1, 1}), adjoint, si).reshape(b.sizes());
    };
    auto x = run();
    if (!si->converged && lin_.method == Method::Auto && solver_.method() == Method::CG) {
      SolveOptions g = lin_;
      g.method = Method::GMRES;
      g.restart = std::max<int64_t>(g.restart, 50);
      solver_ = DistSolver(J.detach(), g);  // symmetric, not definite: GMRES from here on
      x = run();
    }
    if (name) *name = to_string(solver_.method()) + "+" + solver_.preconditioner();
    return x;
  }

 private:
  SolveOptions lin_;
  DistSolver solver_;
};

}  // namespace

NonlinearOptions nonlinear_options(const DistMatrix& like, NonlinearOptions opt,
                                   const DistJacobianFn& jacobian) {
  DSLA_CHECK_ARG(like.defined(), "like", "is an empty distributed matrix");
  auto op = detail::make_operator(like, false);
  // The operator owns the space; the aliasing pointer keeps it alive as long as the options.
  opt.space = std::shared_ptr<const VectorSpace>(op, &op->space());
  if (jacobian) {
    auto state = std::make_shared<DistAssembled>(opt.linear);
    opt.linear_step = [state, jacobian](const at::Tensor& u, const at::Tensor& b, bool adjoint,
                                        SolveInfo* si, std::string* name) {
      return state->solve(jacobian(u), b, adjoint, si, name);
    };
  }
  return opt;
}

}  // namespace dsla::dist
