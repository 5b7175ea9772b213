// dsla::Solver: method selection, the prepared factorization(s) or preconditioner, and the
// solve itself on canonical [B, n, k] shapes.
#include <dsla/solve.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "core/products.h"
#include "solve/direct/factorization.h"
#include "solve/krylov/krylov.h"
#include "solve/make_preconditioner.h"
#include "solve/precond/preconditioner.h"
#include "solve/solver_internal.h"

namespace dsla {

namespace {

double now() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

constexpr int64_t kDirectMaxRows = 200000;

bool positive_real_diagonal(const SparseMatrix& A) {
  if (!A.pattern()->has_full_diagonal()) return false;
  auto d = A.diagonal();
  if (d.is_complex()) {
    if ((at::imag(d).abs() > 0).any().item<bool>()) return false;
    d = at::real(d);
  }
  return (d > 0).all().item<bool>();
}

bool nonzero_diagonal(const SparseMatrix& A) {
  return A.pattern()->has_full_diagonal() && (A.diagonal() != 0).all().item<bool>();
}

direct::Kind kind_of(Method m) {
  return m == Method::Cholesky ? direct::Kind::Cholesky
         : m == Method::LDLT   ? direct::Kind::LDLT
                               : direct::Kind::LU;
}

}  // namespace

struct Solver::Impl {
  SparseMatrix A;  // detached
  SolveOptions opt;
  Method method = Method::Auto;
  std::string precond_name = "none";
  bool empty = false;
  // direct
  std::vector<std::unique_ptr<direct::Factorization>> facts;
  // iterative
  LinearOperatorPtr op;
  precond::PreconditionerPtr M;
  std::shared_ptr<const precond::Preconditioner> M_adj;
  LinearOperatorPtr user_M;
  double anorm = 0.0;
  double setup_time = 0.0;
  int64_t version = 0;

  void factorize_all(Method m) {
    const int64_t B = A.batch_size();
    facts.clear();
    if (A.is_batched() && B > 1 && direct::batched_available(A.device())) {
      // cuDSS: the whole batch in one factorization (one analysis, one call per phase).
      auto f = direct::make_factorization(A.pattern(), kind_of(m), A.dtype(), opt.ordering, B);
      f->factorize(A.values());
      facts.push_back(std::move(f));
      return;
    }
    for (int64_t i = 0; i < B; ++i) {
      auto f = direct::make_factorization(A.pattern(), kind_of(m), A.dtype(), opt.ordering);
      f->factorize(A.is_batched() ? A.values().select(0, i) : A.values());
      facts.push_back(std::move(f));
    }
  }

  void setup_direct(bool auto_pick) {
    if (!auto_pick) {
      factorize_all(method);
      return;
    }
    // Auto: Cholesky when A looks SPD (symmetric, positive diagonal), LU when that fails.
    if (A.is_symmetric(1e-12) && positive_real_diagonal(A)) {
      try {
        method = Method::Cholesky;
        factorize_all(method);
        return;
      } catch (const SingularMatrixError&) {
        // not positive definite after all: LU below
      }
    }
    method = Method::LU;
    factorize_all(method);
  }

  void setup_precond() {
    M.reset();
    M_adj.reset();
    if (opt.M) {
      user_M = opt.M;
      precond_name = "user";
      return;
    }
    std::string kind = opt.precond;
    if (kind == "auto") {
      if (method == Method::LSQR || method == Method::LSMR) {
        kind = "none";
      } else if (method == Method::CG || method == Method::MINRES) {
        kind = positive_real_diagonal(A) ? "jacobi" : "none";
      } else {
        kind = nonzero_diagonal(A) ? "jacobi" : "none";
      }
    }
    DSLA_CHECK_ARG(kind == "none" || (method != Method::LSQR && method != Method::LSMR), "precond",
                   to_string(method),
                   " takes no preconditioner (it solves the normal equations implicitly); use "
                   "precond='none'");
    precond_name = kind;
    if (kind == "none") return;
    precond::Options po;
    po.kind = kind;
    po.block_size = opt.precond_block_size;
    po.omega = opt.precond_omega;
    po.degree = opt.precond_degree;
    M = precond::make_preconditioner(A, po);
    if (M) {
      precond_name = M->name();
      M_adj = M->adjoint();
    }
  }

  void setup() {
    const double t0 = now();
    const bool square = A.rows() == A.cols();
    empty = A.rows() == 0 || A.cols() == 0;
    Method m = opt.method;
    const bool auto_pick = m == Method::Auto;
    if (auto_pick) {
      if (!square || opt.damp > 0) {
        m = Method::LSQR;  // damp: a regularized least-squares problem
      } else if (!opt.M && (opt.precond == "auto" || opt.precond == "none") &&
                 A.rows() <= kDirectMaxRows && direct::available(direct::Kind::LU, A.device())) {
        // CPU: SuiteSparse; CUDA: cuDSS (when this build has it).
        m = Method::LU;  // refined below (Cholesky when SPD)
      } else if (A.is_symmetric(1e-12) && positive_real_diagonal(A)) {
        m = Method::CG;
      } else {
        m = Method::GMRES;
      }
    }
    method = m;
    if (!square) {
      DSLA_CHECK_ARG(m == Method::LSQR || m == Method::LSMR, "method", to_string(m),
                     " needs a square matrix, A is ", A.rows(), " x ", A.cols(),
                     "; use method='lsqr' or 'lsmr' for least squares");
    }
    if (!empty) {
      if (is_direct(m)) {
        setup_direct(auto_pick);
        precond_name = "none";
      } else {
        op = make_operator(A);
        setup_precond();
        if (m == Method::LSQR || m == Method::LSMR) anorm = A.norm("fro").max().item<double>();
      }
    }
    setup_time = now() - t0;
  }

  at::Tensor solve_direct(const at::Tensor& b3, bool adjoint) const {
    const int64_t B = std::max(b3.size(0), A.batch_size());
    if (facts.size() == 1 && facts[0]->batch_size() > 1) {
      return facts[0]->solve(b3, adjoint).to(A.dtype());  // [B, n, k] in one call
    }
    std::vector<at::Tensor> xs;
    for (int64_t i = 0; i < B; ++i) {
      const auto& f = facts[facts.size() == 1 ? 0 : i];
      auto bi = b3.select(0, b3.size(0) == 1 ? 0 : i);
      xs.push_back(f->solve(bi, adjoint).to(A.dtype()));
    }
    return at::stack(xs, 0);
  }
};

namespace {

int64_t safe_batch(const SparseMatrix& A, const at::Tensor& b3) {
  return std::max(A.batch_size(), b3.size(0));
}

SparseMatrix adjoint_matrix(const SparseMatrix& A) {
  return A.is_complex() ? A.conj_transpose() : A.transpose();
}

}  // namespace

Solver::Solver(const SparseMatrix& A, const SolveOptions& opt) : impl_(std::make_shared<Impl>()) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  DSLA_CHECK_ARG(opt.rtol >= 0 && std::isfinite(opt.rtol), "rtol", "must be finite and >= 0, got ",
                 opt.rtol);
  DSLA_CHECK_ARG(opt.atol >= 0 && std::isfinite(opt.atol), "atol", "must be finite and >= 0, got ",
                 opt.atol);
  DSLA_CHECK_ARG(opt.restart >= 1, "restart", "must be >= 1, got ", opt.restart);
  DSLA_CHECK_ARG(opt.maxiter >= -1, "maxiter", "must be >= 0 (or -1 for the default), got ",
                 opt.maxiter);
  DSLA_CHECK_ARG(opt.damp >= 0 && std::isfinite(opt.damp), "damp", "must be finite and >= 0, got ",
                 opt.damp);
  DSLA_CHECK_ARG(opt.damp == 0 || opt.method == Method::LSQR || opt.method == Method::LSMR ||
                     opt.method == Method::Auto,
                 "damp",
                 "regularizes least squares (min ‖A x − b‖² + damp² ‖x‖²): use it with "
                 "method='lsqr' or 'lsmr', got method='",
                 to_string(opt.method), "'");
  DSLA_CHECK_ARG(opt.damp == 0 || !opt.x0.defined(), "x0",
                 "with damp > 0 the problem min ‖A x − b‖² + damp² ‖x‖² is solved from x = 0 "
                 "(a start elsewhere solves another problem); leave x0 unset");
  DSLA_CHECK_ARG(opt.check_every >= 0, "check_every",
                 "must be >= 1 (or 0 for the device's default), got ", opt.check_every);
  DSLA_CHECK_ARG(opt.precond_degree >= 1, "degree", "Chebyshev degree must be >= 1, got ",
                 opt.precond_degree);
  DSLA_CHECK_ARG(opt.precond_block_size >= 0, "block_size",
                 "must be >= 1 (or 0 for automatic), got ", opt.precond_block_size);
  if (opt.precond != "auto") precond::check_kind(opt.precond);
  // A named preconditioner with a direct method would be silently unused: refuse it. (With
  // method 'auto' a named preconditioner asks for an iterative method: see setup().)
  DSLA_CHECK_ARG(
      !is_direct(opt.method) || ((opt.precond == "auto" || opt.precond == "none") && !opt.M),
      "precond", "method '", to_string(opt.method),
      "' is a direct factorization and takes no preconditioner (got ",
      opt.M ? std::string("a user M") : "'" + opt.precond + "'",
      "); use precond='auto' or 'none', or an iterative method");
  if (opt.M) {
    DSLA_CHECK_ARG(opt.M->rows() == A.rows() && opt.M->cols() == A.rows(), "M",
                   "preconditioner shape ", opt.M->rows(), " x ", opt.M->cols(),
                   " does not match A (", A.rows(), " x ", A.cols(), ")");
  }
  if (A.nnz() > 0) check_finite(A.values().detach(), "A.values");
  A_ = A;
  impl_->A = A.detach();
  impl_->opt = opt;
  impl_->setup();
}

const SparseMatrix& Solver::matrix() const {
  TORCH_CHECK_VALUE(defined(), "dsla: the Solver is empty (default-constructed)");
  return A_;
}
Method Solver::method() const {
  return impl_->method;
}
std::string Solver::preconditioner() const {
  return impl_->precond_name;
}
std::string Solver::factorization() const {
  return impl_->facts.empty() ? std::string() : impl_->facts.front()->name();
}
const SolveOptions& Solver::options() const {
  return impl_->opt;
}
double Solver::setup_time() const {
  return impl_->setup_time;
}
int64_t Solver::version() const {
  return impl_->version;
}

Solver Solver::adjoint() const {
  TORCH_CHECK_VALUE(defined(), "dsla: the Solver is empty (default-constructed)");
  Solver s;
  s.impl_ = impl_;
  s.A_ = adjoint_matrix(A_);
  s.adjoint_ = !adjoint_;
  return s;
}

Solver Solver::detached() const {
  Solver s = *this;
  if (s.A_.defined()) s.A_ = s.A_.detach();
  return s;
}

void Solver::refactor(const at::Tensor& values) {
  TORCH_CHECK_VALUE(defined(), "dsla: the Solver is empty (default-constructed)");
  DSLA_CHECK_ARG(!adjoint_, "self", "refactor the original Solver, not its adjoint() view");
  const auto& old = impl_->A.values();
  DSLA_CHECK_ARG(values.sizes() == old.sizes(), "values", "shape ", values.sizes(),
                 " does not match the Solver's values ", old.sizes(),
                 " (refactor keeps the pattern; build a new Solver for another pattern)");
  DSLA_CHECK_TYPE(values.scalar_type() == old.scalar_type(), "values", "dtype ",
                  values.scalar_type(), " does not match the Solver's ", old.scalar_type());
  DSLA_CHECK_ARG(values.device() == old.device(), "values", "is on ", values.device(),
                 " but the Solver is on ", old.device());
  if (values.numel() > 0) check_finite(values.detach(), "values");
  const double t0 = now();
  A_ = A_.with_values(values);
  auto& I = *impl_;
  I.A = A_.detach();
  I.version += 1;
  if (!I.empty) {
    if (is_direct(I.method)) {
      for (int64_t i = 0; i < static_cast<int64_t>(I.facts.size()); ++i) {
        const bool whole = I.facts[i]->batch_size() > 1;  // a uniform-batch factorization
        I.facts[i]->factorize(I.A.is_batched() && !whole ? I.A.values().select(0, i)
                                                         : I.A.values());
      }
    } else {
      I.op = make_operator(I.A);
      if (I.M) {
        I.M->update(I.A);
        I.M_adj = I.M->adjoint();
      }
      if (I.method == Method::LSQR || I.method == Method::LSMR)
        I.anorm = I.A.norm("fro").max().item<double>();
    }
  }
  I.setup_time = now() - t0;
}

namespace detail {

void check_mixed_precision_method(Method m) {
  DSLA_CHECK_TYPE(m == Method::Auto || m == Method::CG, "b",
                  "is torch.float64 and A torch.float32: mixed precision runs method='cg' (got '",
                  to_string(m), "'); convert A with A.to(torch.float64) for other methods");
}

Rhs normalize_rhs(const SparseMatrix& A, const at::Tensor& b, bool adjoint, const char* arg) {
  DSLA_CHECK_ARG(b.defined(), arg, "is undefined");
  // torch.float32 values with a torch.float64 b is mixed precision (solve3 checks the method).
  DSLA_CHECK_TYPE(b.scalar_type() == A.dtype() || is_mixed_precision(A.dtype(), b.scalar_type()),
                  arg, "dtype ", b.scalar_type(), " does not match the matrix dtype ", A.dtype(),
                  "; convert one of them (e.g. ", arg, ".to(", A.dtype(),
                  ")); torch.float32 values with a torch.float64 b solve in mixed precision");
  DSLA_CHECK_ARG(b.device() == A.device(), arg, "is on device ", b.device(),
                 " but the matrix is on device ", A.device(), "; move one of them");
  const int64_t n = adjoint ? A.cols() : A.rows();
  const int64_t m = adjoint ? A.rows() : A.cols();
  const int64_t B = A.batch_size();
  const bool batched = A.is_batched();
  Rhs r;
  if (b.dim() == 1) {
    DSLA_CHECK_ARG(b.size(0) == n, arg, "has length ", b.size(0), ", expected ", n);
    r.b3 = b.reshape({1, n, 1});
    r.x_shape = batched ? std::vector<int64_t>{B, m} : std::vector<int64_t>{m};
  } else if (b.dim() == 2 && batched && b.size(0) == B && b.size(1) == n) {
    r.b3 = b.unsqueeze(-1);
    r.x_shape = {B, m};
  } else if (b.dim() == 2) {
    DSLA_CHECK_ARG(b.size(0) == n, arg, "has shape ", b.sizes(), ", expected [", n, "] or [", n,
                   ", k]", batched ? " or [B, n] with B = " + std::to_string(B) : std::string());
    r.b3 = b.unsqueeze(0);
    r.x_shape =
        batched ? std::vector<int64_t>{B, m, b.size(1)} : std::vector<int64_t>{m, b.size(1)};
  } else {
    DSLA_CHECK_ARG(b.dim() == 3 && batched && b.size(0) == B && b.size(1) == n, arg, "has shape ",
                   b.sizes(), "; expected [n], [n, k]",
                   batched ? ", [B, n] or [B, n, k] with B = " + std::to_string(B)
                           : std::string(" (a batch of right-hand sides needs batched values)"),
                   " and n = ", n);
    r.b3 = b;
    r.x_shape = {B, m, b.size(2)};
  }
  if (b.numel() > 0) {
    DSLA_CHECK_ARG(at::isfinite(b.detach()).all().item<bool>(), arg,
                   "contains NaN or Inf; a solve with non-finite data has no meaningful answer");
  }
  return r;
}

at::Tensor solve3(const Solver& s, const at::Tensor& b3_in, bool adjoint, SolveInfo* info_out,
                  bool force_warn) {
  TORCH_CHECK_VALUE(s.defined(), "dsla: the Solver is empty (default-constructed)");
  const auto& I = *s.impl_for_internal();
  const double t0 = now();
  const bool adj = adjoint != s.is_adjoint();  // relative to the stored (original) matrix
  const SparseMatrix& A = I.A;
  const int64_t B = safe_batch(A, b3_in);
  const int64_t m = adj ? A.rows() : A.cols();
  const int64_t k = b3_in.size(2);
  SolveInfo info;
  info.method = I.method;
  info.preconditioner = I.precond_name;
  info.setup_time = I.setup_time;
  at::Tensor b3 = b3_in.detach().expand({B, b3_in.size(1), k}).contiguous();
  const bool mixed = is_mixed_precision(A.dtype(), b3.scalar_type());
  if (mixed) {
    // Mixed precision (torch.float32 values, torch.float64 vectors) is Jacobi-preconditioned
    // or plain CG: the fused steps read the float32 values and do every product and sum in
    // float64 (the matrix solved is exactly the stored float32 one). Other methods and
    // preconditioners would need float64 copies of their operators or factors: refused by name.
    check_mixed_precision_method(I.method);
    DSLA_CHECK_TYPE(!I.user_M && (!I.M || I.M->jacobi_inverse_diagonal().defined()), "b",
                    "is torch.float64 and A torch.float32: mixed precision takes "
                    "precond='jacobi' or 'none' (got '",
                    I.precond_name,
                    "'); convert A with A.to(torch.float64) for this preconditioner");
  }
  at::Tensor x;
  // x0 (forward solves only: the adjoint solve of backward starts from zero).
  at::Tensor x0;
  if (I.opt.x0.defined() && !adjoint && !is_direct(I.method)) {
    auto r = normalize_rhs(s.matrix(), I.opt.x0, /*adjoint=*/true, "x0");
    DSLA_CHECK_ARG(r.b3.size(2) == k, "x0", "has ", r.b3.size(2), " columns but b has ", k);
    // In b's dtype: mixed precision iterates in float64 whatever x0's (float32 widens exactly).
    x0 = r.b3.detach().to(b3.scalar_type()).expand({B, m, k});
  }
  if (I.empty) {
    x = at::zeros({B, m, k}, b3.options());
    info.residuals = at::zeros({B, k}, at::kDouble);
    info.status = Status::Converged;
    info.converged = true;
    info.message = "empty system";
  } else if (is_direct(I.method)) {
    x = I.solve_direct(b3, adj);
    auto op = make_operator(adj ? adjoint_matrix(A) : A);
    const auto& sp = op->space();
    auto bn = sp.norm(b3);
    auto tol = at::clamp_min(bn * I.opt.rtol, I.opt.atol);
    auto resid = [&] {
      auto r = b3 - krylov::apply(*op, x);
      return std::make_pair(r, sp.norm(r));
    };
    auto [r, rn] = resid();
    info.iterations = 1;
    if ((rn > tol).any().item<bool>()) {  // one step of iterative refinement
      x = x + I.solve_direct(r.contiguous(), adj);
      std::tie(r, rn) = resid();
      info.iterations = 2;
    }
    auto rel = at::where(bn > 0, rn.to(at::kDouble) / at::where(bn > 0, bn, at::ones_like(bn)),
                         rn.to(at::kDouble));
    info.residuals = rel.squeeze(1).cpu();
    info.residual = info.residuals.numel() ? info.residuals.max().item<double>() : 0.0;
    const bool finite = std::isfinite(info.residual);
    const bool ok = (rn <= tol).all().item<bool>();
    info.status = !finite ? Status::NotFinite : ok ? Status::Converged : Status::Inaccurate;
    info.converged = info.status == Status::Converged;
    std::ostringstream msg;
    msg << to_string(I.method) << (info.converged ? " solved" : " solve is inaccurate")
        << " (relative residual " << info.residual << ")";
    if (!info.converged)
      msg << "; the matrix is nearly singular or badly scaled for rtol " << I.opt.rtol;
    info.message = msg.str();
  } else {
    // CG and MINRES assume A = Aᴴ: the adjoint solve reuses the operator.
    const bool hermitian = I.method == Method::CG || I.method == Method::MINRES;
    auto op = (adj && !hermitian) ? make_operator(adjoint_matrix(A)) : I.op;
    krylov::Problem P;
    P.A = op.get();
    P.opt = &I.opt;
    P.least_squares = I.method == Method::LSQR || I.method == Method::LSMR;
    P.anorm = I.anorm;
    P.x_is_zero = !x0.defined();
    if (I.user_M) {
      LinearOperatorPtr um = I.user_M;
      // CG and MINRES need a Hermitian M: the adjoint solve reuses it (a callable M has no
      // adjoint of its own); other methods apply Mᴴ.
      if (adj && !hermitian) {
        um = make_operator(
            I.user_M->rows(), I.user_M->cols(), I.user_M->dtype(), I.user_M->device(),
            [u = I.user_M](const at::Tensor& x_, at::Tensor& y_) { u->apply_adjoint(x_, y_); });
      }
      P.M = um.get();
      x = x0.defined() ? x0.contiguous().clone() : at::zeros({B, m, k}, b3.options());
      krylov::run(I.method, P, b3, x, info);
    } else {
      const precond::Preconditioner* M = adj ? I.M_adj.get() : I.M.get();
      P.M = M;
      if (M) P.dinv = M->jacobi_inverse_diagonal();
      // Mixed precision: the Jacobi diagonal (from the float32 values) works in float64; a
      // uniform one stays one broadcast value (jacobi.cpp; at 1e9 rows a vector is 8 GB).
      if (mixed && P.dinv.defined()) {
        const auto& d = P.dinv;
        P.dinv = d.size(1) > 1 && d.stride(1) == 0
                     ? d.narrow(1, 0, 1).to(at::kDouble).expand(d.sizes())
                     : d.to(at::kDouble);
      }
      x = x0.defined() ? x0.contiguous().clone() : at::zeros({B, m, k}, b3.options());
      krylov::run(I.method, P, b3, x, info);
    }
  }
  info.solve_time = now() - t0;
  if (!info.converged) {
    if (I.opt.raise_on_failure) throw SolveError("dsla: " + info.message);
    if (I.opt.warn || force_warn)
      TORCH_WARN("dsla: ", force_warn ? "adjoint solve in backward: " : "", info.message);
  }
  if (info_out) *info_out = std::move(info);
  return x;
}

}  // namespace detail

at::Tensor Solver::solve(const at::Tensor& b, SolveInfo* info) const {
  auto r = detail::normalize_rhs(matrix(), b, false, "b");
  c10::AutoGradMode no_grad(false);
  return detail::solve3(*this, r.b3, false, info).reshape(r.x_shape);
}

at::Tensor Solver::solve_adjoint(const at::Tensor& b, SolveInfo* info) const {
  auto r = detail::normalize_rhs(matrix(), b, true, "b");
  c10::AutoGradMode no_grad(false);
  return detail::solve3(*this, r.b3, true, info).reshape(r.x_shape);
}

}  // namespace dsla
