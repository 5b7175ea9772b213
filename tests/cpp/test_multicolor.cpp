// Multicolor sweeps (mc_sgs, mc_ssor, dilu) and the row coloring: the coloring is proper on
// symmetric and nonsymmetric patterns; each preconditioner equals the dense matrix of its
// definition in the coloring's order (L / U: entries whose column color is earlier / later);
// adjoints; batched values = per member; update() = a fresh build; AMG with these smoothers
// converges; CG iterations fall against Jacobi.
#include <dsla/amg.h>
#include <dsla/generators.h>
#include <dsla/ops.h>
#include <dsla/solve.h>
#include <dsla/structure.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <string>

#include "solve/make_preconditioner.h"
#include "solve/precond/preconditioner.h"
#include "solve/precond/smoothing.h"

namespace {

using dsla::SparseMatrix;
using dsla::precond::make_preconditioner;
using dsla::precond::Options;

at::Tensor dense_inverse(const dsla::precond::Preconditioner& P, int64_t B = 1, bool adj = false) {
  const int64_t n = P.rows();
  auto I = at::eye(n, at::TensorOptions().dtype(P.dtype())).unsqueeze(0).expand({B, n, n});
  auto y = at::empty({B, n, n}, I.options());
  adj ? P.apply_adjoint(I.contiguous(), y) : P.apply(I.contiguous(), y);
  return y;
}

void expect_close(const at::Tensor& a, const at::Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a - b).abs().max().item<double>();
  EXPECT_LE(err, tol * std::max(1.0, b.abs().max().item<double>())) << what << ": " << err;
}

// The dense M of a kind in the color order of A's coloring.
at::Tensor dense_m(const SparseMatrix& A, const std::string& kind, double w) {
  auto Ad = A.to_dense();
  auto c = dsla::color_rows(A).colors;
  auto cr = c.view({-1, 1}), cc = c.view({1, -1});
  auto zero = at::zeros_like(Ad);
  auto L = at::where(cc < cr, Ad, zero), U = at::where(cc > cr, Ad, zero);
  if (kind == "dilu") {
    const int64_t n = Ad.size(0);
    auto e = at::diagonal(Ad).clone();
    // e_i = a_ii − Σ_{color j < color i} a_ij a_ji / e_j, in color order.
    auto order = at::argsort(c);
    for (int64_t t = 0; t < n; ++t) {
      const int64_t i = order[t].item<int64_t>();
      auto s = at::zeros({}, Ad.options());
      for (int64_t j = 0; j < n; ++j)
        if (c[j].item<int64_t>() < c[i].item<int64_t>()) s = s + Ad[i][j] * Ad[j][i] / e[j];
      e[i] = Ad[i][i] - s;
    }
    auto E = at::diag(e);
    return at::matmul(at::matmul(E + L, at::linalg_inv(E)), E + U);
  }
  auto D = at::diag(at::diagonal(Ad));
  return at::matmul(at::matmul(D + w * L, at::linalg_inv(D)), D + w * U) / (w * (2 - w));
}

TEST(Multicolor, ColoringIsProper) {
  for (const auto& A :
       {dsla::poisson2d(20), dsla::poisson3d(7), dsla::random_sparse(60, 60, 0.08, 3),
        SparseMatrix::from_dense(at::eye(5, at::kDouble))}) {
    auto col = dsla::color_rows(A);
    auto r = A.pattern()->row().to(at::kLong), c = A.col_indices().to(at::kLong);
    auto off = r != c;
    EXPECT_FALSE((col.colors.index_select(0, r.masked_select(off)) ==
                  col.colors.index_select(0, c.masked_select(off)))
                     .any()
                     .item<bool>());
    EXPECT_EQ(col.colors.max().item<int64_t>() + 1, col.count);
    EXPECT_TRUE(at::equal(dsla::color_rows(A).colors, col.colors));  // cached, deterministic
  }
  EXPECT_LE(dsla::color_rows(dsla::poisson2d(64)).count, 16);
}

TEST(Multicolor, MatchesDefinition) {
  for (bool sym : {true, false}) {
    auto A = sym ? dsla::random_spd(40, 0.15, 4) : dsla::random_sparse(40, 40, 0.12, 4);
    for (const char* k : {"mc_sgs", "mc_ssor", "dilu"}) {
      if (std::string(k) == "dilu" && !sym) continue;  // needs a symmetric pattern
      Options o;
      o.kind = k;
      o.omega = std::string(k) == "mc_ssor" ? 1.3 : 1.0;
      auto P = make_preconditioner(A, o);
      auto Minv = at::linalg_inv(dense_m(A, k, o.omega)).unsqueeze(0);
      expect_close(dense_inverse(*P), Minv, 1e-11, std::string(k) + (sym ? " spd" : " general"));
      expect_close(dense_inverse(*P, 1, true), Minv.mH(), 1e-11, std::string(k) + " adjoint");
      EXPECT_EQ(sym, P->adjoint().get() == P.get());
    }
  }
  // A structurally nonsymmetric pattern: dilu refuses by name; omega outside (0, 2).
  Options o;
  o.kind = "dilu";
  EXPECT_THROW(make_preconditioner(dsla::random_sparse(30, 30, 0.1, 2), o), c10::ValueError);
  o.kind = "mc_ssor";
  o.omega = 2.5;
  EXPECT_THROW(make_preconditioner(dsla::poisson2d(5), o), c10::ValueError);
}

// Complex values take the ATen passes (the real ones the fused kernels): the same definitions.
TEST(Multicolor, ComplexMatchesDefinition) {
  auto R = dsla::random_spd(30, 0.15, 7).to_dense();
  auto mask = (R != 0).to(at::kDouble);
  auto S = at::triu(at::sin(at::arange(900, at::kDouble).view({30, 30})), 1) * mask * 0.2;
  auto H = SparseMatrix::from_dense(at::complex(R, S - S.t()));  // Hermitian positive definite
  auto G = SparseMatrix::from_dense(at::complex(R, at::cos(R) * mask * 0.3));  // general
  for (const auto& A : {H, G}) {
    for (const char* k : {"mc_sgs", "dilu"}) {
      Options o;
      o.kind = k;
      auto P = make_preconditioner(A, o);
      auto Minv = at::linalg_inv(dense_m(A, k, 1.0)).unsqueeze(0);
      expect_close(dense_inverse(*P), Minv, 1e-11, std::string("complex ") + k);
      expect_close(dense_inverse(*P, 1, true), Minv.mH(), 1e-11, std::string("complex adj ") + k);
    }
  }
}

// DILU of an SPD matrix can break down (dense coupling: a pivot <= 0); the preconditioner
// refuses by name, the AMG smoother falls back to mc_sgs on that level.
TEST(Multicolor, DiluBreakdown) {
  auto D = at::full({6, 6}, 0.45, at::kDouble) + at::eye(6, at::kDouble) * 0.55;  // SPD
  auto A = SparseMatrix::from_dense(D);
  Options o;
  o.kind = "dilu";
  EXPECT_THROW(make_preconditioner(A, o), c10::ValueError);
  auto S = dsla::precond::detail::make_multicolor_smoother(A, "dilu");
  EXPECT_EQ(S->name().rfind("mc_sgs", 0), 0u) << S->name();
  EXPECT_EQ(dsla::precond::detail::make_multicolor_smoother(dsla::poisson2d(6), "dilu")
                ->name()
                .rfind("dilu", 0),
            0u);
}

TEST(Multicolor, BatchedUpdateAndIterations) {
  auto A = dsla::poisson2d(24);
  const int64_t nnz = A.nnz();
  auto v2 =
      at::stack({A.values(), A.values() * 1.5 + (A.pattern()->row() == A.col_indices()) * 0.3});
  SparseMatrix B(A.pattern(), v2);
  for (const char* k : {"mc_sgs", "dilu"}) {
    Options o;
    o.kind = k;
    auto P = make_preconditioner(B, o);
    auto Pb = dense_inverse(*P, 2);
    for (int64_t m = 0; m < 2; ++m) {
      auto Pm = make_preconditioner(SparseMatrix(A.pattern(), v2[m]), o);
      expect_close(Pb.select(0, m), dense_inverse(*Pm).select(0, 0), 1e-12, k);
    }
    auto P2 = make_preconditioner(A, o);
    P2->update(SparseMatrix(A.pattern(), v2[1]));
    expect_close(dense_inverse(*P2).select(0, 0), Pb.select(0, 1), 1e-12, "update");
  }
  (void)nnz;
  // CG: fewer iterations than Jacobi; AMG with these smoothers converges.
  auto b = at::ones({A.rows()}, at::kDouble);
  auto iters = [&](const std::string& pc) {
    dsla::SolveOptions so;
    so.method = dsla::Method::CG;
    so.precond = pc;
    so.rtol = 1e-10;
    dsla::SolveInfo info;
    dsla::solve(A, b, so, &info);
    EXPECT_TRUE(info.converged) << pc;
    return info.iterations;
  };
  EXPECT_LT(iters("mc_sgs"), iters("jacobi"));
  EXPECT_LT(iters("dilu"), iters("jacobi"));
  for (const char* sm : {"mc_sgs", "dilu"}) {
    dsla::amg::AmgOptions ao;
    ao.smoother = sm;
    dsla::amg::AmgSolveInfo info;
    auto x = dsla::amg::solve(A, b, ao, 1e-10, 100, "cg", &info);
    EXPECT_TRUE(info.converged) << sm;
    EXPECT_LT(info.iterations, 30) << sm;
    EXPECT_LT((b - dsla::matmul(A, x)).norm().item<double>(), 1e-9 * b.norm().item<double>());
  }
}

}  // namespace
