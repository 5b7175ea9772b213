// DistSolver: a Krylov solve of a distributed matrix through the one implementation of each
// method (src/solve/krylov) on the distributed operator, with rank-local preconditioners.
//
// Every decision is taken from reduced values, so it is the same on every rank: the method for
// "auto" (a symmetry probe and the diagonal's sign, all-reduced), the preconditioner for "auto",
// the default maxiter (10 N from the global N, not the local rows). Rank-local setup that can
// fail (a factorization of the diagonal block) goes through local_step, so a failure on one rank
// raises on all of them.
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "dist/dist_internal.h"
#include "dist/halo_plan.h"
#include "dist/ras.h"
#include "solve/krylov/halo_blocks.h"
#include "solve/krylov/krylov.h"
#include "solve/make_preconditioner.h"
#include "solve/precond/common.h"
#include "solve/precond/preconditioner.h"

namespace dsla::dist {

namespace detail {

// All ranks: is every diagonal entry positive and real (pos) / nonzero (nz)?
void diagonal_facts(const DistMatrix& A, bool& pos, bool& nz) {
  const auto& D = A.diag();
  int64_t f[2] = {1, 1};
  if (A.n_owned() > 0) {
    if (!D.pattern()->has_full_diagonal()) {
      f[0] = f[1] = 0;
    } else {
      auto d = D.diagonal().detach();
      bool real = true;
      if (d.is_complex()) {
        real = !(at::imag(d).abs() > 0).any().item<bool>();
        d = at::real(d);
      }
      f[0] = real && (d > 0).all().item<bool>();
      f[1] = (d != 0).all().item<bool>();
    }
  }
  auto t = at::tensor({1 - f[0], 1 - f[1]}, at::kLong);  // any rank failing -> 1
  A.comm().allreduce_max_(t);
  pos = t[0].item<int64_t>() == 0;
  nz = t[1].item<int64_t>() == 0;
}

// Local: are this rank's stored values finite? Block by block: A.values() would be a copy of
// every stored value (56 bytes per row of a 3-D share, alive at the solve's peak on the twin).
bool values_finite(const DistMatrix& A) {
  auto finite = [](const SparseMatrix& M) {
    return M.nnz() == 0 || at::isfinite(M.values().detach()).all().item<bool>();
  };
  return finite(A.diag()) && finite(A.offd());
}

// All ranks: A = Aᴴ, probed with a random vector (by global row, so every layout draws alike):
// ‖A v − Aᴴ v‖ ≤ 1e-10 ‖A v‖. Aᴴ v by a scatter: the probe leaves no transpose cached on A (on
// a 250M-row share that was 116 bytes per row for the life of the matrix).
bool probably_hermitian(const DistMatrix& A, const LinearOperator& op) {
  // To the device as they are, converted there (a host conversion of 250M ids takes longer
  // than their copy): n_owned sin and cos on the device.
  auto ids = A.owned().to(A.device()).to(at::kDouble);
  auto v = at::sin(ids * 0.7071 + 0.3).add_(at::cos(ids * 0.37)).to(A.dtype());
  auto v3 = v.view({1, -1, 1});
  const int64_t B = A.batch_size();
  auto y1 = at::empty({B, A.n_owned(), 1}, v3.options());
  auto y2 = at::empty_like(y1);
  A.apply(v3, y1);
  apply_adjoint_uncached(A, v3, y2);
  const auto& sp = op.space();
  auto d = sp.norm(y1 - y2), n = sp.norm(y1);
  return (d <= n * 1e-10).all().item<bool>();
}

}  // namespace detail

using detail::diagonal_facts;
using detail::probably_hermitian;

namespace {

double now() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// The owned slice of an initial guess as [B', n_owned, k] (B' in {1, B}), checked on every rank
// and agreed on; undefined when x0 is.
at::Tensor initial_guess(const DistMatrix& A, const at::Tensor& x0_in, int64_t B, int64_t k) {
  const auto& C = A.comm();
  const bool given = x0_in.defined();
  C.check_same(static_cast<int64_t>(given), "x0", "whether an initial guess is given");
  if (!given) return {};
  const int64_t n = A.n_owned();
  at::Tensor x0 = x0_in.detach();
  if (x0.dim() == 1) {
    x0 = x0.reshape({1, -1, 1});
  } else if (x0.dim() == 2 && A.is_batched() && x0.size(0) == A.batch_size() && x0.size(1) == n) {
    x0 = x0.unsqueeze(-1);
  } else if (x0.dim() == 2) {
    x0 = x0.unsqueeze(0);
  }
  std::string err;
  std::ostringstream m;
  if (x0.dim() != 3 || x0.size(1) != n || x0.size(2) != k || (x0.size(0) != 1 && x0.size(0) != B)) {
    m << "argument 'x0': has shape " << x0_in.sizes() << "; expected b's shape, this rank's owned "
      << "slice of " << n << " rows and " << k << " column(s)";
  } else if (x0.scalar_type() != A.dtype()) {
    m << "argument 'x0': dtype " << x0.scalar_type() << " does not match the matrix dtype "
      << A.dtype();
  } else if (x0.device() != A.device()) {
    m << "argument 'x0': is on " << x0.device() << " but the matrix is on " << A.device();
  } else if (x0.numel() > 0 && !at::isfinite(x0).all().item<bool>()) {
    m << "argument 'x0': contains NaN or Inf";
  }
  err = m.str();
  C.agree(err.empty(), err);
  return x0;
}

std::string kind_list() {
  return "'none', 'auto', 'jacobi', 'chebyshev', 'amg', 'block_jacobi', 'block_jacobi:<local "
         "kind>', "
         "'ras' or 'ras:<local kind>' (ilu0, ic0, ssor, sgs, amg, jacobi, ...)";
}

}  // namespace

struct DistSolver::Impl {
  DistMatrix A;  // detached
  SolveOptions opt;
  Method method = Method::Auto;
  std::string precond_name = "none";
  LinearOperatorPtr op, op_adj;
  precond::PreconditionerPtr M;
  std::shared_ptr<const precond::Preconditioner> M_adj;
  // A user preconditioner on owned slices (SolveOptions::M) and its adjoint, each apply agreed
  // on by every rank (an error in one rank's callable stops all of them, none hangs).
  LinearOperatorPtr user_M, user_M_adj;
  // precond="amg": the hierarchy this solver built (refactor updates it).
  std::shared_ptr<DistAmg> amg;
  // Restricted additive Schwarz (ras.h): operators on owned slices, collectives.
  detail::Ras ras;
  precond::Options ras_local;
  double anorm = 0.0, setup_time = 0.0;
  int64_t version = 0;

  void compute_anorm() {
    auto v = A.values().detach();
    auto s = (v.is_complex() ? at::real(v * v.conj()) : v * v).to(at::kDouble);
    auto f = s.dim() == 2 ? s.sum(-1) : s.sum().view({1});
    A.comm().allreduce_sum_(f);
    anorm = f.sqrt().max().item<double>();
  }

  void setup_precond() {
    std::string kind = opt.precond;
    if (opt.M) {
      setup_user_precond();
      return;
    }
    if (kind == "auto") {
      if (method == Method::LSQR || method == Method::LSMR) {
        kind = "none";
      } else {
        bool pos, nz;
        diagonal_facts(A, pos, nz);
        const bool herm = method == Method::CG || method == Method::MINRES;
        kind = (herm ? pos : nz) ? "jacobi" : "none";
      }
    }
    DSLA_CHECK_ARG(kind == "none" || (method != Method::LSQR && method != Method::LSMR), "precond",
                   to_string(method),
                   " takes no preconditioner (it solves the normal equations implicitly); use "
                   "precond='none'");
    precond_name = kind;
    if (kind == "none") return;
    if (kind == "chebyshev") {
      setup_chebyshev();
      return;
    }
    if (kind == "amg") {
      amg = DistAmg::build(A);
      user_M = user_M_adj = amg->as_operator();
      return;
    }
    if (kind == "ras" || kind.rfind("ras:", 0) == 0) {
      setup_ras(kind);
      return;
    }
    std::string local;
    if (kind == "jacobi") {
      local = "jacobi";
    } else if (kind == "block_jacobi") {
      local = "ilu0";
    } else if (kind.rfind("block_jacobi:", 0) == 0) {
      local = kind.substr(13);
      precond::check_kind(local, "precond");
      DSLA_CHECK_ARG(local != "none" && local != "auto", "precond",
                     "block_jacobi needs a local "
                     "preconditioner kind after the colon, got '",
                     local, "'");
    } else {
      DSLA_CHECK_ARG(false, "precond", "'", kind,
                     "' is not available for distributed matrices; "
                     "use ",
                     kind_list(),
                     " (block_jacobi:<kind> applies <kind> to each rank's diagonal block)");
    }
    precond::Options po;
    po.kind = local;
    po.block_size = opt.precond_block_size;
    po.omega = opt.precond_omega;
    po.degree = opt.precond_degree;
    // A rank that owns no rows has nothing to precondition (its slices are empty).
    detail::local_step(A.comm(), [&] {
      if (A.n_owned() == 0) return;
      M = precond::make_preconditioner(A.diag(), po);
      M_adj = M ? M->adjoint() : nullptr;
    });
    // Named by kind, not by M->name(): a local setup detail (an ilu0 shift on one rank) must not
    // make SolveInfo differ across ranks.
    precond_name = kind == "jacobi" ? "jacobi" : "block_jacobi(" + local + ")";
  }

  // The one Chebyshev of src/solve/precond on the distributed operator: its spectral estimate
  // reduces across ranks and its products exchange halos, so setup and every apply are
  // collectives and every rank holds the same polynomial.
  void setup_chebyshev() {
    bool pos = false, nz = false;
    diagonal_facts(A, pos, nz);
    DSLA_CHECK_ARG(pos, "precond",
                   "'chebyshev' needs a real positive diagonal on every rank (it targets "
                   "Hermitian positive definite matrices); use precond='jacobi' or "
                   "'block_jacobi'");
    auto d = A.diag().diagonal().detach();
    auto dinv = (d.dim() == 1 ? d.view({1, -1, 1}) : d.unsqueeze(-1)).reciprocal().contiguous();
    precond::Options po;
    po.kind = "chebyshev";
    po.degree = opt.precond_degree;
    M = precond::detail::make_chebyshev(A.diag(), op, dinv, po, probably_hermitian(A, *op));
    M_adj = M->adjoint();
  }

  void setup_ras(const std::string& kind) {
    const std::string local = kind == "ras" ? "ilu0" : kind.substr(4);
    precond::check_kind(local, "precond");
    DSLA_CHECK_ARG(local != "none" && local != "auto", "precond",
                   "ras needs a local preconditioner kind after the colon, got '", local, "'");
    DSLA_CHECK_ARG(method != Method::CG && method != Method::MINRES, "precond",
                   "'ras' is not symmetric (it keeps only the owned part of each overlapped "
                   "solve), so ",
                   to_string(method),
                   " cannot use it; use method='gmres' or 'bicgstab' with 'ras', or "
                   "precond='block_jacobi' with ",
                   to_string(method));
    ras_local = precond::Options();
    ras_local.kind = local;
    ras_local.block_size = opt.precond_block_size;
    ras_local.omega = opt.precond_omega;
    ras_local.degree = opt.precond_degree;
    ras = detail::make_ras(A, ras_local);
    precond_name = "ras(" + local + ")";
  }

  void setup_user_precond() {
    const auto& C = A.comm();
    const int64_t n = A.n_owned();
    if (const DistAmg* h = detail::dist_amg_of(*opt.M)) {
      // A distributed AMG built by the caller: collective already, no agreement wrapper.
      C.agree(h->matrix().n_owned() == n && h->matrix().rows() == A.rows(),
              "argument 'M': the AMG hierarchy was built for another distributed matrix (its "
              "rows differ from A's on this rank)");
      DSLA_CHECK_ARG(method != Method::LSQR && method != Method::LSMR, "M", to_string(method),
                     " takes no preconditioner; leave M unset");
      user_M = user_M_adj = opt.M;
      precond_name = "amg";
      return;
    }
    std::string err;
    if (opt.M->rows() != n || opt.M->cols() != n) {
      std::ostringstream m;
      m << "argument 'M': the preconditioner is " << opt.M->rows() << " x " << opt.M->cols()
        << " but this rank owns " << n
        << " rows; a distributed M maps this rank's owned slice to an owned slice";
      err = m.str();
    } else if (opt.M->dtype() != A.dtype() || opt.M->device() != A.device()) {
      std::ostringstream m;
      m << "argument 'M': works on " << opt.M->dtype() << " on " << opt.M->device()
        << " but the matrix is " << A.dtype() << " on " << A.device();
      err = m.str();
    }
    C.agree(err.empty(), err);
    DSLA_CHECK_ARG(method != Method::LSQR && method != Method::LSMR, "M", to_string(method),
                   " takes no preconditioner (it solves the normal equations implicitly); leave "
                   "M unset");
    auto agreed = [C, n, dtype = A.dtype(), device = A.device()](LinearOperatorPtr u, bool adj) {
      return make_operator(n, n, dtype, device, [C, u, adj](const at::Tensor& x, at::Tensor& y) {
        detail::local_step(C, [&] {
          if (adj) {
            u->apply_adjoint(x, y);
          } else {
            u->apply(x, y);
          }
        });
      });
    };
    user_M = agreed(opt.M, false);
    user_M_adj = agreed(opt.M, true);
    precond_name = "user";
  }

  void setup() {
    const double t0 = now();
    op = detail::make_operator(A, false);
    Method m = opt.method;
    DSLA_CHECK_ARG(!is_direct(m), "method", "'", to_string(m),
                   "' is a direct factorization; distributed matrices have Krylov methods only "
                   "(cg, bicgstab, gmres, fgmres, minres, lsqr, lsmr)");
    if (m == Method::Auto) {
      bool pos, nz;
      diagonal_facts(A, pos, nz);
      m = pos && probably_hermitian(A, *op) ? Method::CG : Method::GMRES;
    }
    method = m;
    setup_precond();
    if (m == Method::LSQR || m == Method::LSMR) compute_anorm();
    setup_time = now() - t0;
  }
};

DistSolver::DistSolver(const DistMatrix& A, const SolveOptions& opt)
    : impl_(std::make_shared<Impl>()) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) distributed matrix");
  DSLA_CHECK_ARG(opt.rtol >= 0 && std::isfinite(opt.rtol), "rtol", "must be finite and >= 0, got ",
                 opt.rtol);
  DSLA_CHECK_ARG(opt.atol >= 0 && std::isfinite(opt.atol), "atol", "must be finite and >= 0, got ",
                 opt.atol);
  DSLA_CHECK_ARG(opt.restart >= 1, "restart", "must be >= 1, got ", opt.restart);
  DSLA_CHECK_ARG(opt.maxiter >= -1, "maxiter", "must be >= 0 (or -1 for the default), got ",
                 opt.maxiter);
  // The values must be finite on every rank (agreed: a NaN on one rank must stop them all).
  const auto& C = A.comm();
  const bool finite = detail::values_finite(A);
  C.agree(finite, "argument 'A.values': contains NaN or Inf on this rank");
  A_ = A;
  impl_->A = A.detach();
  impl_->opt = opt;
  if (impl_->opt.maxiter < 0) impl_->opt.maxiter = std::max<int64_t>(100, 10 * A.rows());
  impl_->setup();
}

const DistMatrix& DistSolver::matrix() const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistSolver is empty (default-constructed)");
  return A_;
}
Method DistSolver::method() const {
  return impl_->method;
}
std::string DistSolver::preconditioner() const {
  return impl_->precond_name;
}

double DistSolver::setup_time() const {
  return impl_->setup_time;
}
int64_t DistSolver::version() const {
  return impl_->version;
}
DistSolver DistSolver::detached() const {
  DistSolver s = *this;
  if (s.A_.defined()) s.A_ = s.A_.detach();
  return s;
}

void DistSolver::refactor(const at::Tensor& values) {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistSolver is empty (default-constructed)");
  auto& I = *impl_;
  const auto& C = I.A.comm();
  const auto old = I.A.values();
  std::string err;
  if (!values.defined() || values.sizes() != old.sizes()) {
    std::ostringstream m;
    m << "argument 'values': shape " << (values.defined() ? values.sizes() : at::IntArrayRef{})
      << " does not match this rank's values " << old.sizes()
      << " (refactor keeps the pattern: A.values's layout)";
    err = m.str();
  } else if (values.scalar_type() != old.scalar_type()) {
    std::ostringstream m;
    m << "argument 'values': dtype " << values.scalar_type() << " does not match the solver's "
      << old.scalar_type();
    err = m.str();
  } else if (values.device() != old.device()) {
    std::ostringstream m;
    m << "argument 'values': is on " << values.device() << " but the solver is on " << old.device();
    err = m.str();
  } else if (values.numel() > 0 && !at::isfinite(values.detach()).all().item<bool>()) {
    err = "argument 'values': contains NaN or Inf on this rank";
  }
  C.agree(err.empty(), err);
  const double t0 = now();
  A_ = A_.with_values(values);
  I.A = A_.detach();
  I.version += 1;
  I.op = detail::make_operator(I.A, false);
  I.op_adj.reset();
  if (I.amg) {
    I.amg->update(I.A);  // collective: values and value exchanges only
  } else if (I.precond_name == "chebyshev") {
    I.setup_chebyshev();  // collective: the spectral estimate of the new values
  } else if (I.ras.forward) {
    I.ras = detail::make_ras(I.A, I.ras_local);  // collective: the ghost rows' new values
  } else {
    detail::local_step(C, [&] {
      if (I.M) {
        I.M->update(I.A.diag());
        I.M_adj = I.M->adjoint();
      }
    });
  }
  if (I.method == Method::LSQR || I.method == Method::LSMR) I.compute_anorm();
  I.setup_time = now() - t0;
}

at::Tensor DistSolver::solve3(const at::Tensor& b3_in, bool adjoint, SolveInfo* info_out,
                              bool force_warn) const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistSolver is empty (default-constructed)");
  auto& I = *impl_;
  const auto& A = I.A;
  const auto& C = A.comm();
  // Shapes and finiteness, agreed on.
  std::string err;
  if (b3_in.dim() != 3 || b3_in.size(1) != A.n_owned()) {
    std::ostringstream m;
    m << "argument 'b': has shape " << b3_in.sizes() << " but this rank owns " << A.n_owned()
      << " rows; pass the owned slice (b[A.owned])";
    err = m.str();
  } else if (b3_in.scalar_type() != A.dtype()) {
    std::ostringstream m;
    m << "argument 'b': dtype " << b3_in.scalar_type() << " does not match the matrix dtype "
      << A.dtype();
    err = m.str();
  } else if (b3_in.device() != A.device()) {
    std::ostringstream m;
    m << "argument 'b': is on " << b3_in.device() << " but the matrix is on " << A.device();
    err = m.str();
  } else if (b3_in.numel() > 0 && !at::isfinite(b3_in.detach()).all().item<bool>()) {
    err =
        "argument 'b': contains NaN or Inf; a solve with non-finite data has no meaningful "
        "answer";
  }
  C.agree(err.empty(), err);
  C.check_same(b3_in.size(2), "b", "the number of right-hand sides");
  C.check_same(b3_in.size(0), "b", "the batch size");
  const double t0 = now();
  const int64_t B = std::max(A.batch_size(), b3_in.size(0));
  const int64_t k = b3_in.size(2);
  auto b3 = b3_in.detach().expand({B, A.n_owned(), k}).contiguous();
  SolveInfo info;
  info.method = I.method;
  info.preconditioner = I.precond_name;
  info.setup_time = I.setup_time;
  const bool hermitian = I.method == Method::CG || I.method == Method::MINRES;
  LinearOperatorPtr op = I.op;
  if (adjoint && !hermitian) {
    if (!I.op_adj) I.op_adj = detail::make_operator(A, true);
    op = I.op_adj;
  }
  krylov::Problem P;
  P.A = op.get();
  P.opt = &I.opt;
  P.least_squares = I.method == Method::LSQR || I.method == Method::LSMR;
  P.anorm = I.anorm;
  if (I.ras.forward) {
    P.M = adjoint ? I.ras.adjoint.get() : I.ras.forward.get();
  } else if (I.user_M) {
    // CG and MINRES need a Hermitian M: the adjoint solve reuses it.
    P.M = adjoint && !hermitian ? I.user_M_adj.get() : I.user_M.get();
  } else {
    const precond::Preconditioner* M = adjoint ? I.M_adj.get() : I.M.get();
    P.M = M;
    if (M) P.dinv = M->jacobi_inverse_diagonal();
  }
  // CG on CUDA: the device's fused steps multiply by the blocks themselves and exchange the halo
  // between their kernels (cg_fused_cuda.cpp); they decline what they do not handle (complex,
  // several right-hand sides, callbacks), and the generic steps run through op->apply().
  // DSLA_DIST_CG=generic keeps the generic steps (benchmarks compare the two).
  krylov::HaloBlocks halo;
  static const bool generic_cg = [] {
    const char* e = std::getenv("DSLA_DIST_CG");
    return e != nullptr && std::string(e) == "generic";
  }();
  if (!generic_cg && I.method == Method::CG && A.device().is_cuda()) {
    const auto& plan = A.plan();
    halo.diag = &A.diag();
    halo.offd = &A.offd();
    halo.n_interior = A.n_interior();
    halo.n_ghost = A.n_ghost();
    halo.send_idx = plan.send_idx.to(A.device()).contiguous();
    halo.exchange = [&plan](const at::Tensor& send, at::Tensor& ghost) {
      auto reqs = std::make_shared<std::vector<Comm::Request>>();
      exchange(plan, send, plan.send_ranks, plan.send_off, ghost, plan.recv_ranks, plan.recv_off,
               14, *reqs);
      return std::function<void()>([reqs, &plan] {
        for (auto& r : *reqs) plan.comm.wait(r);
      });
    };
    P.halo = &halo;
  }
  // x0: forward solves only (the adjoint solve of backward starts from zero).
  at::Tensor x0 = adjoint ? at::Tensor() : initial_guess(A, I.opt.x0, B, k);
  P.x_is_zero = !x0.defined();
  auto x = x0.defined() ? x0.expand({B, A.n_owned(), k}).clone(at::MemoryFormat::Contiguous)
                        : at::zeros({B, A.n_owned(), k}, b3.options());
  {
    c10::AutoGradMode no_grad(false);
    krylov::run(I.method, P, b3, x, info);
  }
  info.solve_time = now() - t0;
  if (!info.converged) {
    if (I.opt.raise_on_failure) throw SolveError("dsla: " + info.message);
    if ((I.opt.warn || force_warn) && C.rank() == 0)
      TORCH_WARN("dsla: ", force_warn ? "adjoint solve in backward: " : "", info.message);
  }
  if (info_out) *info_out = std::move(info);
  return x;
}

}  // namespace dsla::dist
