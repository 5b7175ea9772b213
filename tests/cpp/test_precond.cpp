// Preconditioners: each kind against a dense reference built from its definition, symmetry,
// update() == fresh build, batched == per member, complex and float32, adjoints, bad input, and
// a PCG loop showing each SPD preconditioner cuts iterations.
#include <dsla/generators.h>
#include <dsla/io.h>
#include <dsla/ops.h>
#include <gtest/gtest.h>

#include "solve/make_preconditioner.h"
#include "solve/precond/common.h"
#include "solve/precond/preconditioner.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using dsla::SparseMatrix;
using dsla::precond::make_preconditioner;
using dsla::precond::Options;
using dsla::precond::PreconditionerPtr;

Options kind(const std::string& k) {
  Options o;
  o.kind = k;
  return o;
}

// M⁻¹ as a dense [B, n, n]: apply to the identity (k = n right-hand sides).
at::Tensor dense_inverse(const dsla::precond::Preconditioner& P, int64_t B = 1, bool adj = false) {
  const int64_t n = P.rows();
  auto I = at::eye(n, at::TensorOptions().dtype(P.dtype())).unsqueeze(0).expand({B, n, n});
  auto y = at::empty({B, n, n}, I.options());
  if (adj) {
    P.apply_adjoint(I.contiguous(), y);
  } else {
    P.apply(I.contiguous(), y);
  }
  return y;
}

void expect_close(const at::Tensor& a, const at::Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a - b).abs().max().item<double>();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  EXPECT_LE(err, tol * scale) << what << ": max error " << err;
}

SparseMatrix tridiagonal(int64_t n, at::ScalarType dtype = at::kDouble) {
  auto d = at::full({n}, 4.0, at::kDouble) + at::arange(n, at::kDouble) * 0.01;
  auto A = at::diag(d) - at::diag(at::full({n - 1}, 1.0, at::kDouble), 1) -
           at::diag(at::full({n - 1}, 1.3, at::kDouble), -1) * 0.0 -
           at::diag(at::full({n - 1}, 1.0, at::kDouble), -1);
  return SparseMatrix::from_dense(A.to(dtype));
}

// A nonsymmetric tridiagonal (ILU(0) is exact on it too).
SparseMatrix tridiagonal_general(int64_t n) {
  auto A = at::diag(at::full({n}, 4.0, at::kDouble)) -
           at::diag(at::full({n - 1}, 1.5, at::kDouble), 1) -
           at::diag(at::full({n - 1}, 0.5, at::kDouble), -1);
  return SparseMatrix::from_dense(A);
}

// Hermitian positive definite complex matrix on random_spd's pattern.
SparseMatrix complex_hpd(int64_t n) {
  auto R = dsla::random_spd(n, 0.1, 3).to_dense();
  auto mask = (R != 0).to(at::kDouble);
  auto S = at::triu(at::sin(at::arange(n * n, at::kDouble).view({n, n})), 1) * mask * 0.2;
  auto H = at::complex(R, S - S.t());
  return SparseMatrix::from_dense(H);
}

// A non-Hermitian complex matrix with a dominant diagonal.
SparseMatrix complex_general(int64_t n) {
  auto R = dsla::random_sparse(n, n, 0.1, 5).to_dense();
  auto I = at::cos(at::arange(n * n, at::kDouble).view({n, n})) * (R != 0).to(at::kDouble) * 0.3;
  return SparseMatrix::from_dense(at::complex(R, I));
}

const std::vector<std::string> kSpdKinds = {"jacobi", "block_jacobi", "sgs",
                                            "ssor",   "chebyshev",    "ic0"};
const std::vector<std::string> kAllKinds = {"jacobi",    "block_jacobi", "sgs", "ssor",
                                            "chebyshev", "ic0",          "ilu0"};

// ---- definitions ---------------------------------------------------------------------------

TEST(Precond, JacobiIsInverseDiagonal) {
  auto A = dsla::random_spd(40, 0.1, 1);
  auto P = make_preconditioner(A, kind("jacobi"));
  auto ref = at::diag(A.to_dense().diagonal().reciprocal()).unsqueeze(0);
  expect_close(dense_inverse(*P), ref, 1e-14, "jacobi");
  expect_close(P->jacobi_inverse_diagonal().view({1, -1}), A.diagonal().reciprocal().view({1, -1}),
               1e-14, "jacobi_inverse_diagonal");
  EXPECT_EQ(P->adjoint().get(), P.get());
  EXPECT_EQ(P->name(), "jacobi");
}

at::Tensor block_diag_inverse(const at::Tensor& D, int64_t b) {
  const int64_t n = D.size(0);
  auto out = at::zeros_like(D);
  for (int64_t s = 0; s < n; s += b) {
    const int64_t e = std::min(n, s + b);
    out.narrow(0, s, e - s)
        .narrow(1, s, e - s)
        .copy_(at::linalg_inv(D.narrow(0, s, e - s).narrow(1, s, e - s)));
  }
  return out;
}

TEST(Precond, BlockJacobiIsInverseOfDiagonalBlocks) {
  for (int64_t n : {48, 50}) {  // divisible by the block size, and with a partial last block
    for (int64_t b : {3, 4}) {
      auto A = dsla::random_spd(n, 0.2, 2);
      Options o = kind("block_jacobi");
      o.block_size = b;
      auto P = make_preconditioner(A, o);
      expect_close(dense_inverse(*P), block_diag_inverse(A.to_dense(), b).unsqueeze(0), 1e-12,
                   "block_jacobi n=" + std::to_string(n) + " b=" + std::to_string(b));
    }
  }
}

TEST(Precond, BlockJacobiAutoFindsNaturalBlocks) {
  // Kronecker product with a dense 3x3 block: every stored entry's 3x3 block is full.
  auto T = tridiagonal(10).to_dense();
  auto K = at::kron(T, at::ones({3, 3}, at::kDouble) + at::eye(3, at::kDouble) * 3);
  auto P = make_preconditioner(SparseMatrix::from_dense(K), kind("block_jacobi"));
  EXPECT_EQ(P->name(), "block_jacobi(3)");
  auto P2 = make_preconditioner(dsla::poisson2d(5), kind("block_jacobi"));
  EXPECT_EQ(P2->name(), "block_jacobi(4)");
}

// (D/ω + L)(D/ω)⁻¹(D/ω + U) ω/(2-ω) = 1/(ω(2-ω)) (D + ωL) D⁻¹ (D + ωU).
at::Tensor ssor_matrix(const at::Tensor& A, double w) {
  auto D = at::diag(A.diagonal());
  auto L = at::tril(A, -1), U = at::triu(A, 1);
  return at::matmul(at::matmul(D + w * L, at::linalg_inv(D)), D + w * U) / (w * (2 - w));
}

TEST(Precond, SsorMatchesDefinition) {
  for (double w : {1.0, 1.4, 0.7}) {
    for (bool sym : {true, false}) {
      auto A = sym ? dsla::random_spd(30, 0.2, 4) : dsla::random_sparse(30, 30, 0.15, 4);
      Options o = kind(w == 1.0 ? "sgs" : "ssor");
      o.omega = w;
      auto P = make_preconditioner(A, o);
      auto Minv = at::linalg_inv(ssor_matrix(A.to_dense(), w)).unsqueeze(0);
      expect_close(dense_inverse(*P), Minv, 1e-12, "ssor w=" + std::to_string(w));
      expect_close(dense_inverse(*P->adjoint()), Minv.mH(), 1e-12, "ssor adjoint");
      EXPECT_EQ(sym, P->adjoint().get() == P.get());
    }
  }
}

TEST(Precond, Ic0AndIlu0ExactOnTridiagonal) {
  auto A = tridiagonal(25);
  for (const char* k : {"ic0", "ilu0"}) {
    auto P = make_preconditioner(A, kind(k));
    auto MinvA = at::matmul(dense_inverse(*P), A.to_dense());
    expect_close(MinvA, at::eye(25, at::kDouble).unsqueeze(0), 1e-12, k);
  }
  auto G = tridiagonal_general(25);
  auto P = make_preconditioner(G, kind("ilu0"));
  expect_close(at::matmul(dense_inverse(*P), G.to_dense()), at::eye(25, at::kDouble).unsqueeze(0),
               1e-12, "ilu0 general");
  // (LU)⁻ᴴ Aᴴ = I as well.
  expect_close(at::matmul(dense_inverse(*P->adjoint()), G.to_dense().t()),
               at::eye(25, at::kDouble).unsqueeze(0), 1e-12, "ilu0 adjoint");
}

// Dense ILU(0) straight from the definition (IKJ, updates kept only inside the pattern).
at::Tensor dense_ilu0_inverse(const at::Tensor& A0) {
  auto A = A0.clone();
  auto nz = A0 != 0;
  const int64_t n = A.size(0);
  auto a = A.accessor<double, 2>();
  auto m = nz.accessor<bool, 2>();
  for (int64_t i = 1; i < n; ++i) {
    for (int64_t k = 0; k < i; ++k) {
      if (!m[i][k]) continue;
      a[i][k] /= a[k][k];
      for (int64_t j = k + 1; j < n; ++j) {
        if (m[i][j] && m[k][j]) a[i][j] -= a[i][k] * a[k][j];
      }
    }
  }
  auto L = at::tril(A, -1) + at::eye(n, at::kDouble), U = at::triu(A);
  return at::linalg_inv(at::matmul(L, U));
}

TEST(Precond, Ilu0MatchesDenseDefinitionWithDroppedFill) {
  for (auto A :
       {dsla::poisson2d(6), dsla::random_sparse(40, 40, 0.1, 7), dsla::convdiff2d(6, 5.0)}) {
    auto P = make_preconditioner(A, kind("ilu0"));
    expect_close(dense_inverse(*P), dense_ilu0_inverse(A.to_dense()).unsqueeze(0), 1e-11, "ilu0");
  }
  // IC(0) of an SPD matrix with a symmetric pattern is ILU(0) with U = D Lᵀ.
  auto A = dsla::poisson2d(6);
  auto P = make_preconditioner(A, kind("ic0"));
  expect_close(dense_inverse(*P), dense_ilu0_inverse(A.to_dense()).unsqueeze(0), 1e-11, "ic0");
}

// Dense M⁻¹ of the Chebyshev preconditioner on [a, b] for SPD A: with S = D^-1/2 A D^-1/2 =
// Q Λ Qᵀ, M⁻¹ = D^-1/2 Q q(Λ) Qᵀ D^-1/2, q(λ) = (1 - T_d(t(λ)) / T_d(t(0))) / λ.
at::Tensor dense_chebyshev(const at::Tensor& A, double a, double b, int64_t d) {
  auto dsq = A.diagonal().rsqrt();
  auto S = dsq.unsqueeze(1) * A * dsq.unsqueeze(0);
  auto [lam, Q] = at::linalg_eigh(S);
  auto t = [&](const at::Tensor& x) { return (b + a - 2 * x) / (b - a); };
  auto cheb = [&](const at::Tensor& x) {  // T_d for |x| >= 1 or <= 1, via cosh/cos forms
    auto ax = x.abs();
    auto inside = at::cos(d * at::acos(x.clamp(-1, 1)));
    auto outside = at::cosh(d * at::acosh(ax.clamp_min(1))) * at::pow(at::sign(x), d);
    return at::where(ax <= 1, inside, outside);
  };
  auto q = (1 - cheb(t(lam)) / cheb(t(at::zeros({1}, at::kDouble)))) / lam;
  auto Minv = at::matmul(Q * q.unsqueeze(0), Q.t());
  return dsq.unsqueeze(1) * Minv * dsq.unsqueeze(0);
}

TEST(Precond, ChebyshevMatchesPolynomial) {
  auto A = dsla::random_spd(40, 0.1, 8);
  for (bool est_min : {true, false}) {
    for (int64_t d : {1, 2, 4}) {
      Options o = kind("chebyshev");
      o.degree = d;
      o.estimate_lambda_min = est_min;
      auto P = make_preconditioner(A, o);
      auto iv = dsla::precond::detail::chebyshev_intervals(*P);
      ASSERT_EQ(iv.size(), 1u);
      expect_close(dense_inverse(*P),
                   dense_chebyshev(A.to_dense(), iv[0].first, iv[0].second, d).unsqueeze(0), 1e-10,
                   "chebyshev d=" + std::to_string(d));
    }
  }
}

TEST(Precond, ChebyshevBoundsCoverSpectrum) {
  auto A = dsla::poisson2d(12);
  auto P = make_preconditioner(A, kind("chebyshev"));
  auto iv = dsla::precond::detail::chebyshev_intervals(*P)[0];
  auto Ad = A.to_dense();
  auto dsq = Ad.diagonal().rsqrt();
  auto ev = at::linalg_eigvalsh(dsq.unsqueeze(1) * Ad * dsq.unsqueeze(0));
  EXPECT_GE(iv.second, ev.max().item<double>());
  EXPECT_GE(iv.first, ev.min().item<double>());  // Ritz values lie inside the spectrum
  EXPECT_LT(iv.first, iv.second);
}

// ---- properties ----------------------------------------------------------------------------

TEST(Precond, SymmetricKindsAreSpd) {
  auto A = dsla::random_spd(36, 0.15, 9);
  for (const auto& k : kSpdKinds) {
    auto M = dense_inverse(*make_preconditioner(A, kind(k)))[0];
    expect_close(M, M.t(), 1e-12, k + " symmetric");
    EXPECT_GT(at::linalg_eigvalsh(0.5 * (M + M.t())).min().item<double>(), 0) << k;
    // xᵀ M⁻¹ y = yᵀ M⁻¹ x with the operator itself.
    auto x = at::randn({1, 36, 1}, at::kDouble), y = at::randn({1, 36, 1}, at::kDouble);
    auto P = make_preconditioner(A, kind(k));
    auto Mx = at::empty_like(x), My = at::empty_like(y);
    P->apply(x, Mx);
    P->apply(y, My);
    EXPECT_NEAR((y * Mx).sum().item<double>(), (x * My).sum().item<double>(), 1e-12) << k;
    EXPECT_TRUE(P->is_symmetric()) << k;
  }
  EXPECT_FALSE(make_preconditioner(A, kind("ilu0"))->is_symmetric());
}

TEST(Precond, UpdateEqualsFreshBuild) {
  auto A = dsla::random_spd(30, 0.2, 10);
  auto A2 = A.with_values(A.values() * (1.0 + 0.5 * at::cos(at::arange(A.nnz(), at::kDouble))));
  A2 = A2.with_values(0.5 * (A2.values() + A2.transpose().values()));  // keep it symmetric
  A2 = A2.with_values(A2.values() + A2.diagonal().new_zeros({A.nnz()}).index_fill_(
                                        0, A.pattern()->diag_pos(), 5.0));
  for (const auto& k : kAllKinds) {
    auto P = make_preconditioner(A, kind(k));
    P->update(A2);
    auto fresh = make_preconditioner(A2, kind(k));
    expect_close(dense_inverse(*P), dense_inverse(*fresh), 1e-13, k + " update");
  }
  auto P = make_preconditioner(A, kind("ilu0"));
  EXPECT_THROW(P->update(dsla::random_spd(30, 0.2, 11)), c10::ValueError);
}

TEST(Precond, BatchedIsPerMember) {
  auto A = dsla::random_spd(24, 0.2, 12);
  const int64_t B = 3;
  auto scale = at::arange(1, B + 1, at::kDouble).unsqueeze(1);
  auto wiggle = 1.0 + 0.1 * at::sin(at::arange(A.nnz(), at::kDouble)).unsqueeze(0) * scale;
  auto Ab = A.with_values(A.values().unsqueeze(0) * scale * wiggle);
  Ab = Ab.with_values(0.5 * (Ab.values() + Ab.transpose().values()));
  for (const auto& k : kAllKinds) {
    Options o = kind(k);
    o.block_size = 5;
    auto P = make_preconditioner(Ab, o);
    auto Mb = dense_inverse(*P, B);
    for (int64_t b = 0; b < B; ++b) {
      auto Pm = make_preconditioner(A.with_values(Ab.values()[b]), o);
      expect_close(Mb[b], dense_inverse(*Pm)[0], 1e-12, k + " member " + std::to_string(b));
    }
  }
  // An unbatched preconditioner broadcasts over batched vectors.
  auto P = make_preconditioner(A, kind("ilu0"));
  auto x = at::randn({B, 24, 2}, at::kDouble), y = at::empty_like(x);
  P->apply(x, y);
  for (int64_t b = 0; b < B; ++b) {
    auto yb = at::empty({1, 24, 2}, at::kDouble);
    P->apply(x[b].unsqueeze(0), yb);
    expect_close(y[b], yb[0], 1e-14, "broadcast");
  }
}

TEST(Precond, OneColumnAndStridedOutputMatchDense) {
  auto A = dsla::random_sparse(30, 30, 0.12, 13);
  auto H = dsla::random_spd(30, 0.12, 13);
  for (const auto& k : kAllKinds) {
    auto P = make_preconditioner(k == "chebyshev" || k == "ic0" ? H : A, kind(k));
    auto M = dense_inverse(*P);  // k = n right-hand sides
    auto x = at::randn({1, 30, 1}, at::kDouble), y = at::empty_like(x);
    P->apply(x, y);  // k = 1
    expect_close(y, at::matmul(M, x), 1e-12, k + " one column");
    auto yt = at::empty({1, 2, 30}, at::kDouble).transpose(1, 2);  // non-contiguous output
    auto x2 = at::randn({1, 30, 2}, at::kDouble);
    P->apply(x2, yt);
    expect_close(yt, at::matmul(M, x2), 1e-12, k + " strided output");
  }
}

TEST(Precond, ComplexHermitianAndGeneral) {
  auto H = complex_hpd(30);
  for (const auto& k : kSpdKinds) {
    auto P = make_preconditioner(H, kind(k));
    auto M = dense_inverse(*P)[0];
    expect_close(M, M.mH(), 1e-12, k + " Hermitian");
    EXPECT_GT(at::linalg_eigvalsh(M).min().item<double>(), 0) << k;
  }
  // References on the complex Hermitian matrix: SSOR and block Jacobi from their definitions.
  expect_close(dense_inverse(*make_preconditioner(H, kind("sgs"))),
               at::linalg_inv(ssor_matrix(H.to_dense(), 1.0)).unsqueeze(0), 1e-12, "complex sgs");
  auto G = complex_general(30);
  for (const auto& k : {"jacobi", "block_jacobi", "sgs", "ssor", "ilu0", "chebyshev"}) {
    if (std::string(k) == "chebyshev") continue;  // needs a real positive diagonal
    Options o = kind(k);
    o.omega = 1.2;
    o.block_size = 4;
    auto P = make_preconditioner(G, o);
    auto M = dense_inverse(*P)[0];
    expect_close(dense_inverse(*P->adjoint())[0], M.mH(), 1e-12, std::string(k) + " adjoint");
    expect_close(dense_inverse(*P, 1, /*adj=*/true)[0], M.mH(), 1e-12,
                 std::string(k) + " apply_adjoint");
  }
  expect_close(dense_inverse(*make_preconditioner(G, kind("block_jacobi"))),
               block_diag_inverse(G.to_dense(), 4).unsqueeze(0), 1e-12, "complex block_jacobi");
}

TEST(Precond, ChebyshevAdjointOfNonsymmetric) {
  auto A = dsla::convdiff2d(5, 2.0);
  auto P = make_preconditioner(A, kind("chebyshev"));
  auto M = dense_inverse(*P)[0];
  expect_close(dense_inverse(*P->adjoint())[0], M.t(), 1e-12, "chebyshev adjoint");
}

TEST(Precond, Float32MatchesFloat64) {
  auto A = dsla::poisson2d(8);
  auto A32 = A.to(at::kFloat);
  for (const auto& k : kAllKinds) {
    auto M64 = dense_inverse(*make_preconditioner(A, kind(k)));
    auto P32 = make_preconditioner(A32, kind(k));
    EXPECT_EQ(P32->dtype(), at::kFloat);
    expect_close(dense_inverse(*P32).to(at::kDouble), M64, 2e-5, k + " float32");
  }
  auto H = complex_hpd(20);
  auto Mc = dense_inverse(*make_preconditioner(H, kind("ic0")));
  auto Mc64 = dense_inverse(*make_preconditioner(H.to(at::kComplexFloat), kind("ic0")));
  expect_close(Mc64.to(at::kComplexDouble), Mc, 2e-5, "ic0 complex64");
}

TEST(Precond, Int64Indices) {
  auto A = dsla::poisson2d(6);
  auto p64 = A.pattern()->with_index_dtype(at::kLong);
  SparseMatrix A64(p64, A.values());
  for (const auto& k : kAllKinds) {
    expect_close(dense_inverse(*make_preconditioner(A64, kind(k))),
                 dense_inverse(*make_preconditioner(A, kind(k))), 1e-14, k + " int64");
  }
}

// A user operator: z = r / 2, with an adjoint.
class Halve : public dsla::LinearOperator {
 public:
  int64_t rows() const override { return 5; }
  int64_t cols() const override { return 5; }
  at::ScalarType dtype() const override { return at::kDouble; }
  c10::Device device() const override { return c10::Device(c10::kCPU); }
  void apply(const at::Tensor& x, at::Tensor& y) const override { at::mul_out(y, x, 0.5); }
};

TEST(Precond, UserOperator) {
  auto P = dsla::precond::make_user_preconditioner(std::make_shared<Halve>(), true, "halve");
  auto x = at::ones({1, 5, 1}, at::kDouble), y = at::empty_like(x);
  P->apply(x, y);
  EXPECT_DOUBLE_EQ(y.sum().item<double>(), 2.5);
  EXPECT_EQ(P->name(), "halve");
  EXPECT_TRUE(P->is_symmetric());
  EXPECT_EQ(P->adjoint().get(), P.get());
  P->update(dsla::poisson2d(2));  // no-op
  auto Q = dsla::precond::make_user_preconditioner(std::make_shared<Halve>(), false);
  EXPECT_FALSE(Q->is_symmetric());
  EXPECT_THROW(Q->adjoint()->apply(x, y), c10::NotImplementedError);
  EXPECT_THROW(dsla::precond::make_user_preconditioner(nullptr, true), c10::ValueError);
}

// ---- bad input -----------------------------------------------------------------------------

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(Precond, BadInput) {
  auto D = tridiagonal(6).to_dense();
  D[3][3] = 0.0;
  D[3][2] = 1.0;
  auto Z =
      SparseMatrix::from_coo(at::nonzero(D != 0).select(1, 0), at::nonzero(D != 0).select(1, 1),
                             D.index({D != 0}), {6, 6});  // row 3: no stored diagonal
  auto Dz = tridiagonal(6);
  Dz = Dz.with_values(Dz.values().index_fill(0, Dz.pattern()->diag_pos()[2], 0.0));
  for (const char* k : {"jacobi", "sgs", "chebyshev"}) {
    auto msg = error_of([&] { make_preconditioner(Dz, kind(k)); });
    EXPECT_NE(msg.find("row 2"), std::string::npos) << k << ": " << msg;
    EXPECT_THROW(make_preconditioner(Dz, kind(k)), c10::ValueError);
  }
  for (const char* k : {"jacobi", "ssor", "ic0", "ilu0"}) {
    auto msg = error_of([&] { make_preconditioner(Z, kind(k)); });
    EXPECT_NE(msg.find("row 3"), std::string::npos) << k << ": " << msg;
  }
  auto R = dsla::random_sparse(4, 6, 0.5, 1);
  auto msg = error_of([&] { make_preconditioner(R, kind("jacobi")); });
  EXPECT_NE(msg.find("square"), std::string::npos) << msg;
  msg = error_of([&] { make_preconditioner(dsla::poisson2d(3), kind("ilu1")); });
  EXPECT_NE(msg.find("ilu1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("block_jacobi"), std::string::npos) << msg;
  EXPECT_EQ(make_preconditioner(dsla::poisson2d(3), kind("amg"))->name(), "amg");  // wired in
  Options o = kind("ssor");
  o.omega = 2.0;
  EXPECT_THROW(make_preconditioner(dsla::poisson2d(3), o), c10::ValueError);
  // Non-finite values.
  auto N = tridiagonal(6);
  N = N.with_values(N.values().index_fill(0, at::tensor({1}, at::kLong), NAN));
  for (const char* k : {"sgs", "ilu0", "ic0", "block_jacobi", "chebyshev"}) {
    msg = error_of([&] { make_preconditioner(N, kind(k)); });
    EXPECT_NE(msg.find("not finite"), std::string::npos) << k << ": " << msg;
  }
  // Singular diagonal block.
  auto S = at::eye(8, at::kDouble);
  S.narrow(0, 4, 2).narrow(1, 4, 2).fill_(1.0);
  Options ob = kind("block_jacobi");
  ob.block_size = 2;
  msg = error_of([&] { make_preconditioner(SparseMatrix::from_dense(S), ob); });
  EXPECT_NE(msg.find("block 2"), std::string::npos) << msg;
  // Apply with wrong shapes or dtype.
  auto P = make_preconditioner(dsla::poisson2d(3), kind("ilu0"));
  auto x = at::ones({1, 8, 1}, at::kDouble), y = at::empty({1, 9, 1}, at::kDouble);
  EXPECT_THROW(P->apply(x, y), c10::ValueError);
  auto x9 = at::ones({1, 9, 1}, at::kFloat);
  EXPECT_THROW(P->apply(x9, y), c10::TypeError);
}

TEST(Precond, Ic0BreakdownShiftsOrThrows) {
  // Kershaw's matrix: SPD (eigenvalues > 0) but IC(0) meets a negative pivot in row 3.
  auto K = at::tensor({3., -2., 0., 2., -2., 3., -2., 0., 0., -2., 3., -2., 2., 0., -2., 3.},
                      at::kDouble)
               .view({4, 4});
  ASSERT_GT(at::linalg_eigvalsh(K).min().item<double>(), 0);
  auto S = SparseMatrix::from_dense(K);
  Options o = kind("ic0");
  o.auto_shift = false;
  std::string msg = error_of([&] { make_preconditioner(S, o); });
  EXPECT_NE(msg.find("broke down"), std::string::npos) << msg;
  EXPECT_NE(msg.find("row 3"), std::string::npos) << msg;
  auto P = make_preconditioner(S, kind("ic0"));  // auto_shift (default) retries
  EXPECT_NE(P->name().find("ic0(shift="), std::string::npos) << P->name();
  auto M = dense_inverse(*P)[0];
  EXPECT_GT(at::linalg_eigvalsh(0.5 * (M + M.t())).min().item<double>(), 0);
  // A given shift large enough needs no retry and is reported too.
  o.shift = 0.5;
  EXPECT_EQ(make_preconditioner(S, o)->name(), "ic0(shift=0.5)");
  // An indefinite matrix: ic0 fails even with shifts.
  auto Ind = SparseMatrix::from_dense(at::diag(at::tensor({1.0, -1.0, 2.0}, at::kDouble)));
  msg = error_of([&] { make_preconditioner(Ind, kind("ic0")); });
  EXPECT_NE(msg.find("row 1"), std::string::npos) << msg;
}

// ---- convergence ---------------------------------------------------------------------------

// Plain PCG on one right-hand side (no dense algebra): iterations to rtol, or maxiter + 1.
int64_t pcg_iterations(const SparseMatrix& A, const dsla::precond::Preconditioner* P, double rtol,
                       int64_t maxiter) {
  const int64_t n = A.rows();
  auto b = at::ones({n, 1}, at::TensorOptions().dtype(A.dtype()));
  auto x = at::zeros_like(b), r = b.clone(), z = at::empty_like(b);
  auto prec = [&](const at::Tensor& in, at::Tensor& out) {
    if (P == nullptr) {
      out.copy_(in);
    } else {
      auto o3 = out.view({1, n, 1});
      P->apply(in.view({1, n, 1}), o3);
    }
  };
  prec(r, z);
  auto p = z.clone();
  double rz = (r * z).sum().item<double>();
  const double bnorm = b.norm().item<double>();
  for (int64_t it = 1; it <= maxiter; ++it) {
    auto q = dsla::matmul(A, p);
    const double alpha = rz / (p * q).sum().item<double>();
    x.add_(p, alpha);
    r.sub_(q, alpha);
    if (r.norm().item<double>() <= rtol * bnorm) return it;
    prec(r, z);
    const double rz_new = (r * z).sum().item<double>();
    p.mul_(rz_new / rz).add_(z);
    rz = rz_new;
  }
  return maxiter + 1;
}

TEST(PrecondConvergence, PoissonIterationsDrop) {
  auto A = dsla::poisson2d(64);
  const int64_t none = pcg_iterations(A, nullptr, 1e-8, 2000);
  for (const char* k : {"sgs", "ssor", "chebyshev", "ic0", "block_jacobi"}) {
    Options o = kind(k);
    o.omega = 1.5;
    auto P = make_preconditioner(A, o);
    const int64_t it = pcg_iterations(A, P.get(), 1e-8, 2000);
    EXPECT_LT(it, none) << k;
    std::printf("[ poisson2d:64 ] %-40s %4lld iterations (none: %lld)\n", P->name().c_str(),
                static_cast<long long>(it), static_cast<long long>(none));
  }
}

TEST(PrecondConvergence, JacobiHelpsOnRealMatrix) {
  auto A = dsla::read_mtx(std::string(DSLA_DATA_DIR) + "/bcsstk08.mtx");
  const int64_t none = pcg_iterations(A, nullptr, 1e-6, 20000);
  for (const char* k : {"jacobi", "block_jacobi", "ic0", "chebyshev", "sgs"}) {
    auto P = make_preconditioner(A, kind(k));
    const int64_t it = pcg_iterations(A, P.get(), 1e-6, 20000);
    EXPECT_LT(it, none) << k;
    std::printf("[ bcsstk08 ] %-40s %5lld iterations (none: %lld)\n", P->name().c_str(),
                static_cast<long long>(it), static_cast<long long>(none));
  }
}

}  // namespace
