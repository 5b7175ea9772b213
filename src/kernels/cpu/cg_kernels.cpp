// Fused CG kernels: see cg_kernels.h. Bytes per iteration (k = 1, Jacobi) for n rows, nnz
// entries, value size v, index size i: spmv_dot nnz (v + i) + n (i + 3v) (p read, q written);
// update 7 n v (x, r read+write; p, q, dinv read); direction 4 n v (p read+write; r, dinv read).
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/cg_kernels.h"
#include "kernels/cpu/csr_kernels.h"

namespace dsla::kernels::cpu {
namespace {

inline double re_dot(float a, float b) {
  return double(a) * b;
}
inline double re_dot(double a, double b) {
  return a * b;
}
template <class T>
inline double re_dot(const std::complex<T>& a, const std::complex<T>& b) {
  return double(a.real()) * b.real() + double(a.imag()) * b.imag();
}

// Threads worth using for `work` elements: small problems stay on one thread.
int threads_for(int64_t work, int nthreads) {
  const int64_t t = std::max<int64_t>(1, std::min<int64_t>(nthreads, work / 8192));
  return static_cast<int>(t);
}

// Sums per-thread partials [nt][m] in thread order into out[m] (cast to R).
template <class R>
void reduce_partials(const std::vector<double>& part, int nt, int64_t m, R* out) {
  for (int64_t s = 0; s < m; ++s) {
    double acc = 0;
    for (int t = 0; t < nt; ++t) acc += part[t * m + s];
    out[s] = static_cast<R>(acc);
  }
}

}  // namespace

template <class V, class I, class X>
void cg_spmv_dot(const CsrView<V, I>& A, const BlockShape& shape, const X* p, X* q,
                 real_of_t<X>* pq, int nthreads) {
  const int64_t rows = A.rows, k = shape.k, batch = shape.batch, vals_bstride = A.vals_bstride;
  const I* crow = A.crow;
  const I* col = A.col;
  const V* vals = A.vals;
  const int64_t m = batch * k;
  if (m == 0) return;
  const int nt = threads_for(rows * batch * k + static_cast<int64_t>(crow[rows]), nthreads);
  std::vector<double> part(static_cast<size_t>(nt * m), 0.0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = omp_get_thread_num();
    const int64_t r0 = row_split(rows, crow, t, nt), r1 = row_split(rows, crow, t + 1, nt);
    double* acc = part.data() + t * m;
    for (int64_t b = 0; b < batch; ++b) {
      const V* vb = vals + b * vals_bstride;
      const X* pb = p + b * rows * k;
      X* qb = q + b * rows * k;
      if (k == 1) {
        double s = 0;
        for (int64_t i = r0; i < r1; ++i) {
          X y = X(0);
          for (I e = crow[i]; e < crow[i + 1]; ++e) y += X(vb[e]) * pb[col[e]];
          qb[i] = y;
          s += re_dot(pb[i], y);
        }
        acc[b] += s;
      } else {
        double* ab = acc + b * k;
        for (int64_t i = r0; i < r1; ++i) {
          X* qi = qb + i * k;
          std::fill(qi, qi + k, X(0));
          for (I e = crow[i]; e < crow[i + 1]; ++e) {
            const X a = X(vb[e]);
            const X* pr = pb + static_cast<int64_t>(col[e]) * k;
            for (int64_t j = 0; j < k; ++j) qi[j] += a * pr[j];
          }
          const X* pi = pb + i * k;
          for (int64_t j = 0; j < k; ++j) ab[j] += re_dot(pi[j], qi[j]);
        }
      }
    }
  }
  reduce_partials(part, nt, m, pq);
}

template <class V>
void cg_update(const BlockShape& shape, const CgVectors<V>& v, const CgScalars<real_of_t<V>>& c,
               int nthreads) {
  using R = real_of_t<V>;
  const int64_t n = shape.n, k = shape.k, batch = shape.batch, dinv_bstride = v.dinv_bstride;
  V* x = v.x;
  V* r = v.r;
  const V* p = v.p;
  const V* q = v.q;
  const V* dinv = v.dinv;
  const R* rz = c.rz;
  const R* pq = c.pq;
  const R* active = c.active;
  R* rz_new = c.rz_new;
  R* rr = c.rr;
  const int64_t m = batch * k;
  if (m == 0) return;
  std::vector<R> alpha(static_cast<size_t>(m));
  for (int64_t s = 0; s < m; ++s) {
    const bool on = active == nullptr || active[s] != R(0);
    alpha[s] = (on && pq[s] != R(0)) ? rz[s] / pq[s] : R(0);
  }
  const int nt = threads_for(n * m, nthreads);
  std::vector<double> part_rz(static_cast<size_t>(nt * m), 0.0), part_rr(part_rz.size(), 0.0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = omp_get_thread_num();
    const int64_t i0 = n * t / nt, i1 = n * (t + 1) / nt;
    double* arz = part_rz.data() + t * m;
    double* arr = part_rr.data() + t * m;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t off = b * n * k;
      V* xb = x + off;
      V* rb = r + off;
      const V* pb = p + off;
      const V* qb = q + off;
      const V* db = dinv ? dinv + b * dinv_bstride : nullptr;
      if (k == 1) {
        const R a = alpha[b];
        double srz = 0, srr = 0;
        if (a != R(0)) {
          for (int64_t i = i0; i < i1; ++i) {
            xb[i] += a * pb[i];
            const V ri = rb[i] - a * qb[i];
            rb[i] = ri;
            const double rri = re_dot(ri, ri);
            srr += rri;
            srz += db ? re_dot(ri, db[i] * ri) : rri;
          }
        } else {
          for (int64_t i = i0; i < i1; ++i) {
            const V ri = rb[i];
            const double rri = re_dot(ri, ri);
            srr += rri;
            srz += db ? re_dot(ri, db[i] * ri) : rri;
          }
        }
        arz[b] += srz;
        arr[b] += srr;
      } else {
        const R* ab = alpha.data() + b * k;
        double* rzb = arz + b * k;
        double* rrb = arr + b * k;
        for (int64_t i = i0; i < i1; ++i) {
          const V d = db ? db[i] : V(1);
          for (int64_t j = 0; j < k; ++j) {
            const int64_t e = i * k + j;
            xb[e] += ab[j] * pb[e];
            const V ri = rb[e] - ab[j] * qb[e];
            rb[e] = ri;
            const double rri = re_dot(ri, ri);
            rrb[j] += rri;
            rzb[j] += db ? re_dot(ri, d * ri) : rri;
          }
        }
      }
    }
  }
  reduce_partials(part_rz, nt, m, rz_new);
  reduce_partials(part_rr, nt, m, rr);
}

template <class V>
void cg_direction(const BlockShape& shape, const CgVectors<V>& v, const CgScalars<real_of_t<V>>& c,
                  int nthreads) {
  using R = real_of_t<V>;
  const int64_t n = shape.n, k = shape.k, batch = shape.batch, dinv_bstride = v.dinv_bstride;
  V* p = v.p;
  const V* r = v.r;
  const V* z = v.z;
  const V* dinv = v.dinv;
  R* rz = c.rz;
  const R* rz_new = c.rz_new;
  const R* active = c.active;
  using R = real_of_t<V>;
  const int64_t m = batch * k;
  if (m == 0) return;
  std::vector<R> beta(static_cast<size_t>(m));
  std::vector<char> on(static_cast<size_t>(m));
  for (int64_t s = 0; s < m; ++s) {
    on[s] = active == nullptr || active[s] != R(0);
    beta[s] = rz[s] != R(0) ? rz_new[s] / rz[s] : R(0);
  }
  const int nt = threads_for(n * m, nthreads);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = omp_get_thread_num();
    const int64_t i0 = n * t / nt, i1 = n * (t + 1) / nt;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t off = b * n * k;
      V* pb = p + off;
      const V* rb = r + off;
      const V* zb = z ? z + off : nullptr;
      const V* db = dinv ? dinv + b * dinv_bstride : nullptr;
      if (k == 1) {
        if (!on[b]) continue;
        const R be = beta[b];
        if (zb) {
          for (int64_t i = i0; i < i1; ++i) pb[i] = zb[i] + be * pb[i];
        } else if (db) {
          for (int64_t i = i0; i < i1; ++i) pb[i] = db[i] * rb[i] + be * pb[i];
        } else {
          for (int64_t i = i0; i < i1; ++i) pb[i] = rb[i] + be * pb[i];
        }
      } else {
        const R* bb = beta.data() + b * k;
        const char* ob = on.data() + b * k;
        for (int64_t i = i0; i < i1; ++i) {
          const V d = db ? db[i] : V(1);
          for (int64_t j = 0; j < k; ++j) {
            if (!ob[j]) continue;
            const int64_t e = i * k + j;
            const V zz = zb ? zb[e] : d * rb[e];
            pb[e] = zz + bb[j] * pb[e];
          }
        }
      }
    }
  }
  for (int64_t s = 0; s < m; ++s)
    if (on[s]) rz[s] = rz_new[s];
}

#define DSLA_CG_INSTANTIATE_V(V)                                        \
  template void cg_update<V>(const BlockShape&, const CgVectors<V>&,    \
                             const CgScalars<real_of_t<V>>&, int);      \
  template void cg_direction<V>(const BlockShape&, const CgVectors<V>&, \
                                const CgScalars<real_of_t<V>>&, int);
#define DSLA_CG_INSTANTIATE_VI(V, I)                                                     \
  template void cg_spmv_dot<V, I>(const CsrView<V, I>&, const BlockShape&, const V*, V*, \
                                  real_of_t<V>*, int);

DSLA_CG_INSTANTIATE_V(float)
DSLA_CG_INSTANTIATE_V(double)
DSLA_CG_INSTANTIATE_V(std::complex<float>)
DSLA_CG_INSTANTIATE_V(std::complex<double>)
DSLA_CG_INSTANTIATE_VI(float, int32_t)
DSLA_CG_INSTANTIATE_VI(double, int32_t)
DSLA_CG_INSTANTIATE_VI(std::complex<float>, int32_t)
DSLA_CG_INSTANTIATE_VI(std::complex<double>, int32_t)
DSLA_CG_INSTANTIATE_VI(float, int64_t)
DSLA_CG_INSTANTIATE_VI(double, int64_t)
DSLA_CG_INSTANTIATE_VI(std::complex<float>, int64_t)
DSLA_CG_INSTANTIATE_VI(std::complex<double>, int64_t)
template void cg_spmv_dot<float, int32_t, double>(const CsrView<float, int32_t>&, const BlockShape&,
                                                  const double*, double*, double*, int);
template void cg_spmv_dot<float, int64_t, double>(const CsrView<float, int64_t>&, const BlockShape&,
                                                  const double*, double*, double*, int);

}  // namespace dsla::kernels::cpu
