// Supernodal numeric Cholesky (kernels/cpu/supernodal_cholesky.h) against a dense reference:
// full factorizations (L Lᵀ = A) and partial ones (eliminated columns = dense Cholesky of A11
// and L21, the rest = the Schur complement A22 − A21 A11⁻¹ A12), on a dense pattern cut into
// supernodes of several widths, a tridiagonal and an arrowhead pattern (no fill), and a matrix
// that is not positive definite.
#include <dsla/config.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/supernodal_cholesky.h"

#if DSLA_HAVE_SUITESPARSE

using dsla::kernels::cpu::supernodal_cholesky;
using dsla::kernels::cpu::SupernodalPattern;

namespace {

using Dense = std::vector<double>;  // row-major n x n

// A symbolic factor: supernode partition + row lists, values laid out as CHOLMOD does.
struct Symbolic {
  int64_t n = 0;
  std::vector<int64_t> super, pi, px, s;
  SupernodalPattern view() const {
    SupernodalPattern p;
    p.n = n;
    p.nsuper = static_cast<int64_t>(super.size()) - 1;
    p.super = super.data();
    p.pi = pi.data();
    p.px = px.data();
    p.s = s.data();
    return p;
  }
  // (row, column) -> offset in x, or -1 outside the pattern.
  int64_t at(int64_t r, int64_t c) const {
    for (size_t k = 0; k + 1 < super.size(); ++k) {
      if (c < super[k] || c >= super[k + 1]) continue;
      const int64_t nsrow = pi[k + 1] - pi[k];
      for (int64_t t = 0; t < nsrow; ++t)
        if (s[pi[k] + t] == r) return px[k] + (c - super[k]) * nsrow + t;
    }
    return -1;
  }
};

// Supernodes of the given widths; rows(k1, k2) gives the row list (own columns first, sorted).
template <class Rows>
Symbolic make_symbolic(int64_t n, const std::vector<int64_t>& widths, Rows rows) {
  Symbolic S;
  S.n = n;
  S.super = {0};
  S.pi = {0};
  S.px = {0};
  for (int64_t w : widths) {
    const int64_t k1 = S.super.back(), k2 = k1 + w;
    const std::vector<int64_t> r = rows(k1, k2);
    S.s.insert(S.s.end(), r.begin(), r.end());
    S.super.push_back(k2);
    S.pi.push_back(static_cast<int64_t>(S.s.size()));
    S.px.push_back(S.px.back() + w * static_cast<int64_t>(r.size()));
  }
  EXPECT_EQ(S.super.back(), n);
  return S;
}

// The lower triangle of A (entries inside the pattern) as CSC.
struct Csc {
  std::vector<int64_t> p, i;
  std::vector<double> x;
};
Csc lower_csc(const Dense& A, int64_t n, const Symbolic& S) {
  Csc c;
  c.p.push_back(0);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t r = n - 1; r >= j; --r) {  // any order within a column is allowed
      if (A[r * n + j] == 0.0) continue;
      EXPECT_GE(S.at(r, j), 0) << "A(" << r << ", " << j << ") outside the factor's pattern";
      c.i.push_back(r);
      c.x.push_back(A[r * n + j]);
    }
    c.p.push_back(static_cast<int64_t>(c.i.size()));
  }
  return c;
}

// Dense partial Cholesky reference: the first nf columns eliminated, Schur complement after.
Dense dense_partial(Dense A, int64_t n, int64_t nf) {
  for (int64_t k = 0; k < nf; ++k) {
    const double d = std::sqrt(A[k * n + k]);
    for (int64_t r = k; r < n; ++r) A[r * n + k] /= d;
    for (int64_t j = k + 1; j < n; ++j)
      for (int64_t r = j; r < n; ++r) A[r * n + j] -= A[r * n + k] * A[j * n + k];
  }
  return A;  // lower triangle meaningful
}

void expect_matches(const Dense& A, int64_t n, const Symbolic& S, int64_t nf) {
  const Csc c = lower_csc(A, n, S);
  std::vector<double> x(static_cast<size_t>(S.px.back()), -7.0);  // garbage: the kernel zeroes
  ASSERT_EQ(supernodal_cholesky(S.view(), c.p.data(), c.i.data(), c.x.data(), x.data(), nf), n);
  const Dense ref = dense_partial(A, n, nf);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = j; r < n; ++r) {
      const int64_t o = S.at(r, j);
      const double want = ref[r * n + j];
      if (o < 0) {
        EXPECT_NEAR(want, 0.0, 1e-12) << "fill outside the pattern at (" << r << ", " << j << ")";
        continue;
      }
      EXPECT_NEAR(x[o], want, 1e-11 * (1.0 + std::abs(want)))
          << "(" << r << ", " << j << "), nfactor " << nf;
    }
}

Dense random_spd(int64_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> z;
  Dense B(n * n), A(n * n, 0.0);
  for (double& b : B) b = z(g);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t k = 0; k < n; ++k) A[i * n + j] += B[i * n + k] * B[j * n + k];
      if (i == j) A[i * n + j] += static_cast<double>(n);
    }
  return A;
}

std::vector<int64_t> all_rows_from(int64_t k1, int64_t n) {
  std::vector<int64_t> r;
  for (int64_t i = k1; i < n; ++i) r.push_back(i);
  return r;
}

TEST(SupernodalCholesky, DensePatternAllWidthsFullAndPartial) {
  const int64_t n = 14;
  const Symbolic S = make_symbolic(n, {1, 3, 2, 4, 1, 3},
                                   [&](int64_t k1, int64_t) { return all_rows_from(k1, n); });
  const Dense A = random_spd(n, 3);
  // nfactor: none, inside the second supernode (straddling), on a boundary, all.
  for (int64_t nf : {int64_t(0), int64_t(2), int64_t(6), int64_t(9), n})
    expect_matches(A, n, S, nf);
}

TEST(SupernodalCholesky, TridiagonalAndArrowheadHaveNoFill) {
  const int64_t n = 30;
  Dense T(n * n, 0.0), W(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    T[i * n + i] = 4.0;
    if (i + 1 < n) T[i * n + i + 1] = T[(i + 1) * n + i] = -1.0 - 0.01 * static_cast<double>(i);
    W[i * n + i] = 2.0 + static_cast<double>(i == n - 1) * 4.0 * n;
    if (i + 1 < n) W[i * n + n - 1] = W[(n - 1) * n + i] = 0.5 + 0.03 * static_cast<double>(i);
  }
  const std::vector<int64_t> ones(n, 1);
  const Symbolic ST = make_symbolic(n, ones, [&](int64_t k1, int64_t) {
    return k1 + 1 < n ? std::vector<int64_t>{k1, k1 + 1} : std::vector<int64_t>{k1};
  });
  // Arrowhead: single columns, then the last three columns as one supernode.
  std::vector<int64_t> widths(n - 3, 1);
  widths.push_back(3);
  const Symbolic SW = make_symbolic(n, widths, [&](int64_t k1, int64_t k2) {
    std::vector<int64_t> r;
    for (int64_t j = k1; j < k2; ++j) r.push_back(j);
    if (k2 < n) r.push_back(n - 1);
    return k2 == n ? all_rows_from(k1, n) : r;
  });
  for (int64_t nf : {int64_t(0), int64_t(11), n - 2, n}) {
    expect_matches(T, n, ST, nf);
    expect_matches(W, n, SW, nf);
  }
}

TEST(SupernodalCholesky, ReportsTheFirstNonPositivePivot) {
  const int64_t n = 10;
  const Symbolic S =
      make_symbolic(n, {2, 3, 5}, [&](int64_t k1, int64_t) { return all_rows_from(k1, n); });
  Dense A(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) A[i * n + i] = 1.0;
  A[6 * n + 6] = -1.0;
  const Csc c = lower_csc(A, n, S);
  std::vector<double> x(static_cast<size_t>(S.px.back()));
  EXPECT_EQ(supernodal_cholesky(S.view(), c.p.data(), c.i.data(), c.x.data(), x.data(), n), 6);
  // Not eliminated, the bad pivot is just part of the Schur complement.
  EXPECT_EQ(supernodal_cholesky(S.view(), c.p.data(), c.i.data(), c.x.data(), x.data(), 5), n);
  EXPECT_EQ(x[S.at(6, 6)], -1.0);
}

}  // namespace

#else

TEST(SupernodalCholesky, NeedsSuiteSparse) {
  GTEST_SKIP() << "built without SuiteSparse (the kernel links its BLAS / LAPACK)";
}

#endif  // DSLA_HAVE_SUITESPARSE
