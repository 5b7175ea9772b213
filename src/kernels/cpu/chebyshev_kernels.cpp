// Chebyshev sweep and Lanczos estimate CPU kernels (see chebyshev_kernels.h).
#include "kernels/cpu/chebyshev_kernels.h"

#include <omp.h>

#include <cmath>
#include <vector>

namespace dsla::kernels::cpu {

template <class V, class I>
void cheb_first(const CsrView<V, I>& A, const ChebyshevVectors<V>& v, V c0, int nthreads) {
  const I* crow = A.crow;
  const I* col = A.col;
  const V* vals = A.vals;
  const V* dinv = v.dinv;
  const V* b = v.b;
  const V* x = v.x;
  V* r = v.r;
  V* d = v.d;
  const int64_t n = A.rows;
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
void cheb_step(const CsrView<V, I>& A, const ChebyshevVectors<V>& v, V ca, V cb, int mode,
               int nthreads) {
  const I* crow = A.crow;
  const I* col = A.col;
  const V* vals = A.vals;
  const V* dinv = v.dinv;
  const V* d = v.d;
  V* r = v.r;
  V* dn = v.dn;
  V* x = v.x;
  const int64_t n = A.rows;
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
void lanczos_tridiagonal(const CsrView<V, I>& A, const V* dinv, int64_t K, double* alpha,
                         double* beta, int nthreads) {
  const int64_t n = A.rows;
  const I* crow = A.crow;
  const I* col = A.col;
  const V* vals = A.vals;
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
  template void cheb_first<V, I>(const CsrView<V, I>&, const ChebyshevVectors<V>&, V, int);        \
  template void cheb_step<V, I>(const CsrView<V, I>&, const ChebyshevVectors<V>&, V, V, int, int); \
  template void lanczos_tridiagonal<V, I>(const CsrView<V, I>&, const V*, int64_t, double*,        \
                                          double*, int);
DSLA_INST(float, int32_t)
DSLA_INST(float, int64_t)
DSLA_INST(double, int32_t)
DSLA_INST(double, int64_t)
#undef DSLA_INST

}  // namespace dsla::kernels::cpu
