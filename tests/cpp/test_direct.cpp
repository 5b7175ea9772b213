// Direct factorizations (CHOLMOD, UMFPACK) and det/logdet with gradients.
#include "solve/direct/factorization.h"

#include <dsla/config.h>
#include <dsla/det.h>
#include <dsla/errors.h>
#include <dsla/io.h>
#include <dsla/sparse_matrix.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace {

using dsla::SparseMatrix;
using dsla::direct::Kind;
using dsla::direct::make_factorization;

#if DSLA_HAVE_SUITESPARSE

std::string data(const std::string& name) {
  return std::string(DSLA_DATA_DIR) + "/" + name;
}
bool have(const std::string& name) {
  return std::ifstream(data(name)).good();
}
#define REQUIRE_DATA(name) \
  if (!have(name)) GTEST_SKIP() << "missing " << data(name)

// Random sparse matrices as dense tensors (then from_dense): density `d`, seeded.
at::Tensor random_dense(int64_t n, double d, uint64_t seed, at::ScalarType dt = at::kDouble) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor mask = at::rand({n, n}, gen, at::kDouble) < d;
  at::Tensor v = at::randn({n, n}, gen, at::kDouble);
  if (at::isComplexType(dt)) v = at::complex(v, at::randn({n, n}, gen, at::kDouble));
  return (v * mask).to(dt);
}
at::Tensor random_spd(int64_t n, double d, uint64_t seed, at::ScalarType dt = at::kDouble) {
  at::Tensor r = random_dense(n, d, seed, dt);
  at::Tensor s = r + r.conj().t();
  at::Tensor diag = s.abs().sum(1) + 1.0;
  return s + at::diag(diag).to(dt);
}
at::Tensor random_general(int64_t n, double d, uint64_t seed, at::ScalarType dt = at::kDouble) {
  at::Tensor r = random_dense(n, d, seed, dt);
  return r + at::diag(r.abs().sum(1) + 1.0).to(dt);  // nonsingular
}

double rel_err(const at::Tensor& x, const at::Tensor& ref) {
  return (x - ref).abs().max().item<double>() / std::max(ref.abs().max().item<double>(), 1e-300);
}

double residual(const SparseMatrix& A, const at::Tensor& x, const at::Tensor& b, bool adj) {
  at::Tensor D = A.to_dense().to(x.scalar_type());
  if (adj) D = D.conj().t();
  at::Tensor r = at::matmul(D, x) - b.to(x.scalar_type());
  return r.abs().max().item<double>() /
         (D.abs().max().item<double>() * x.abs().max().item<double>() +
          b.abs().max().item<double>());
}

std::unique_ptr<dsla::direct::Factorization> factor(const SparseMatrix& A, Kind k,
                                                    const std::string& ord = "auto") {
  auto f = make_factorization(A.pattern(), k, A.dtype(), ord);
  f->factorize(A.values());
  return f;
}

void check_solves(const SparseMatrix& A, Kind k, double tol, const std::string& ord = "auto") {
  auto f = factor(A, k, ord);
  const int64_t n = A.rows();
  const auto opt = at::TensorOptions().dtype(A.dtype());
  at::Tensor b = at::randn({n}, opt);
  at::Tensor B = at::randn({n, 5}, opt);
  at::Tensor x = f->solve(b, false);
  EXPECT_EQ(x.sizes(), b.sizes());
  EXPECT_LT(residual(A, x, b, false), tol) << f->name();
  at::Tensor X = f->solve(B, false);
  EXPECT_EQ(X.sizes(), B.sizes());
  EXPECT_LT(residual(A, X, B, false), tol) << f->name();
  at::Tensor xa = f->solve(B, true);
  EXPECT_LT(residual(A, xa, B, true), tol) << f->name() << " adjoint";
  // A real matrix with a complex right-hand side.
  if (!A.is_complex()) {
    at::Tensor bc = at::randn({n, 2}, at::kComplexDouble);
    at::Tensor xc = f->solve(bc, false);
    EXPECT_TRUE(xc.is_complex());
    EXPECT_LT(residual(A, xc, bc, false), tol);
  }
}

void check_slogdet(const SparseMatrix& A, Kind k, double tol) {
  auto f = factor(A, k);
  auto [s, l] = f->slogdet();
  auto ref = at::linalg_slogdet(A.to_dense());
  EXPECT_NEAR(l.item<double>(), std::get<1>(ref).item<double>(),
              tol * std::max(1.0, std::abs(std::get<1>(ref).item<double>())))
      << f->name();
  EXPECT_LT((s - std::get<0>(ref)).abs().item<double>(), 1e-6) << f->name();
}

// ---------------------------------------------------------------- solves

TEST(DirectCholesky, RandomSpdSolves) {
  for (uint64_t seed : {1, 2, 3}) {
    SparseMatrix A = SparseMatrix::from_dense(random_spd(200, 0.03, seed));
    for (const char* ord : {"auto", "amd", "metis", "nesdis", "natural"}) {
      check_solves(A, Kind::Cholesky, 1e-12, ord);
    }
    check_solves(A, Kind::LDLT, 1e-12);
    check_solves(A, Kind::LU, 1e-12);
  }
}

TEST(DirectCholesky, SuiteSparseSpd) {
  for (const char* name : {"bcsstk03.mtx", "bcsstk08.mtx", "bcsstk09.mtx", "bcsstk13.mtx",
                           "bcsstk16.mtx", "gr_30_30.mtx", "494_bus.mtx"}) {
    if (!have(name)) continue;
    SparseMatrix A = dsla::read_mtx(data(name));
    check_solves(A, Kind::Cholesky, 1e-9);
    if (A.rows() <= 2100) check_slogdet(A, Kind::Cholesky, 1e-9);
  }
}

TEST(DirectCholesky, ComplexHermitianMhd1280b) {
  REQUIRE_DATA("mhd1280b.mtx");
  SparseMatrix A = dsla::read_mtx(data("mhd1280b.mtx"));
  ASSERT_TRUE(A.is_complex());
  check_solves(A, Kind::Cholesky, 1e-9);
  check_slogdet(A, Kind::Cholesky, 1e-8);
}

TEST(DirectCholesky, ComplexHermitianRandom) {
  SparseMatrix A = SparseMatrix::from_dense(random_spd(150, 0.05, 7, at::kComplexDouble));
  check_solves(A, Kind::Cholesky, 1e-12);
  check_solves(A, Kind::LDLT, 1e-12);
  check_slogdet(A, Kind::Cholesky, 1e-10);
}

TEST(DirectLDLT, SymmetricIndefiniteSherman1) {
  REQUIRE_DATA("sherman1.mtx");
  SparseMatrix A = dsla::read_mtx(data("sherman1.mtx"));
  check_solves(A, Kind::LDLT, 1e-9);
  check_slogdet(A, Kind::LDLT, 1e-9);
  check_solves(A, Kind::LU, 1e-9);
  check_slogdet(A, Kind::LU, 1e-9);
}

TEST(DirectLU, SuiteSparseNonsymmetric) {
  for (const char* name : {"orsirr_1.mtx", "sherman5.mtx", "hor_131.mtx", "young1c.mtx"}) {
    if (!have(name)) continue;
    SparseMatrix A = dsla::read_mtx(data(name));
    for (const char* ord : {"auto", "amd", "metis", "natural"})
      check_solves(A, Kind::LU, 1e-9, ord);
    check_slogdet(A, Kind::LU, 1e-9);
  }
}

TEST(DirectLU, ComplexGeneralRandom) {
  SparseMatrix A = SparseMatrix::from_dense(random_general(120, 0.05, 3, at::kComplexDouble));
  check_solves(A, Kind::LU, 1e-12);
  check_slogdet(A, Kind::LU, 1e-10);
  // A⁻ᴴ b vs dense, explicitly (UMFPACK_At / UMFPACK_Aat conventions).
  auto f = factor(A, Kind::LU);
  at::Tensor b = at::randn({120}, at::kComplexDouble);
  at::Tensor D = A.to_dense();
  EXPECT_LT(rel_err(f->solve(b, false), at::linalg_solve(D, b)), 1e-12);
  EXPECT_LT(rel_err(f->solve(b, true), at::linalg_solve(D.conj().t(), b)), 1e-12);
}

TEST(DirectLU, Int64IndicesAndFloat32) {
  at::Tensor D = random_general(80, 0.08, 11);
  SparseMatrix A32 = SparseMatrix::from_dense(D);
  SparseMatrix A64 = SparseMatrix::from_csr(
      A32.crow_indices().to(at::kLong), A32.col_indices().to(at::kLong), A32.values(), {80, 80});
  ASSERT_EQ(A64.pattern()->index_dtype(), at::kLong);
  check_solves(A64, Kind::LU, 1e-12);
  at::Tensor S = random_spd(80, 0.08, 12);
  SparseMatrix B32 = SparseMatrix::from_dense(S);
  SparseMatrix B64 = SparseMatrix::from_csr(
      B32.crow_indices().to(at::kLong), B32.col_indices().to(at::kLong), B32.values(), {80, 80});
  check_solves(B64, Kind::Cholesky, 1e-12);
  // float32: factorized in float64, result cast back to float32.
  SparseMatrix F = SparseMatrix::from_dense(S.to(at::kFloat));
  auto f = factor(F, Kind::Cholesky);
  at::Tensor b = at::randn({80}, at::kFloat);
  at::Tensor x = f->solve(b, false);
  EXPECT_EQ(x.scalar_type(), at::kFloat);
  EXPECT_LT(rel_err(x.to(at::kDouble),
                    at::linalg_solve(S.to(at::kFloat).to(at::kDouble), b.to(at::kDouble))),
            1e-5);
}

TEST(DirectCholesky, RefactorReusesAnalysis) {
  at::Tensor S = random_spd(300, 0.02, 5);
  SparseMatrix A = SparseMatrix::from_dense(S);
  for (Kind k : {Kind::Cholesky, Kind::LDLT, Kind::LU}) {
    const int64_t before = dsla::direct::analysis_count();
    auto f = make_factorization(A.pattern(), k, at::kDouble, "amd");
    EXPECT_EQ(dsla::direct::analysis_count(), before + 1);
    auto g = make_factorization(A.pattern(), k, at::kDouble, "amd");  // cached: no new analysis
    EXPECT_EQ(dsla::direct::analysis_count(), before + 1);
    at::Tensor b = at::randn({300}, at::kDouble);
    for (double scale : {1.0, 2.0, 5.0}) {
      // New values, same pattern: D scaled and shifted (still SPD).
      at::Tensor v = A.values() * scale;
      f->factorize(v);
      at::Tensor x = f->solve(b, false);
      EXPECT_LT(rel_err(x, at::linalg_solve(S * scale, b)), 1e-12);
    }
    g->factorize(A.values());
    EXPECT_LT(rel_err(g->solve(b, false), at::linalg_solve(S, b)), 1e-12);
    EXPECT_EQ(dsla::direct::analysis_count(), before + 1);
  }
}

// ---------------------------------------------------------------- failures

TEST(DirectCholesky, NotPositiveDefiniteRaises) {
  REQUIRE_DATA("sherman1.mtx");
  SparseMatrix A = dsla::read_mtx(data("sherman1.mtx"));
  auto f = make_factorization(A.pattern(), Kind::Cholesky, at::kDouble);
  try {
    f->factorize(A.values());
    FAIL() << "expected SingularMatrixError";
  } catch (const dsla::SingularMatrixError& e) {
    EXPECT_GE(e.pivot(), 0);
    EXPECT_LT(e.pivot(), A.rows());
    EXPECT_NE(std::string(e.what()).find("not positive definite"), std::string::npos);
  }
  // The same object factors good values afterwards.
  at::Tensor S = A.to_dense();
  at::Tensor shift = at::eye(A.rows(), at::kDouble) * 10.0;
  SparseMatrix B = SparseMatrix::from_dense(S + shift);
  if (B.nnz() == A.nnz()) {
    f->factorize(B.values());
    at::Tensor b = at::randn({A.rows()}, at::kDouble);
    EXPECT_LT(residual(B, f->solve(b, false), b, false), 1e-10);
  }
}

TEST(DirectCholesky, SingularNeumannRaises) {
  REQUIRE_DATA("neumann_poisson4009.mtx");
  SparseMatrix A = dsla::read_mtx(data("neumann_poisson4009.mtx"));
  auto f = make_factorization(A.pattern(), Kind::Cholesky, at::kDouble);
  EXPECT_THROW(f->factorize(A.values()), dsla::SingularMatrixError);
}

TEST(DirectLU, EmptyRowRaises) {
  at::Tensor D = random_general(50, 0.1, 9);
  D[17].zero_();
  D.select(1, 17).zero_();
  D[17][17] = 0.0;
  D.select(1, 17).index_put_({at::tensor({3L, 20L})}, 1.0);  // column 17 nonempty, row 17 empty
  SparseMatrix A = SparseMatrix::from_dense(D);
  for (const char* ord : {"auto", "natural"}) {
    auto f = make_factorization(A.pattern(), Kind::LU, at::kDouble, ord);
    try {
      f->factorize(A.values());
      FAIL() << "expected SingularMatrixError";
    } catch (const dsla::SingularMatrixError& e) {
      EXPECT_NE(std::string(e.what()).find("singular"), std::string::npos);
      EXPECT_GE(e.pivot(), 0);
    }
  }
  // Symmetric with an empty row and column: Cholesky and LDLᵀ raise.
  at::Tensor S = random_spd(40, 0.1, 4);
  S[5].zero_();
  S.select(1, 5).zero_();
  S[5][5] = 0.0;
  SparseMatrix B = SparseMatrix::from_dense(S);
  EXPECT_THROW(factor(B, Kind::Cholesky), dsla::SingularMatrixError);
  EXPECT_THROW(factor(B, Kind::LDLT), dsla::SingularMatrixError);
  EXPECT_THROW(factor(B, Kind::LU), dsla::SingularMatrixError);
}

TEST(DirectLU, ExactlyDependentRowsRaise) {
  at::Tensor D = random_general(30, 0.2, 2);
  D[7] = D[3];  // two identical rows
  SparseMatrix A = SparseMatrix::from_dense(D);
  EXPECT_THROW(factor(A, Kind::LU), dsla::SingularMatrixError);
}

TEST(DirectCholesky, BadInputRaises) {
  SparseMatrix A = SparseMatrix::from_dense(random_general(40, 0.1, 1));
  // Nonsymmetric pattern / values to Cholesky.
  EXPECT_THROW(factor(A, Kind::Cholesky), c10::ValueError);
  at::Tensor S = random_spd(40, 0.1, 1);
  SparseMatrix B = SparseMatrix::from_dense(S);
  auto f = make_factorization(B.pattern(), Kind::Cholesky, at::kDouble);
  at::Tensor v = B.values().clone();
  const int64_t k = (B.pattern()->diag_pos()[0].item<int64_t>() + 1) % B.nnz();
  v[k] += 1.0;  // breaks symmetry
  EXPECT_THROW(f->factorize(v), c10::ValueError);
  EXPECT_THROW(f->factorize(B.values().narrow(0, 0, 3)), c10::ValueError);
  EXPECT_THROW(make_factorization(B.pattern(), Kind::LU, at::kDouble, "bogus"), c10::ValueError);
  EXPECT_THROW(make_factorization(B.pattern(), Kind::LU, at::kLong), c10::TypeError);
  f->factorize(B.values());
  EXPECT_THROW(f->solve(at::randn({41}, at::kDouble), false), c10::ValueError);
  SparseMatrix R = SparseMatrix::from_dense(at::randn({4, 5}, at::kDouble));
  EXPECT_THROW(make_factorization(R.pattern(), Kind::LU, at::kDouble), c10::ValueError);
}

// ---------------------------------------------------------------- selected inversion

TEST(DirectCholesky, SelectedInverseMatchesDense) {
  for (Kind k : {Kind::Cholesky, Kind::LDLT}) {
    for (const char* ord : {"amd", "metis", "natural"}) {
      at::Tensor S = random_spd(150, 0.04, 21);
      SparseMatrix A = SparseMatrix::from_dense(S);
      auto f = factor(A, k, ord);
      at::Tensor rows = A.row_indices().to(at::kLong), cols = A.col_indices().to(at::kLong);
      at::Tensor got = f->inverse_entries(rows, cols);
      at::Tensor ref = at::inverse(S).index({rows, cols});
      EXPECT_LT(rel_err(got, ref), 1e-11) << f->name();
    }
  }
  SparseMatrix H = SparseMatrix::from_dense(random_spd(100, 0.05, 22, at::kComplexDouble));
  auto f = factor(H, Kind::Cholesky);
  at::Tensor rows = H.row_indices().to(at::kLong), cols = H.col_indices().to(at::kLong);
  EXPECT_LT(rel_err(f->inverse_entries(rows, cols), at::inverse(H.to_dense()).index({rows, cols})),
            1e-11);
  auto g = factor(H, Kind::LU);
  EXPECT_LT(rel_err(g->inverse_entries(rows, cols), at::inverse(H.to_dense()).index({rows, cols})),
            1e-11);
}

TEST(DirectCholesky, SelectedInverseBcsstk) {
  REQUIRE_DATA("bcsstk08.mtx");
  SparseMatrix A = dsla::read_mtx(data("bcsstk08.mtx"));
  auto f = factor(A, Kind::Cholesky);
  at::Tensor rows = A.row_indices().to(at::kLong), cols = A.col_indices().to(at::kLong);
  at::Tensor ref = at::inverse(A.to_dense()).index({rows, cols});
  EXPECT_LT(rel_err(f->inverse_entries(rows, cols), ref), 1e-7);
}

// ---------------------------------------------------------------- det / logdet

void check_det(const SparseMatrix& A, double tol, const dsla::DetOptions& opt = {}) {
  auto [s, l] = dsla::slogdet(A, opt);
  auto ref = at::linalg_slogdet(A.to_dense());
  EXPECT_NEAR(l.item<double>(), std::get<1>(ref).item<double>(),
              tol * std::max(1.0, std::abs(std::get<1>(ref).item<double>())));
  EXPECT_LT((s - std::get<0>(ref)).abs().item<double>(), 1e-6);
  EXPECT_EQ(s.scalar_type(), A.dtype());
  EXPECT_EQ(l.scalar_type(), c10::toRealValueType(A.dtype()));
}

TEST(Det, SlogdetMatchesDense) {
  check_det(SparseMatrix::from_dense(random_spd(100, 0.05, 1)), 1e-11);
  check_det(SparseMatrix::from_dense(random_general(100, 0.05, 1)), 1e-11);
  check_det(SparseMatrix::from_dense(random_general(100, 0.05, 1, at::kComplexDouble)), 1e-11);
  check_det(SparseMatrix::from_dense(random_spd(100, 0.05, 1, at::kComplexDouble)), 1e-11);
  for (const char* m : {"cholesky", "ldlt", "lu"}) {
    dsla::DetOptions o;
    o.method = m;
    check_det(SparseMatrix::from_dense(random_spd(60, 0.1, 2)), 1e-11, o);
  }
  for (const char* name : {"sherman1.mtx", "orsirr_1.mtx", "young1c.mtx", "bcsstk09.mtx"}) {
    if (have(name)) check_det(dsla::read_mtx(data(name)), 1e-9);
  }
}

TEST(Det, LogdetAndDetSemantics) {
  // Negative determinant: swap two rows of an SPD matrix.
  at::Tensor S = random_spd(30, 0.1, 3);
  at::Tensor N = S.index({at::cat({at::tensor({1L, 0L}), at::arange(2, 30)})});
  SparseMatrix A = SparseMatrix::from_dense(N);
  EXPECT_TRUE(std::isnan(dsla::logdet(A).item<double>()));
  EXPECT_NEAR(dsla::det(A).item<double>() / at::det(N).item<double>(), 1.0, 1e-10);
  SparseMatrix P = SparseMatrix::from_dense(S);
  EXPECT_NEAR(dsla::logdet(P).item<double>(), at::logdet(S).item<double>(), 1e-10);
  // Complex: principal log.
  at::Tensor C = random_general(30, 0.1, 4, at::kComplexDouble);
  at::Tensor ld = dsla::logdet(SparseMatrix::from_dense(C));
  at::Tensor ref = at::logdet(C);
  EXPECT_LT((at::exp(ld) - at::exp(ref)).abs().item<double>() / at::exp(ref).abs().item<double>(),
            1e-10);
  // Singular (empty row): sign 0, logabs -inf, det 0 (torch semantics).
  at::Tensor D = random_general(20, 0.2, 5);
  D[4].zero_();
  auto [s, l] = dsla::slogdet(SparseMatrix::from_dense(D));
  EXPECT_EQ(s.item<double>(), 0.0);
  EXPECT_TRUE(std::isinf(l.item<double>()) && l.item<double>() < 0);
  EXPECT_EQ(dsla::det(SparseMatrix::from_dense(D)).item<double>(), 0.0);
}

TEST(Det, BatchedAndFloat32) {
  at::Tensor S1 = random_spd(40, 0.1, 1), S2 = S1 * 2.0;
  SparseMatrix A = SparseMatrix::from_dense(S1);
  at::Tensor vals = at::stack({A.values(), A.values() * 2.0});
  SparseMatrix Ab = A.with_values(vals);
  auto [s, l] = dsla::slogdet(Ab);
  ASSERT_EQ(l.sizes(), at::IntArrayRef({2}));
  EXPECT_NEAR(l[0].item<double>(), at::logdet(S1).item<double>(), 1e-10);
  EXPECT_NEAR(l[1].item<double>(), at::logdet(S2).item<double>(), 1e-10);
  SparseMatrix F = A.to(at::kFloat);
  at::Tensor lf = dsla::logdet(F);
  EXPECT_EQ(lf.scalar_type(), at::kFloat);
  EXPECT_NEAR(lf.item<double>(), at::logdet(S1).item<double>(), 1e-4);
}

// Gradient of log|det| vs dense torch autograd (and the sign's gradient for complex).
void check_grad(const at::Tensor& dense, const dsla::DetOptions& opt, double tol) {
  SparseMatrix A0 = SparseMatrix::from_dense(dense);
  at::Tensor v = A0.values().clone().requires_grad_(true);
  SparseMatrix A = A0.with_values(v);
  auto [s, l] = dsla::slogdet(A, opt);
  at::Tensor loss = l;
  const bool cx = dense.is_complex();
  const c10::complex<double> w(0.3, -0.7);
  if (cx) loss = loss + at::real(s * w);
  loss.backward();
  at::Tensor D = dense.clone().requires_grad_(true);
  auto ref = at::linalg_slogdet(D);
  at::Tensor rloss = std::get<1>(ref);
  if (cx) rloss = rloss + at::real(std::get<0>(ref) * w);
  rloss.backward();
  at::Tensor rows = A0.row_indices().to(at::kLong), cols = A0.col_indices().to(at::kLong);
  at::Tensor gref = D.grad().index({rows, cols});
  ASSERT_TRUE(v.grad().defined());
  EXPECT_LT(rel_err(v.grad(), gref), tol) << opt.method;
}

TEST(Det, GradientMatchesDenseAutograd) {
  for (const char* m : {"auto", "cholesky", "ldlt", "lu"}) {
    dsla::DetOptions o;
    o.method = m;
    check_grad(random_spd(80, 0.06, 31), o, 1e-10);
  }
  check_grad(random_general(80, 0.06, 32), {}, 1e-10);
  check_grad(random_spd(60, 0.08, 33, at::kComplexDouble), {}, 1e-10);
  check_grad(random_general(60, 0.08, 34, at::kComplexDouble), {}, 1e-10);
  if (have("sherman1.mtx")) check_grad(dsla::read_mtx(data("sherman1.mtx")).to_dense(), {}, 1e-8);
  if (have("hor_131.mtx")) check_grad(dsla::read_mtx(data("hor_131.mtx")).to_dense(), {}, 1e-8);
}

TEST(Det, GradientFiniteDifferences) {
  at::Tensor S = random_spd(50, 0.1, 41);
  SparseMatrix A0 = SparseMatrix::from_dense(S);
  at::Tensor v = A0.values().clone().requires_grad_(true);
  dsla::logdet(A0.with_values(v)).backward();
  at::Tensor g = v.grad();
  const double h = 1e-6;
  for (int64_t k : {int64_t(0), A0.nnz() / 3, A0.nnz() / 2, A0.nnz() - 1}) {
    at::Tensor vp = A0.values().clone(), vm = A0.values().clone();
    vp[k] += h;
    vm[k] -= h;
    // Perturbing one stored entry breaks symmetry: LU is used for those two evaluations.
    const double fd = (dsla::logdet(A0.with_values(vp)).item<double>() -
                       dsla::logdet(A0.with_values(vm)).item<double>()) /
                      (2 * h);
    EXPECT_NEAR(g[k].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd)));
  }
}

TEST(Det, BatchedGradient) {
  at::Tensor S = random_spd(30, 0.1, 51);
  SparseMatrix A = SparseMatrix::from_dense(S);
  at::Tensor v = at::stack({A.values(), A.values() * 3.0}).requires_grad_(true);
  dsla::logdet(A.with_values(v)).sum().backward();
  at::Tensor rows = A.row_indices().to(at::kLong), cols = A.col_indices().to(at::kLong);
  at::Tensor ref0 = at::inverse(S).t().index({rows, cols});
  EXPECT_LT(rel_err(v.grad()[0], ref0), 1e-10);
  EXPECT_LT(rel_err(v.grad()[1], ref0 / 3.0), 1e-10);
}

TEST(Det, BadInputRaises) {
  SparseMatrix R = SparseMatrix::from_dense(at::randn({4, 5}, at::kDouble));
  EXPECT_THROW(dsla::slogdet(R), c10::ValueError);
  dsla::DetOptions o;
  o.method = "qr";
  EXPECT_THROW(dsla::slogdet(SparseMatrix::from_dense(random_spd(5, 0.5, 1)), o), c10::ValueError);
  // Cholesky explicitly asked for on an indefinite matrix: the error is not hidden.
  o.method = "cholesky";
  at::Tensor S = random_spd(10, 0.3, 1);
  S[0][0] = -100.0;
  EXPECT_THROW(dsla::slogdet(SparseMatrix::from_dense(S), o), dsla::SingularMatrixError);
}

#else

TEST(DirectCholesky, NotBuiltRaisesClearly) {
  EXPECT_FALSE(dsla::direct::available(Kind::Cholesky));
}

#endif  // DSLA_HAVE_SUITESPARSE

}  // namespace
