// eigsh front end: argument checks, the choice of path, residuals recomputed on the original
// problem, EigenInfo.method naming the path. (sigma: the k eigenvalues nearest sigma; "SM" is
// sigma = 0.)
//
//   dense-eigh               automatic plan, n ≤ kDenseMax (256): a dense generalized eigh.
//   shift-invert(S)          sigma / SM, and (automatic plan) SA on an SPD A where this build
//                            factors on A's device (σ = 0, S = Cholesky, which also proves A
//                            SPD, so SA = SM): LOBPCG on M K M x = μ M x with K = (A − σM)⁻¹
//                            through the Solver S (M-self-adjoint: LOBPCG with B = M); the
//                            largest μ give the λ = σ + 1/μ nearest σ. When A − σM is not
//                            known definite (Cholesky, or Gershgorin discs ≥ 0), LOBPCG runs
//                            on (K M)² instead, whose largest eigenvalues are the largest |μ|
//                            of either sign, and a Rayleigh–Ritz step on (A, M) follows. (Two
//                            one-sided LOBPCG runs did this before; for an SPD A behind an
//                            iterative inner solver, the μ < 0 run chased the cluster of tiny
//                            μ = 1/λ_max… until maxiter: 78 s on 494_bus. Arnoldi on K M, tried
//                            too, needs single-vector solves: 3-4x slower with MINRES.)
//   lobpcg[+P]               otherwise: LOBPCG on A (SA / LA; LM: both sides, the k of largest
//                            |λ| kept) with the preconditioner P named by the user, or
//                            (automatic plan) AMG for SA on an SPD-looking A (Jacobi when AMG
//                            cannot be set up) where no factorization is available.
// The automatic plan is the default: precond left "auto", no block, no X0, no inner solver
// named. Setting any of them runs LOBPCG / shift-invert as configured, as before the plan.
// Its LOBPCG runs on A stop on residuals relative to the Ritz values (down to a rounding
// floor), like shift-invert: tol then bounds the eigenvalues' relative error, not tol·‖A‖.
#include <ATen/ATen.h>
#include <dsla/errors.h>
#include <dsla/ops.h>

#include "solve/eigen/eigen_internal.h"
#include "solve/make_preconditioner.h"
#include "solve/precond/preconditioner.h"
#include "solve/solver_internal.h"

namespace dsla::detail {
namespace {

// Largest n solved densely by the automatic plan. Measured on the 2-core VM (docs/
// DESIGN-as-built.md, "Eigensolvers"; k = 4, poisson2d and SuiteSparse SPD matrices): dense
// eigh 1.3 ms at n = 100, 6.5 ms at 225, 27 ms at 400, 50 ms at 494; shift-invert (Cholesky)
// and LOBPCG + AMG 5-9 ms at n ≤ 225, 9-16 ms at 400, 10-45 ms up to 1,600. Dense is exact and
// cannot stall on a cluster; it costs as much as the iterative paths near n = 250.
constexpr int64_t kDenseMax = 256;

SparseMatrix identity_like(const SparseMatrix& A) {
  const int64_t n = A.rows();
  auto io = at::TensorOptions().dtype(at::kLong).device(A.device());
  return SparseMatrix::from_csr(at::arange(n + 1, io), at::arange(n, io),
                                at::ones({n}, A.values().options().requires_grad(false)), {n, n},
                                /*check=*/false);
}

double inf_norm(const SparseMatrix& A) {
  return A.detach().norm("inf").item<double>();
}

// Gershgorin bounds (lo, hi) of a symmetric matrix's spectrum.
std::pair<double, double> gershgorin(const SparseMatrix& A) {
  auto Ad = A.detach();
  auto d = at::real(Ad.diagonal());
  auto off = at::real(Ad.with_values(Ad.values().abs()).row_sums()) - d.abs();
  return {(d - off).min().item<double>(), (d + off).max().item<double>()};
}

// A full, real, positive diagonal: necessary for SPD, and what makes AMG / Jacobi SPD.
bool spd_looking(const SparseMatrix& A) {
  if (!A.pattern()->has_full_diagonal()) return false;
  auto d = A.detach().diagonal();
  if (d.is_complex()) {
    if ((at::imag(d).abs() > 0).any().item<bool>()) return false;
    d = at::real(d);
  }
  return (d > 0).all().item<bool>();
}

eigen::BlockOp block_op(std::shared_ptr<const LinearOperator> T) {
  return [T](const at::Tensor& X) {
    auto x3 = X.unsqueeze(0).contiguous();
    auto y = at::empty_like(x3);
    T->apply(x3, y);
    return y.squeeze(0);
  };
}

// One set of candidate pairs: eigenvalues λ of the original problem, vectors, converged flags.
struct Candidates {
  at::Tensor lam, U, conv;
};

}  // namespace

std::tuple<at::Tensor, at::Tensor> eigsh_nograd(const SparseMatrix& A, int64_t k,
                                                const EigenOptions& opt, const SparseMatrix* M,
                                                EigenInfo* info_out) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  TORCH_CHECK_NOT_IMPLEMENTED(!A.is_batched(),
                              "dsla: eigsh: batched matrices are not supported; "
                              "loop over the batch members");
  DSLA_CHECK_ARG(A.rows() == A.cols(), "A", "must be square; got ", A.rows(), " x ", A.cols());
  const int64_t n = A.rows();
  DSLA_CHECK_ARG(k >= 1 && k < n, "k", "must be in [1, n - 1] = [1, ", n - 1, "]; got ", k,
                 " (use torch.linalg.eigh on A.to_dense() for the full spectrum)");
  const std::string which = opt.which.empty() ? "SA" : opt.which;
  DSLA_CHECK_ARG(which == "SA" || which == "LA" || which == "SM" || which == "LM", "which",
                 "must be 'SA', 'LA', 'SM' or 'LM'; got '", which, "'");
  DSLA_CHECK_ARG(opt.tol > 0, "tol", "must be positive; got ", opt.tol);
  DSLA_CHECK_ARG(opt.block >= 0, "block", "must be >= 0 (0: automatic); got ", opt.block);
  if (M) {
    DSLA_CHECK_ARG(M->defined() && !M->is_batched(), "M", "must be a non-batched matrix");
    DSLA_CHECK_ARG(M->rows() == n && M->cols() == n, "M", "must be ", n, " x ", n, "; got ",
                   M->rows(), " x ", M->cols());
    DSLA_CHECK_ARG(M->dtype() == A.dtype() && M->device() == A.device(), "M",
                   "must have A's dtype and device");
  }
  if (opt.X0.defined())
    DSLA_CHECK_ARG(opt.X0.dim() == 2 && opt.X0.size(0) == n, "X0", "must be [n, m]; got ",
                   opt.X0.sizes());
  const bool auto_precond = opt.precond == "auto" || opt.precond.empty();
  const bool auto_plan = auto_precond && !opt.precond_op && opt.block == 0 && !opt.X0.defined() &&
                         opt.solver.method == Method::Auto;
  auto options = A.values().options().requires_grad(false);
  const double anorm = inf_norm(A);
  const double bnorm = M ? inf_norm(*M) : 1.0;
  auto Aop = matrix_block_op(A);
  eigen::BlockOp Bop = M ? matrix_block_op(*M) : eigen::BlockOp();
  auto X0 = opt.X0.defined() ? opt.X0.to(options) : at::Tensor();

  c10::optional<double> sigma = opt.sigma;
  if (!sigma && which == "SM") sigma = 0.0;
  std::vector<Candidates> cands;
  int64_t iterations = 0;
  std::string method;
  auto inner_name = std::make_shared<std::string>();
  eigen::LobpcgProblem P;
  P.n = n;
  P.options = options;
  P.B = Bop;
  P.bnorm = bnorm;
  // LOBPCG on P; its eigenvalues μ become λ = map(μ).
  auto run = [&](bool largest, const std::function<at::Tensor(const at::Tensor&)>& map) {
    auto r = eigen::lobpcg(P, k, largest, X0, opt.tol, opt.maxiter, opt.block, opt.seed);
    iterations += r.iterations;
    cands.push_back({map(r.values), r.vectors, r.residuals <= opt.tol});
  };
  auto same = [](const at::Tensor& mu) { return mu; };

  // Automatic plan, SA on an SPD A with a factorization for the device: shift-invert at 0
  // (Cholesky is the SPD test: if it fails, A is not SPD and SA ≠ SM).
  Solver S;
  eigen::BlockOp K;
  if (auto_plan && n > kDenseMax && !sigma && which == "SA" && direct_available(A.device()) &&
      spd_looking(A)) {
    SolveOptions so = opt.solver;
    so.method = Method::Cholesky;
    try {
      K = inner_op(A.detach(), so, InnerKind::Symmetric, "eigsh", inner_name, false, &S);
      sigma = 0.0;
    } catch (const std::exception&) {
      inner_name->clear();  // not SPD: LOBPCG below
    }
  }

  if (auto_plan && n <= kDenseMax) {
    P.A = Aop;
    auto [theta, C] = eigen::dense_eigh(P);
    at::Tensor keep;
    if (sigma)
      keep = std::get<1>((theta - *sigma).abs().sort(/*stable=*/true, 0, false)).slice(0, 0, k);
    else if (which == "LM")
      keep = eigen::select(theta, "LM", k);
    else if (which == "LA")
      keep = at::arange(n - k, n, theta.options().dtype(at::kLong));
    else
      keep = at::arange(k, theta.options().dtype(at::kLong));
    cands.push_back({theta.index_select(0, keep), C.index_select(1, keep),
                     at::ones({k}, at::TensorOptions().dtype(at::kBool))});
    method = "dense-eigh";
  } else if (sigma) {
    const double s = *sigma;
    auto Sh = add(A.detach(), M ? M->detach() : identity_like(A), 1.0, -s);
    // Inner solver: direct where this build has one for the device (Cholesky when A − σM is
    // SPD, else LU), else an iterative plan with a tight rtol (see solver_internal.h).
    if (!K) K = inner_op(Sh, opt.solver, InnerKind::Symmetric, "eigsh", inner_name, false, &S);
    method = "shift-invert(" + *inner_name + ")";
    const bool definite = S.method() == Method::Cholesky || gershgorin(Sh).first >= 0;
    auto r = eigen::shift_invert(P, K, Aop, s, definite, k, X0, opt.tol, opt.maxiter, opt.block,
                                 opt.seed);
    iterations += r.iterations;
    cands.push_back({r.values, r.vectors, r.converged});
  } else {
    P.A = Aop;
    P.anorm = anorm;
    if (auto_plan) {
      // Converge relative to the wanted eigenvalues, as shift-invert does, not to ‖A‖: the
      // backward error tol·‖A‖ allows an error of tol·‖A‖/λ relative to λ, 3e-8 · 1e-8 … 30 %
      // on bcsstk08. Floor: tol·scale ≥ 1e3·ε·‖A‖, above what rounding in A x leaves.
      const bool dbl = c10::toRealValueType(A.values().scalar_type()) == at::kDouble;
      const double eps = dbl ? 2.3e-16 : 1.2e-7;
      P.anorm = 0;
      P.anorm_floor = std::min(anorm, 1e3 * eps * anorm / opt.tol);
    }
    std::string pc = auto_precond ? "none" : opt.precond;
    if (auto_plan && which == "SA" && spd_looking(A) && !direct_available(A.device())) pc = "amg";
    method = "lobpcg";
    if (opt.precond_op) {
      P.T = block_op(opt.precond_op);
      method += "+user";
    } else if (pc != "none") {
      precond::Options po;
      po.kind = pc;
      std::shared_ptr<const precond::Preconditioner> T;
      try {
        T = precond::make_preconditioner(A.detach(), po);
      } catch (const std::exception&) {
        if (!auto_plan) throw;
        po.kind = pc = "jacobi";  // automatic AMG that cannot be set up on this matrix
        T = precond::make_preconditioner(A.detach(), po);
      }
      if (T) {
        P.T = block_op(T);
        method += "+" + pc;
      }
    }
    // LM: Gershgorin bounds skip a side with no eigenvalues (e.g. semidefinite A).
    auto [glo, ghi] = gershgorin(A);
    if (which == "SA" || (which == "LM" && glo < 0)) run(false, same);
    if (which == "LA" || (which == "LM" && ghi > 0)) run(true, same);
  }
  // Merge the candidates, then keep k by `which` (nearest σ for shift-invert).
  std::vector<at::Tensor> lams, vecs, conv;
  for (auto& c : cands) {
    lams.push_back(c.lam);
    vecs.push_back(c.U);
    conv.push_back(c.conv.cpu());
  }
  auto lam = at::cat(lams);
  auto U = at::cat(vecs, 1);
  auto cv = at::cat(conv);
  at::Tensor keep;
  if (sigma)
    keep = eigen::select(lam - *sigma, "SM", k);
  else if (which == "LM")
    keep = eigen::select(lam, "LM", k);
  else
    keep = at::arange(k, lam.options().dtype(at::kLong));
  lam = lam.index_select(0, keep);
  U = U.index_select(1, keep);
  cv = cv.index_select(0, keep.cpu());
  auto order = std::get<1>(lam.sort(/*stable=*/true, 0, false));
  lam = lam.index_select(0, order);
  U = normalize_phase(U.index_select(1, order));
  cv = cv.index_select(0, order.cpu());
  // Backward errors on the original problem.
  auto AU = Aop(U);
  auto MU = M ? Bop(U) : U;
  auto R = AU - MU * lam.to(U.scalar_type()).unsqueeze(0);
  auto res = (at::linalg_vector_norm(R, 2, {0}).to(at::kDouble) /
              ((anorm + lam.abs().to(at::kDouble) * bnorm) *
               at::linalg_vector_norm(U, 2, {0}).to(at::kDouble))
                  .clamp_min(1e-300))
                 .cpu();
  int64_t nconv = at::logical_or(cv, res <= opt.tol).sum().item<int64_t>();
  EigenInfo info;
  info.inner_solver = *inner_name;
  info.method = method;
  const std::string what = "eigsh (" + method + ")";
  finish(info, k, nconv, iterations, res, opt, what.c_str());
  if (info_out) *info_out = std::move(info);
  return {lam, U};
}

}  // namespace dsla::detail
