// COO summary for `dsla info`: sort the entries by (row, col), sum duplicates, then one pass per
// row for the counts and dominance, and a binary search per entry for its mirror.
#include "kernels/cpu/coo_summary.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace dsla::kernels::cpu {
namespace {

// sqrt(sum x^2): the plain sum of squares, exact to rounding, unless it overflows or underflows;
// then the scaled sum (by the largest |x| so far), which never does but rounds a little more.
class FroNorm {
 public:
  void add(double x) {
    x = std::fabs(x);
    if (x == 0) return;
    plain_ += x * x;
    if (x > scale_) {
      const double r = scale_ / x;
      ssq_ = 1 + ssq_ * r * r;
      scale_ = x;
    } else {
      const double r = x / scale_;
      ssq_ += r * r;
    }
  }
  double value() const {
    if (std::isfinite(plain_) && plain_ >= 0x1p-900) return std::sqrt(plain_);
    return scale_ * std::sqrt(ssq_);
  }

 private:
  double plain_ = 0, scale_ = 0, ssq_ = 0;
};

}  // namespace

template <class T>
CooSummary summarize_coo(int64_t rows, int64_t cols, size_t n, const int64_t* row,
                         const int64_t* col, const T* re, const T* im, double sym_rtol) {
  CooSummary s;
  // 1. Distinct positions in (row, col) order: `first[q]` is the first input entry at position
  // q (the sort's own array, compacted in place), values summed in input order.
  std::vector<size_t> first(n);
  std::iota(first.begin(), first.end(), size_t{0});
  std::stable_sort(first.begin(), first.end(), [&](size_t a, size_t b) {
    return row[a] != row[b] ? row[a] < row[b] : col[a] < col[b];
  });
  const auto same = [&](size_t a, size_t b) { return row[a] == row[b] && col[a] == col[b]; };
  size_t m = 0;
  for (size_t p = 0; p < n; ++p) m += p == 0 || !same(first[p], first[p - 1]);
  std::vector<T> vr(m, T(0)), vi(im ? m : 0, T(0));
  size_t q = 0;  // positions so far; first[q - 1] is the current one (q <= p: reads stay ahead)
  for (size_t p = 0; p < n; ++p) {
    const size_t k = first[p];
    if (q == 0 || !same(k, first[q - 1])) first[q++] = k;
    vr[q - 1] += re ? re[k] : T(1);
    if (im) vi[q - 1] += im[k];
  }
  first.resize(m);
  const auto ur = [&](size_t u) { return row[first[u]]; };
  const auto uc = [&](size_t u) { return col[first[u]]; };
  s.nnz = static_cast<int64_t>(m);
  const auto mag = [&](size_t u) {
    return std::hypot(static_cast<double>(vr[u]), im ? static_cast<double>(vi[u]) : 0.0);
  };

  // 2. Rows: entry counts, dominance, zero diagonals, and the norm.
  const bool square = rows == cols;
  int64_t rows_seen = 0;
  s.row_nnz_min = std::numeric_limits<int64_t>::max();
  FroNorm fro;
  for (size_t b = 0; b < m;) {
    size_t e = b;
    double diag = 0, off = 0;
    for (; e < m && ur(e) == ur(b); ++e) {
      const double a = mag(e);
      fro.add(a);
      (uc(e) == ur(b) ? diag : off) += a;
    }
    const int64_t count = static_cast<int64_t>(e - b);
    s.row_nnz_min = std::min(s.row_nnz_min, count);
    s.row_nnz_max = std::max(s.row_nnz_max, count);
    s.dominant_rows += diag >= off;
    s.strictly_dominant_rows += diag > off;
    s.zero_diagonals += diag == 0;
    ++rows_seen;
    b = e;
  }
  s.norm_fro = fro.value();
  const int64_t empty_rows = rows - rows_seen;  // |a_ii| = 0 >= 0 = their off-diagonal sum
  if (empty_rows > 0 || rows_seen == 0) s.row_nnz_min = 0;
  if (!square) {
    s.dominant_rows = s.strictly_dominant_rows = s.zero_diagonals = 0;
    return s;
  }
  s.dominant_rows += empty_rows;
  s.zero_diagonals += empty_rows;

  // 3. Symmetry: every entry against its mirror (a missing mirror is a zero).
  s.pattern_symmetric = true;
  double scale = 0, worst = 0;
  for (size_t u = 0; u < m; ++u) {
    scale = std::max(scale, mag(u));
    // First position >= (uc(u), ur(u)) in (row, col) order.
    size_t lo = 0, hi = m;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (ur(mid) < uc(u) || (ur(mid) == uc(u) && uc(mid) < ur(u))) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    const bool found = lo < m && ur(lo) == uc(u) && uc(lo) == ur(u);
    s.pattern_symmetric = s.pattern_symmetric && found;
    const T dr = found ? T(vr[u] - vr[lo]) : vr[u];
    const T ui = im ? vi[u] : T(0), li = im && found ? vi[lo] : T(0);
    const T di = T(ui + li);  // a - conj(b)
    worst = std::max(worst, std::hypot(static_cast<double>(dr), static_cast<double>(di)));
  }
  s.symmetric = worst <= sym_rtol * scale;
  return s;
}

template CooSummary summarize_coo<float>(int64_t, int64_t, size_t, const int64_t*, const int64_t*,
                                         const float*, const float*, double);
template CooSummary summarize_coo<double>(int64_t, int64_t, size_t, const int64_t*, const int64_t*,
                                          const double*, const double*, double);

}  // namespace dsla::kernels::cpu
