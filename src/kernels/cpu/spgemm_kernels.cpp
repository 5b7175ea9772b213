// Gustavson SpGEMM, phase by phase (see spgemm_kernels.h). All phases share one driver: rows are
// split between threads by multiply count, and each thread owns one column -> slot map.
#include "kernels/cpu/spgemm_kernels.h"

#include <omp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/cpu/csr_kernels.h"

namespace dsla::kernels::cpu {
namespace {

// Dense map: one entry per column of C. As a marker (symbolic) it holds the last row that saw
// the column, so it is cleared once per call, not per row. As a slot table (numeric) it needs
// no clearing at all: a row sets the slot of each of its stored columns before reading any, and
// only stored columns are ever read (C's pattern is the full structural product).
template <class I>
class DenseSlots {
 public:
  DenseSlots(int64_t cols, bool as_marker) : a_(new I[std::max<int64_t>(cols, 1)]) {
    if (as_marker) std::fill(a_.get(), a_.get() + cols, I(-1));
  }
  void begin_row(int64_t i, int64_t /*capacity*/) { row_ = static_cast<I>(i); }
  bool insert(I k) {  // true when k is new in this row
    if (a_[k] == row_) return false;
    a_[k] = row_;
    return true;
  }
  void set(I k, I s) { a_[k] = s; }
  I get(I k) const { return a_[k]; }

 private:
  std::unique_ptr<I[]> a_;
  I row_ = -1;
};

// Open-addressing (linear probing) table sized to twice the row's capacity, cleared per row:
// O(row) memory and time instead of O(cols) memory per thread.
template <class I>
class HashSlots {
 public:
  HashSlots(int64_t /*cols*/, bool /*as_marker*/) {}
  void begin_row(int64_t /*i*/, int64_t capacity) {
    int bits = 4;
    while ((int64_t{1} << bits) < 2 * capacity) ++bits;
    const int64_t size = int64_t{1} << bits;
    if (size > static_cast<int64_t>(keys_.size())) {
      keys_.resize(size);
      vals_.resize(size);
    }
    shift_ = 64 - bits;
    mask_ = static_cast<uint64_t>(size - 1);
    std::fill(keys_.begin(), keys_.begin() + size, I(-1));
  }
  bool insert(I k) {
    const uint64_t h = find(k);
    if (keys_[h] == k) return false;
    keys_[h] = k;
    return true;
  }
  void set(I k, I s) {
    const uint64_t h = find(k);
    keys_[h] = k;
    vals_[h] = s;
  }
  I get(I k) const { return vals_[find(k)]; }

 private:
  uint64_t find(I k) const {  // slot holding k, or the empty slot where it would go
    uint64_t h = (static_cast<uint64_t>(k) * 0x9E3779B97F4A7C15ull) >> shift_;
    while (keys_[h] != k && keys_[h] != I(-1)) h = (h + 1) & mask_;
    return h;
  }
  std::vector<I> keys_, vals_;
  int shift_ = 60;
  uint64_t mask_ = 15;
};

// First row of thread t's share when rows are split into equal (work + rows): rows cost
// something even when empty.
int64_t work_split(int64_t rows, const int64_t* work, int t, int nt) {
  if (t == 0) return 0;
  if (t == nt) return rows;
  const int64_t target = (work[rows] + rows) * t / nt;
  int64_t lo = 0, hi = rows;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (work[mid] + mid < target) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

template <class Map, class F>
void for_rows_with(int64_t rows, int64_t cols, const int64_t* work, bool as_marker, int nthreads,
                   const F& f) {
  if (rows == 0) return;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, rows)));
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int64_t r0 = work_split(rows, work, t, nt), r1 = work_split(rows, work, t + 1, nt);
    if (r0 < r1) {
      Map map(cols, as_marker);
      for (int64_t i = r0; i < r1; ++i) f(i, map);
    }
  }
}

// f(i, map) for every row, with a dense or hashed map; f is a generic lambda.
template <class I, class F>
void for_rows(int64_t rows, int64_t cols, const int64_t* work, bool hash, bool as_marker,
              int nthreads, const F& f) {
  if (hash) {
    for_rows_with<HashSlots<I>>(rows, cols, work, as_marker, nthreads, f);
  } else {
    for_rows_with<DenseSlots<I>>(rows, cols, work, as_marker, nthreads, f);
  }
}

}  // namespace

template <class I>
void spgemm_work(const CsrPattern<I>& A, const I* b_crow, int64_t* work, int nthreads) {
  const int64_t rows = A.rows;
  const I* a_crow = A.crow;
  const I* a_col = A.col;
  work[0] = 0;
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    int64_t w = 0;
    for (I p = a_crow[i]; p < a_crow[i + 1]; ++p) w += b_crow[a_col[p] + 1] - b_crow[a_col[p]];
    work[i + 1] = w;
  }
  for (int64_t i = 0; i < rows; ++i) work[i + 1] += work[i];
}

template <class I>
void spgemm_symbolic_count(const CsrPattern<I>& A, const CsrPattern<I>& B, const SpgemmRows& rs,
                           int64_t* row_nnz) {
  const int64_t rows = A.rows, cols = rs.cols;
  const int64_t* work = rs.work;
  const I* a_crow = A.crow;
  const I* a_col = A.col;
  const I* b_crow = B.crow;
  const I* b_col = B.col;
  for_rows<I>(rows, cols, work, rs.hash, /*as_marker=*/true, rs.nthreads,
              [&](int64_t i, auto& map) {
                map.begin_row(i, std::min(work[i + 1] - work[i], cols));
                int64_t n = 0;
                for (I p = a_crow[i]; p < a_crow[i + 1]; ++p) {
                  const I j = a_col[p];
                  for (I q = b_crow[j]; q < b_crow[j + 1]; ++q) n += map.insert(b_col[q]) ? 1 : 0;
                }
                row_nnz[i] = n;
              });
}

template <class I>
void spgemm_symbolic_fill(const CsrPattern<I>& A, const CsrPattern<I>& B, const SpgemmRows& rs,
                          const I* c_crow, I* c_col) {
  const int64_t rows = A.rows, cols = rs.cols;
  const int64_t* work = rs.work;
  const I* a_crow = A.crow;
  const I* a_col = A.col;
  const I* b_crow = B.crow;
  const I* b_col = B.col;
  for_rows<I>(rows, cols, work, rs.hash, /*as_marker=*/true, rs.nthreads,
              [&](int64_t i, auto& map) {
                map.begin_row(i, c_crow[i + 1] - c_crow[i]);
                I* out = c_col + c_crow[i];
                I* end = out;
                for (I p = a_crow[i]; p < a_crow[i + 1]; ++p) {
                  const I j = a_col[p];
                  for (I q = b_crow[j]; q < b_crow[j + 1]; ++q) {
                    if (map.insert(b_col[q])) *end++ = b_col[q];
                  }
                }
                // A row with one entry copies a (sorted) row of B: skip the sort then.
                if (!std::is_sorted(out, end)) std::sort(out, end);
              });
}

template <class V, class I>
void spgemm_numeric(const CsrView<V, I>& A, const CsrView<V, I>& B, const CsrOut<V, I>& C,
                    int64_t batch, const SpgemmRows& rs) {
  const int64_t rows = A.rows, cols = rs.cols;
  const int64_t* work = rs.work;
  const I* a_crow = A.crow;
  const I* a_col = A.col;
  const I* b_crow = B.crow;
  const I* b_col = B.col;
  const I* c_crow = C.crow;
  const I* c_col = C.col;
  const V* a_vals = A.vals;
  const V* b_vals = B.vals;
  V* c_vals = C.vals;
  const int64_t a_bstride = A.vals_bstride, b_bstride = B.vals_bstride, c_bstride = C.vals_bstride;
  for_rows<I>(rows, cols, work, rs.hash, /*as_marker=*/false, rs.nthreads,
              [&](int64_t i, auto& map) {
                const I c0 = c_crow[i], c1 = c_crow[i + 1];
                map.begin_row(i, c1 - c0);
                for (I q = c0; q < c1; ++q) map.set(c_col[q], q);
                // The map is built once per row and reused by every batch member.
                for (int64_t b = 0; b < batch; ++b) {
                  const V* av = a_vals + b * a_bstride;
                  const V* bv = b_vals + b * b_bstride;
                  V* cv = c_vals + b * c_bstride;
                  std::fill(cv + c0, cv + c1, V(0));
                  for (I p = a_crow[i]; p < a_crow[i + 1]; ++p) {
                    const V a = av[p];
                    const I j = a_col[p];
                    for (I q = b_crow[j]; q < b_crow[j + 1]; ++q)
                      cv[map.get(b_col[q])] += a * bv[q];
                  }
                }
              });
}

template <class V, class I>
void spgemm_sampled(const CsrView<V, I>& G, const CsrView<V, I>& H, const CsrOut<V, I>& S,
                    int64_t batch, const SpgemmRows& rs) {
  const int64_t rows = S.rows, cols = rs.cols;
  const int64_t* work = rs.work;
  const I* p_crow = S.crow;
  const I* p_col = S.col;
  const I* g_crow = G.crow;
  const I* g_col = G.col;
  const I* h_crow = H.crow;
  const I* h_col = H.col;
  const V* g_vals = G.vals;
  const V* h_vals = H.vals;
  V* s_vals = S.vals;
  const int64_t g_bstride = G.vals_bstride, h_bstride = H.vals_bstride, s_bstride = S.vals_bstride;
  for_rows<I>(rows, cols, work, rs.hash, /*as_marker=*/false, rs.nthreads,
              [&](int64_t i, auto& map) {
                const I g0 = g_crow[i], g1 = g_crow[i + 1];
                map.begin_row(i, g1 - g0);
                for (I q = g0; q < g1; ++q) map.set(g_col[q], q);
                for (int64_t b = 0; b < batch; ++b) {
                  const V* gv = g_vals + b * g_bstride;
                  const V* hv = h_vals + b * h_bstride;
                  V* sv = s_vals + b * s_bstride;
                  for (I p = p_crow[i]; p < p_crow[i + 1]; ++p) {
                    const I j = p_col[p];
                    V s = V(0);
                    for (I q = h_crow[j]; q < h_crow[j + 1]; ++q)
                      s += gv[map.get(h_col[q])] * conj_if(hv[q]);
                    sv[p] = s;
                  }
                }
              });
}

template <class I>
void spgemm_expand(const CsrPattern<I>& A, const CsrPattern<I>& B, const CsrPattern<I>& C,
                   const SpgemmRows& rs, int64_t* a_pos, int64_t* b_pos, int64_t* c_pos) {
  const int64_t rows = A.rows, cols = rs.cols;
  const int64_t* work = rs.work;
  const I* a_crow = A.crow;
  const I* a_col = A.col;
  const I* b_crow = B.crow;
  const I* b_col = B.col;
  const I* c_crow = C.crow;
  const I* c_col = C.col;
  for_rows<I>(rows, cols, work, rs.hash, /*as_marker=*/false, rs.nthreads,
              [&](int64_t i, auto& map) {
                map.begin_row(i, c_crow[i + 1] - c_crow[i]);
                for (I q = c_crow[i]; q < c_crow[i + 1]; ++q) map.set(c_col[q], q);
                int64_t t = work[i];
                for (I p = a_crow[i]; p < a_crow[i + 1]; ++p) {
                  const I j = a_col[p];
                  for (I q = b_crow[j]; q < b_crow[j + 1]; ++q, ++t) {
                    a_pos[t] = p;
                    b_pos[t] = q;
                    c_pos[t] = map.get(b_col[q]);
                  }
                }
              });
}

#define DSLA_INSTANTIATE_I(I)                                                                      \
  template void spgemm_work<I>(const CsrPattern<I>&, const I*, int64_t*, int);                     \
  template void spgemm_symbolic_count<I>(const CsrPattern<I>&, const CsrPattern<I>&,               \
                                         const SpgemmRows&, int64_t*);                             \
  template void spgemm_symbolic_fill<I>(const CsrPattern<I>&, const CsrPattern<I>&,                \
                                        const SpgemmRows&, const I*, I*);                          \
  template void spgemm_expand<I>(const CsrPattern<I>&, const CsrPattern<I>&, const CsrPattern<I>&, \
                                 const SpgemmRows&, int64_t*, int64_t*, int64_t*);
DSLA_INSTANTIATE_I(int32_t)
DSLA_INSTANTIATE_I(int64_t)
#undef DSLA_INSTANTIATE_I

#define DSLA_INSTANTIATE(V, I)                                                         \
  template void spgemm_numeric<V, I>(const CsrView<V, I>&, const CsrView<V, I>&,       \
                                     const CsrOut<V, I>&, int64_t, const SpgemmRows&); \
  template void spgemm_sampled<V, I>(const CsrView<V, I>&, const CsrView<V, I>&,       \
                                     const CsrOut<V, I>&, int64_t, const SpgemmRows&);
#define DSLA_INSTANTIATE_V(V)  \
  DSLA_INSTANTIATE(V, int32_t) \
  DSLA_INSTANTIATE(V, int64_t)
DSLA_INSTANTIATE_V(float)
DSLA_INSTANTIATE_V(double)
DSLA_INSTANTIATE_V(std::complex<float>)
DSLA_INSTANTIATE_V(std::complex<double>)
#undef DSLA_INSTANTIATE_V
#undef DSLA_INSTANTIATE

}  // namespace dsla::kernels::cpu
