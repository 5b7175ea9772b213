// eigsh front end: argument checks, `which` and shift-invert mapped onto LOBPCG runs, residuals
// recomputed on the original problem.
//   SA / LA   LOBPCG directly (with the preconditioner).
//   LM        SA and LA runs, the k of largest |λ| kept.
//   sigma     M K M x = μ M x with K = (A − σM)⁻¹ through a Solver (M-self-adjoint, so LOBPCG
//             applies with B = M); the largest |μ| (LA and SA runs) are the λ = σ + 1/μ nearest σ.
//   SM        sigma = 0.
#include <ATen/ATen.h>
#include <dsla/errors.h>
#include <dsla/ops.h>

#include "solve/eigen/eigen_internal.h"
#include "solve/make_preconditioner.h"
#include "solve/precond/preconditioner.h"
#include "solve/solver_internal.h"

namespace dsla::detail {
namespace {

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

struct Run {
  eigen::LobpcgResult r;
  at::Tensor mu;  // eigenvalues of the operator that was run
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
  auto options = A.values().options().requires_grad(false);
  const double anorm = inf_norm(A);
  const double bnorm = M ? inf_norm(*M) : 1.0;
  auto Aop = matrix_block_op(A);
  eigen::BlockOp Bop = M ? matrix_block_op(*M) : eigen::BlockOp();
  auto X0 = opt.X0.defined() ? opt.X0.to(options) : at::Tensor();

  c10::optional<double> sigma = opt.sigma;
  if (!sigma && which == "SM") sigma = 0.0;
  std::vector<Run> runs;
  int64_t iterations = 0;
  auto inner_name = std::make_shared<std::string>();
  auto run = [&](const eigen::LobpcgProblem& P, bool largest) {
    Run r;
    r.r = eigen::lobpcg(P, k, largest, X0, opt.tol, opt.maxiter, opt.block, opt.seed);
    r.mu = r.r.values;
    iterations += r.r.iterations;
    runs.push_back(std::move(r));
  };
  eigen::LobpcgProblem P;
  P.n = n;
  P.options = options;
  P.B = Bop;
  P.bnorm = bnorm;
  if (sigma) {
    auto Sh = add(A.detach(), M ? M->detach() : identity_like(A), 1.0, -*sigma);
    // Inner solver: direct where this build has one for the device (Cholesky when A − σM is
    // SPD, else LU), else MINRES with a tight rtol (A − σM is symmetric indefinite in general).
    Solver S;
    auto K = inner_op(Sh, opt.solver, InnerKind::Symmetric, "eigsh", inner_name, false, &S);
    if (M) {
      P.A = [K, Bop](const at::Tensor& X) { return Bop(K(Bop(X))); };
    } else {
      P.A = K;
    }
    P.anorm = 0;  // largest |Ritz value| of the inverse
    P.bnorm = bnorm;
    run(P, true);
    // A − σM SPD (Cholesky succeeded, or Gershgorin discs in the closed right half-plane when
    // the inner solver is iterative): every μ > 0, the negative side has nothing to offer.
    // (An iterative inner solver cannot tell otherwise: then both runs, slower but exact.)
    if (S.method() != Method::Cholesky && gershgorin(Sh).first < 0) run(P, false);
  } else {
    P.A = Aop;
    P.anorm = anorm;
    if (opt.precond_op) {
      auto T = opt.precond_op;
      P.T = [T](const at::Tensor& X) {
        auto x3 = X.unsqueeze(0).contiguous();
        auto y = at::empty_like(x3);
        T->apply(x3, y);
        return y.squeeze(0);
      };
    } else if (opt.precond != "none" && !opt.precond.empty()) {
      precond::Options po;
      po.kind = opt.precond;
      std::shared_ptr<const precond::Preconditioner> T =
          precond::make_preconditioner(A.detach(), po);
      if (T) {
        P.T = [T](const at::Tensor& X) {
          auto x3 = X.unsqueeze(0).contiguous();
          auto y = at::empty_like(x3);
          T->apply(x3, y);
          return y.squeeze(0);
        };
      }
    }
    // LM: Gershgorin bounds skip a side with no eigenvalues (e.g. semidefinite A).
    auto [glo, ghi] = gershgorin(A);
    if (which == "SA" || (which == "LM" && glo < 0)) run(P, false);
    if (which == "LA" || (which == "LM" && ghi > 0)) run(P, true);
  }
  // Merge the runs: λ and vectors of every candidate, then keep k by `which`.
  std::vector<at::Tensor> lams, vecs, conv;
  for (auto& r : runs) {
    auto lam = sigma ? *sigma + 1.0 / r.mu : r.mu;
    lams.push_back(lam);
    vecs.push_back(r.r.vectors);
    conv.push_back(r.r.residuals <= opt.tol);
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
  finish(info, k, nconv, iterations, res, opt, "eigsh (LOBPCG)");
  if (info_out) *info_out = std::move(info);
  return {lam, U};
}

}  // namespace dsla::detail
