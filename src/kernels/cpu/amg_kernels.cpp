// AMG setup CPU kernels (see amg_kernels.h).
#include "kernels/cpu/amg_kernels.h"

#include <omp.h>

#include <cmath>

namespace dsla::kernels::cpu {

template <class V, class I>
void amg_strength_mark(const CsrView<V, I>& A, const V* absdiag, double theta, uint8_t* keep,
                       int64_t* count, int nthreads) {
  const I* crow = A.crow;
  const I* col = A.col;
  const V* vals = A.vals;
  const int64_t n = A.rows;
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = 0;
    const double di = static_cast<double>(absdiag[i]);
    for (I p = crow[i]; p < crow[i + 1]; ++p) {
      const I j = col[p];
      const double a = std::abs(static_cast<double>(vals[p]));
      const bool k = j != i && a > 0 && (theta <= 0 || a >= theta * std::sqrt(di * absdiag[j]));
      keep[p] = k;
      c += k;
    }
    count[i] = c;
  }
}

template <class I>
void amg_strength_fill(const CsrPattern<I>& A, const uint8_t* keep, const int64_t* s_crow, I* s_col,
                       int nthreads) {
  const I* crow = A.crow;
  const I* col = A.col;
  const int64_t n = A.rows;
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t i = 0; i < n; ++i) {
    int64_t q = s_crow[i];
    for (I p = crow[i]; p < crow[i + 1]; ++p)
      if (keep[p]) s_col[q++] = col[p];
  }
}

template <class V, class I>
void amg_smoothing_values(const CsrPattern<I>& A, int64_t nnz, int64_t B, const V* vals,
                          const V* dinv, const V* scale, V* out, int nthreads) {
  const I* crow = A.crow;
  const I* col = A.col;
  const int64_t n = A.rows;
  for (int64_t b = 0; b < B; ++b) {
    const V* v = vals + b * nnz;
    V* o = out + b * nnz;
    const V s = scale[b];
    const V* d = dinv + b * n;
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
    for (int64_t i = 0; i < n; ++i) {
      const V f = -s * d[i];
      for (I p = crow[i]; p < crow[i + 1]; ++p) o[p] = f * v[p] + (col[p] == i ? V(1) : V(0));
    }
  }
}

#define DSLA_INST(V, I)                                                                      \
  template void amg_strength_mark<V, I>(const CsrView<V, I>&, const V*, double, uint8_t*,    \
                                        int64_t*, int);                                      \
  template void amg_smoothing_values<V, I>(const CsrPattern<I>&, int64_t, int64_t, const V*, \
                                           const V*, const V*, V*, int);
DSLA_INST(float, int32_t)
DSLA_INST(float, int64_t)
DSLA_INST(double, int32_t)
DSLA_INST(double, int64_t)
#undef DSLA_INST
template void amg_strength_fill<int32_t>(const CsrPattern<int32_t>&, const uint8_t*, const int64_t*,
                                         int32_t*, int);
template void amg_strength_fill<int64_t>(const CsrPattern<int64_t>&, const uint8_t*, const int64_t*,
                                         int64_t*, int);

}  // namespace dsla::kernels::cpu
