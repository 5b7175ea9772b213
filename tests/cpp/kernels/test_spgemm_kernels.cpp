// SpGEMM kernels (torch-free): dense and hashed column maps agree with a naive triple loop, for
// both index types; the sampled product equals the gradient formula; the entry map reproduces C.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "kernels/cpu/spgemm_kernels.h"

namespace kc = dsla::kernels::cpu;

namespace {

template <class I>
struct Csr {
  int64_t rows = 0, cols = 0;
  std::vector<I> crow, col;
  std::vector<double> val;
};

template <class I>
Csr<I> random_csr(int64_t rows, int64_t cols, double density, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Csr<I> m;
  m.rows = rows;
  m.cols = cols;
  m.crow.push_back(0);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      if (u(rng) < density) {
        m.col.push_back(static_cast<I>(j));
        m.val.push_back(u(rng) - 0.5);
      }
    }
    m.crow.push_back(static_cast<I>(m.col.size()));
  }
  return m;
}

template <class I>
dsla::kernels::CsrPattern<I> pattern(const Csr<I>& m) {
  return {m.rows, m.crow.data(), m.col.data()};
}
template <class I>
dsla::kernels::CsrView<double, I> view(const Csr<I>& m) {
  return {m.rows, m.crow.data(), m.col.data(), m.val.data(), 0};
}
template <class I>
dsla::kernels::CsrOut<double, I> out(Csr<I>& m, double* vals) {
  return {m.rows, m.crow.data(), m.col.data(), vals, 0};
}

template <class I>
Csr<I> product(const Csr<I>& a, const Csr<I>& b, bool hash) {
  std::vector<int64_t> work(a.rows + 1), nnz(a.rows);
  kc::spgemm_work<I>(pattern(a), b.crow.data(), work.data(), 2);
  const kc::SpgemmRows rs{b.cols, work.data(), hash, 2};
  kc::spgemm_symbolic_count<I>(pattern(a), pattern(b), rs, nnz.data());
  Csr<I> c;
  c.rows = a.rows;
  c.cols = b.cols;
  c.crow.assign(a.rows + 1, 0);
  for (int64_t i = 0; i < a.rows; ++i) c.crow[i + 1] = c.crow[i] + static_cast<I>(nnz[i]);
  c.col.resize(c.crow.back());
  c.val.resize(c.crow.back());
  kc::spgemm_symbolic_fill<I>(pattern(a), pattern(b), rs, c.crow.data(), c.col.data());
  kc::spgemm_numeric<double, I>(view(a), view(b), out(c, c.val.data()), 1, rs);
  return c;
}

template <class I>
void check_against_naive(bool hash) {
  auto a = random_csr<I>(37, 29, 0.1, 1);
  auto b = random_csr<I>(29, 41, 0.1, 2);
  auto c = product(a, b, hash);
  std::map<std::pair<int64_t, int64_t>, double> ref;
  for (int64_t i = 0; i < a.rows; ++i) {
    for (I p = a.crow[i]; p < a.crow[i + 1]; ++p) {
      for (I q = b.crow[a.col[p]]; q < b.crow[a.col[p] + 1]; ++q) {
        ref[{i, b.col[q]}] += a.val[p] * b.val[q];
      }
    }
  }
  ASSERT_EQ(static_cast<size_t>(c.crow.back()), ref.size());
  auto it = ref.begin();
  for (int64_t i = 0; i < c.rows; ++i) {
    for (I p = c.crow[i]; p < c.crow[i + 1]; ++p, ++it) {
      ASSERT_EQ(it->first.first, i);
      ASSERT_EQ(it->first.second, c.col[p]);  // sorted columns
      EXPECT_NEAR(it->second, c.val[p], 1e-14);
    }
  }
  // Entry map: summing products at c_pos reproduces C.
  std::vector<int64_t> work(a.rows + 1);
  kc::spgemm_work<I>(pattern(a), b.crow.data(), work.data(), 2);
  const kc::SpgemmRows rs{b.cols, work.data(), hash, 2};
  const int64_t t = work.back();
  std::vector<int64_t> ap(t), bp(t), cp(t);
  kc::spgemm_expand<I>(pattern(a), pattern(b), pattern(c), rs, ap.data(), bp.data(), cp.data());
  std::vector<double> cv(c.val.size(), 0.0);
  for (int64_t k = 0; k < t; ++k) cv[cp[k]] += a.val[ap[k]] * b.val[bp[k]];
  for (size_t k = 0; k < cv.size(); ++k) EXPECT_NEAR(cv[k], c.val[k], 1e-14);
  // Sampled product on A's pattern with G = C's values: sum_k C(i,k) B(j,k).
  std::vector<double> s(a.val.size());
  kc::spgemm_sampled<double, I>(view(c), view(b), out(a, s.data()), 1, rs);
  std::vector<double> s_ref(a.val.size(), 0.0);
  for (int64_t k = 0; k < t; ++k) s_ref[ap[k]] += cv[cp[k]] * b.val[bp[k]];
  for (size_t k = 0; k < s.size(); ++k) EXPECT_NEAR(s[k], s_ref[k], 1e-13);
}

TEST(SpgemmKernels, DenseInt32) {
  check_against_naive<int32_t>(false);
}
TEST(SpgemmKernels, HashInt32) {
  check_against_naive<int32_t>(true);
}
TEST(SpgemmKernels, DenseInt64) {
  check_against_naive<int64_t>(false);
}
TEST(SpgemmKernels, HashInt64) {
  check_against_naive<int64_t>(true);
}

}  // namespace
