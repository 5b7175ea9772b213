// AMG setup / smoother CPU kernels (see amg_kernels.h).
#include "kernels/cpu/amg_kernels.h"

#include <omp.h>

#include <cmath>
#include <vector>

namespace dsla::kernels::cpu {

template <class V, class I>
void amg_strength_mark(int64_t n, const I* crow, const I* col, const V* vals, const V* absdiag,
                       double theta, uint8_t* keep, int64_t* count, int nthreads) {
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
void amg_strength_fill(int64_t n, const I* crow, const I* col, const uint8_t* keep,
                       const int64_t* s_crow, I* s_col, int nthreads) {
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t i = 0; i < n; ++i) {
    int64_t q = s_crow[i];
    for (I p = crow[i]; p < crow[i + 1]; ++p)
      if (keep[p]) s_col[q++] = col[p];
  }
}

template <class V, class I>
void amg_cheb_first(int64_t n, const I* crow, const I* col, const V* vals, const V* dinv, V c0,
                    const V* b, const V* x, V* r, V* d, int nthreads) {
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t i = 0; i < n; ++i) {
    V s = b[i];
    if (x) {
      for (I p = crow[i]; p < crow[i + 1]; ++p) s -= vals[p] * x[col[p]];
    }
    r[i] = s;
    d[i] = c0 * dinv[i] * s;
  }
}

template <class V, class I>
void amg_cheb_step(int64_t n, const I* crow, const I* col, const V* vals, const V* dinv, V ca, V cb,
                   V* r, const V* d, V* dn, V* x, int mode, int nthreads) {
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024)
  for (int64_t i = 0; i < n; ++i) {
    V s = 0;
    for (I p = crow[i]; p < crow[i + 1]; ++p) s += vals[p] * d[col[p]];
    const V ri = r[i] - s;
    r[i] = ri;
    const V e = ca * d[i] + cb * dinv[i] * ri;
    dn[i] = e;
    if (mode == 0) {
      x[i] += e;
    } else if (mode == 1) {
      x[i] += d[i] + e;
    } else {
      x[i] = d[i] + e;
    }
  }
}

template <class V, class I>
void amg_lanczos(int64_t n, const I* crow, const I* col, const V* vals, const V* dinv, int64_t K,
                 double* alpha, double* beta, int nthreads) {
  std::vector<double> s(n), v(n), vp(n, 0.0), w(n);
  double nn = 0;
#pragma omp parallel for num_threads(nthreads) schedule(static) reduction(+ : nn)
  for (int64_t i = 0; i < n; ++i) {
    s[i] = std::sqrt(static_cast<double>(dinv[i]));
    const double t = static_cast<double>(i) * 0.6180339887498949 + 0.25;
    v[i] = (t - std::floor(t)) - 0.5;
    nn += v[i] * v[i];
  }
  const double inv = 1.0 / std::sqrt(nn);
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int64_t i = 0; i < n; ++i) v[i] *= inv;
  double b = 0;
  for (int64_t j = 0; j < K; ++j) {
    double a = 0;
#pragma omp parallel for num_threads(nthreads) schedule(static, 1024) reduction(+ : a)
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0;
      for (I p = crow[i]; p < crow[i + 1]; ++p) acc += vals[p] * s[col[p]] * v[col[p]];
      w[i] = s[i] * acc;
      a += w[i] * v[i];
    }
    double ww = 0;
#pragma omp parallel for num_threads(nthreads) schedule(static) reduction(+ : ww)
    for (int64_t i = 0; i < n; ++i) {
      w[i] -= a * v[i] + b * vp[i];
      ww += w[i] * w[i];
    }
    double bn = std::sqrt(ww);
    const bool ok = bn > 1e-10 * std::abs(a);
    const double sc = ok ? 1.0 / bn : 0.0;
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      vp[i] = v[i];
      v[i] = w[i] * sc;
    }
    b = ok ? bn : 0.0;
    alpha[j] = a;
    if (j + 1 < K) beta[j] = b;
  }
}

#define DSLA_INST(V, I)                                                                            \
  template void amg_strength_mark<V, I>(int64_t, const I*, const I*, const V*, const V*, double,   \
                                        uint8_t*, int64_t*, int);                                  \
  template void amg_cheb_first<V, I>(int64_t, const I*, const I*, const V*, const V*, V, const V*, \
                                     const V*, V*, V*, int);                                       \
  template void amg_cheb_step<V, I>(int64_t, const I*, const I*, const V*, const V*, V, V, V*,     \
                                    const V*, V*, V*, int, int);                                   \
  template void amg_lanczos<V, I>(int64_t, const I*, const I*, const V*, const V*, int64_t,        \
                                  double*, double*, int);
DSLA_INST(float, int32_t)
DSLA_INST(float, int64_t)
DSLA_INST(double, int32_t)
DSLA_INST(double, int64_t)
#undef DSLA_INST
template void amg_strength_fill<int32_t>(int64_t, const int32_t*, const int32_t*, const uint8_t*,
                                         const int64_t*, int32_t*, int);
template void amg_strength_fill<int64_t>(int64_t, const int64_t*, const int64_t*, const uint8_t*,
                                         const int64_t*, int64_t*, int);

}  // namespace dsla::kernels::cpu
