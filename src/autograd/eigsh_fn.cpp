// Gradients of eigenpairs and singular values (DESIGN.md): with upstream gλ, gU
//   eigenvalues   ∂λᵢ/∂A[q] = uᵢ[row q] conj(uᵢ[col q]),  ∂λᵢ/∂M[q] = −λᵢ uᵢ[row q] conj(uᵢ[col q])
//   eigenvectors  (real, simple eigenvalues; partial spectrum) w solves the projected system
//                 (A − λM) w = (I − M u uᵀ) g, uᵀ M w = 0 (MINRES on Π(A − λM)Π, Π = I − ûûᵀ),
//                 then ∂L/∂A[q] = −w[row q] u[col q],
//                      ∂L/∂M[q] = λ w[row q] u[col q] − ½ (gᵀu) u[row q] u[col q].
//                 This is exact for a partial spectrum (no sum over the missing eigenvectors).
//                 Eigenvalues closer than degenerate_tol are deflated as a cluster, with a
//                 warning: only functions invariant under rotations inside the cluster (e.g.
//                 the cluster's projector) then have meaningful gradients.
//   singular values ∂σᵢ/∂A[q] = uᵢ[row q] conj(vᵢ[col q]);
//   singular vectors (real, simple σ) by the eigenvector rule on [[0, A], [Aᵀ, 0]] (below).
// The nodes keep the pairs and the index tensors: O(nnz + n k), one node per call.
#include <c10/core/GradMode.h>
#include <dsla/eigen.h>
#include <dsla/errors.h>
#include <dsla/ops.h>
#include <torch/autograd.h>

#include <cmath>

#include "solve/eigen/eigen_internal.h"

namespace dsla {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Σ_i X[row q, i] conj(Y[col q, i])
at::Tensor sampled(const at::Tensor& row, const at::Tensor& col, const at::Tensor& X,
                   const at::Tensor& Y) {
  return (X.index_select(0, row) * Y.index_select(0, col).conj()).sum(1);
}

bool any_nonzero(const at::Tensor& g) {
  return g.defined() && (g != 0).any().item<bool>();
}

// Projected solves for the eigenvector part; returns w [n, k] (zero columns where g is zero).
at::Tensor eigvec_adjoint(const SparseMatrix& A, const SparseMatrix* M, const at::Tensor& lam,
                          const at::Tensor& U, const at::Tensor& g, double dtol) {
  const int64_t n = U.size(0), k = U.size(1);
  // Clusters: Cm[j, i] = 1 when λ_j is within dtol (relative) of λ_i.
  auto scale = lam.abs().clamp_min(1.0);
  auto Cm = ((lam.unsqueeze(1) - lam.unsqueeze(0)).abs() <= dtol * scale.unsqueeze(0))
                .to(U.scalar_type());
  if ((Cm.sum(0) > 1).any().item<bool>()) {
    TORCH_WARN("dsla: eigsh backward: eigenvalues closer than degenerate_tol (", dtol,
               ") form clusters; their eigenvectors are not unique and only functions invariant "
               "under rotations inside a cluster have meaningful gradients");
  }
  auto MU = M ? dsla::matmul(*M, U) : U;
  // Euclidean orthonormal basis per cluster: Qt[:, j] orthonormal within j's cluster.
  at::Tensor Qt = U / at::linalg_vector_norm(U, 2, {0}).unsqueeze(0);
  if ((Cm.sum(0) > 1).any().item<bool>()) {
    Qt = U.clone();
    auto done = at::zeros({k}, at::kBool);
    auto Cmc = Cm.cpu();
    for (int64_t i = 0; i < k; ++i) {
      if (done[i].item<bool>()) continue;
      auto members = Cmc.select(1, i).nonzero().squeeze(1).to(U.device());
      auto Q = std::get<0>(at::linalg_qr(U.index_select(1, members)));
      Qt.index_copy_(1, members, Q);
      done.index_fill_(0, members.cpu(), true);
    }
  }
  auto proj = [Qt, Cm](const at::Tensor& x) { return x - Qt.matmul(Qt.mH().matmul(x) * Cm); };
  auto rhs = g - MU.matmul(U.mH().matmul(g) * Cm);
  rhs = proj(rhs);
  auto Ad = A.detach();
  c10::optional<SparseMatrix> Md;
  if (M) Md = M->detach();
  auto lamc = lam.to(U.scalar_type());
  auto op =
      make_operator(n, n, U.scalar_type(), U.device(),
                    [Ad, Md, lamc, proj](const at::Tensor& x3, at::Tensor& y3) {
                      c10::AutoGradMode ng(false);
                      auto x = proj(x3.squeeze(0));
                      auto Mx = Md ? dsla::matmul(*Md, x) : x;
                      y3.copy_(proj(dsla::matmul(Ad, x) - Mx * lamc.unsqueeze(0)).unsqueeze(0));
                    });
  SolveOptions so;
  so.method = Method::MINRES;
  so.precond = "none";
  so.rtol = 1e-10;
  so.warn = false;
  SolveInfo si;
  auto y = solve_operator(op, rhs, so, &si);
  if (!si.converged)
    TORCH_WARN("dsla: eigsh backward: the projected eigenvector solve did not converge (",
               si.message, "); eigenvector gradients are inaccurate");
  auto w = proj(y);
  w = w - U.matmul(MU.mH().matmul(w) * Cm);
  return w;
}

class EigshFunction : public torch::autograd::Function<EigshFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& va, const at::Tensor& vm,
                               const at::Tensor& lam, const at::Tensor& U, const SparseMatrix& A,
                               const SparseMatrix* M, double dtol) {
    ctx->set_materialize_grads(false);
    ctx->saved_data["has_m"] = M != nullptr;
    ctx->saved_data["dtol"] = dtol;
    ctx->saved_data["n"] = A.rows();
    std::vector<at::Tensor> s = {
        lam, U, va.detach(), A.crow_indices(), A.col_indices(), A.row_indices()};
    if (M) {
      s.push_back(vm.detach());
      s.push_back(M->crow_indices());
      s.push_back(M->col_indices());
      s.push_back(M->row_indices());
    }
    ctx->save_for_backward(s);
    return {lam.clone(), U.clone()};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto s = ctx->get_saved_variables();
    const bool has_m = ctx->saved_data["has_m"].toBool();
    const double dtol = ctx->saved_data["dtol"].toDouble();
    const int64_t n = ctx->saved_data["n"].toInt();
    const auto &lam = s[0], &U = s[1];
    // The saved CSR arrays came from validated matrices: rebuild without re-validating them.
    SparseMatrix A(Pattern::from_csr(s[3], s[4], n, n, /*check=*/false), s[2], /*check=*/false);
    c10::optional<SparseMatrix> M;
    if (has_m) M = SparseMatrix(Pattern::from_csr(s[7], s[8], n, n, false), s[6], false);
    const auto& rowA = s[5];
    const auto& colA = s[4];
    at::Tensor gA, gM;
    const auto& gl = grads[0];
    const auto& gU = grads[1];
    auto add = [](at::Tensor& acc, const at::Tensor& t) { acc = acc.defined() ? acc + t : t; };
    if (gl.defined()) {
      auto glc = gl.to(U.scalar_type()).unsqueeze(0);
      add(gA, sampled(rowA, colA, U * glc, U));
      if (has_m) add(gM, -sampled(s[9], s[8], U * (glc * lam.to(U.scalar_type())), U));
    }
    if (any_nonzero(gU)) {
      TORCH_CHECK_NOT_IMPLEMENTED(!U.is_complex(),
                                  "dsla: eigsh backward: eigenvector gradients "
                                  "of complex (Hermitian) problems are not implemented; "
                                  "differentiate the eigenvalues or use a real matrix");
      c10::AutoGradMode ng(false);
      auto w = eigvec_adjoint(A, M ? &*M : nullptr, lam, U, gU, dtol);
      add(gA, -sampled(rowA, colA, w, U));
      if (has_m) {
        auto gu = (gU * U).sum(0);  // gᵢᵀuᵢ
        add(gM, sampled(s[9], s[8], w * lam.unsqueeze(0), U) -
                    0.5 * sampled(s[9], s[8], U * gu.unsqueeze(0), U));
      }
    }
    return {gA, gM, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// Singular vectors (real A, simple singular values) through the symmetric augmented matrix
// H = [[0, A], [Aᵀ, 0]], whose eigenpairs are (σᵢ, zᵢ = [uᵢ; vᵢ] / √2): the eigenvector adjoint
// above on H with g_z = √2 [g_u; g_v] gives w, and A[q] sits at H[row q, n + col q] and
// H[n + col q, row q], so ∂L/∂A[q] = −Σᵢ (w[row q] zᵢ[n + col q] + w[n + col q] zᵢ[row q]).
// Exact for a partial set of triplets. Degenerate cases: singular values closer than
// degenerate_tol (their vectors are not unique: warning, cluster deflated), and σᵢ ≈ 0 (then
// −σᵢ, the eigenvalue of [uᵢ; −vᵢ], is as close as σᵢ itself: the gradient is ill-conditioned).
at::Tensor singular_vector_grad(const at::Tensor& row, const at::Tensor& col, const at::Tensor& va,
                                int64_t n, int64_t m, const at::Tensor& U, const at::Tensor& S,
                                const at::Tensor& V, const at::Tensor& gU, const at::Tensor& gV,
                                double dtol) {
  TORCH_CHECK_NOT_IMPLEMENTED(!U.is_complex(),
                              "dsla: svds backward: singular-vector gradients of complex "
                              "matrices are not implemented; differentiate the singular values");
  auto r = row.to(at::kLong), c = col.to(at::kLong) + n;
  auto H =
      SparseMatrix::from_coo(at::cat({r, c}), at::cat({c, r}), at::cat({va, va}), {n + m, n + m});
  const double rs2 = std::sqrt(0.5);
  auto Z = at::cat({U, V}, 0) * rs2;
  auto g =
      at::cat({gU.defined() ? gU : at::zeros_like(U), gV.defined() ? gV : at::zeros_like(V)}, 0) /
      rs2;
  auto w = eigvec_adjoint(H, nullptr, S, Z, g, dtol);
  return -(sampled(r, c, w, Z) + sampled(c, r, w, Z));
}

class SvdsFunction : public torch::autograd::Function<SvdsFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& va, const at::Tensor& U,
                               const at::Tensor& S, const at::Tensor& V, const SparseMatrix& A,
                               double dtol) {
    ctx->set_materialize_grads(false);
    ctx->saved_data["n"] = A.rows();
    ctx->saved_data["m"] = A.cols();
    ctx->saved_data["dtol"] = dtol;
    ctx->save_for_backward({U, V, A.row_indices(), A.col_indices(), S, va.detach()});
    return {U.clone(), S.clone(), V.clone()};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto s = ctx->get_saved_variables();
    at::Tensor g;
    if (grads[1].defined())
      g = sampled(s[2], s[3], s[0] * grads[1].to(s[0].scalar_type()).unsqueeze(0), s[1]);
    if (any_nonzero(grads[0]) || any_nonzero(grads[2])) {
      c10::AutoGradMode ng(false);
      auto gv = singular_vector_grad(s[2], s[3], s[5], ctx->saved_data["n"].toInt(),
                                     ctx->saved_data["m"].toInt(), s[0], s[4], s[1], grads[0],
                                     grads[2], ctx->saved_data["dtol"].toDouble());
      g = g.defined() ? g + gv : gv;
    }
    return {g, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// eigs results: not differentiable; backward through them raises instead of dropping a term.
class NoGradFunction : public torch::autograd::Function<NoGradFunction> {
 public:
  static variable_list forward(AutogradContext*, const at::Tensor&, const at::Tensor& a,
                               const at::Tensor& b) {
    return {a.clone(), b.clone()};
  }
  static variable_list backward(AutogradContext*, variable_list) {
    TORCH_CHECK_NOT_IMPLEMENTED(false,
                                "dsla: eigs results are not differentiable (nonsymmetric "
                                "eigenpair gradients need left eigenvectors); detach them, or "
                                "use eigsh for symmetric matrices");
    return {};
  }
};

bool wants_grad(const SparseMatrix& A) {
  return at::GradMode::is_enabled() && A.values().requires_grad();
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> eigsh(const SparseMatrix& A, int64_t k, const EigenOptions& opt,
                                         const SparseMatrix* M, EigenInfo* info) {
  auto [lam, U] = detail::eigsh_nograd(A, k, opt, M, info);
  if (!wants_grad(A) && !(M && wants_grad(*M))) return {lam, U};
  auto vm = M ? M->values() : at::zeros({0}, A.values().options().requires_grad(false));
  auto out = EigshFunction::apply(A.values(), vm, lam, U, A, M, opt.degenerate_tol);
  return {out[0], out[1]};
}

std::tuple<at::Tensor, at::Tensor> eigs(const SparseMatrix& A, int64_t k, const EigenOptions& opt,
                                        EigenInfo* info) {
  auto [lam, U] = detail::eigs_nograd(A, k, opt, info);
  if (!wants_grad(A)) return {lam, U};
  auto out = NoGradFunction::apply(A.values(), lam, U);
  return {out[0], out[1]};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> svds(const SparseMatrix& A, int64_t k,
                                                    const EigenOptions& opt, EigenInfo* info) {
  auto [U, S, V] = detail::svds_nograd(A, k, opt, info);
  if (!wants_grad(A)) return {U, S, V};
  auto out = SvdsFunction::apply(A.values(), U, S, V, A, opt.degenerate_tol);
  return {out[0], out[1], out[2]};
}

at::Tensor norm2(const SparseMatrix& A, const EigenOptions& opt, EigenInfo* info) {
  EigenOptions o = opt;
  o.which = "LM";
  return std::get<1>(svds(A, 1, o, info)).select(0, 0);
}

at::Tensor cond(const SparseMatrix& A, const EigenOptions& opt, EigenInfo* info) {
  DSLA_CHECK_ARG(A.defined() && A.rows() == A.cols(), "A", "cond needs a square matrix; got ",
                 A.rows(), " x ", A.cols());
  EigenOptions o = opt;
  o.which = "LM";
  EigenInfo i1, i2;
  auto smax = std::get<1>(svds(A, 1, o, &i1)).select(0, 0);
  o.which = "SM";
  auto smin = std::get<1>(svds(A, 1, o, &i2)).select(0, 0);
  if (info) {
    *info = i1;
    info->iterations += i2.iterations;
    info->converged = std::min(i1.converged, i2.converged);
    info->ok = i1.ok && i2.ok;
    info->residuals = at::cat({i1.residuals, i2.residuals});
    info->inner_solver = i2.inner_solver;
    info->method = i1.method + "; " + i2.method;
    info->message = i1.message + "; " + i2.message;
  }
  return smax / smin;
}

}  // namespace dsla
