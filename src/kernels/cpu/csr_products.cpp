// CSR x dense products (SpMV / SpMM) and the sampled product that gives their value gradient.
#include <omp.h>

#include <algorithm>

#include "kernels/cpu/csr_kernels.h"

namespace dsla::kernels::cpu {

template <class V, class I, class X>
void csr_spmm(const CsrView<V, I>& A, int64_t k, int64_t batch, Batched<const X> xs, Batched<X> ys,
              int nthreads) {
  const int64_t rows = A.rows, vals_bstride = A.vals_bstride, x_bstride = xs.bstride,
                y_bstride = ys.bstride;
  const I* crow = A.crow;
  const I* col = A.col;
  const V* vals = A.vals;
  const X* x = xs.data;
  X* y = ys.data;
  if (rows == 0 || k == 0 || batch == 0) return;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, rows)));
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int64_t r0 = row_split(rows, crow, t, nt), r1 = row_split(rows, crow, t + 1, nt);
    for (int64_t b = 0; b < batch; ++b) {
      const V* vb = vals + b * vals_bstride;
      const X* xb = x + b * x_bstride;
      X* yb = y + b * y_bstride;
      if (k == 1) {
        for (int64_t i = r0; i < r1; ++i) {
          X s = X(0);
          for (I p = crow[i]; p < crow[i + 1]; ++p) s += X(vb[p]) * xb[col[p]];
          yb[i] = s;
        }
      } else {
        for (int64_t i = r0; i < r1; ++i) {
          X* yi = yb + i * k;
          std::fill(yi, yi + k, X(0));
          for (I p = crow[i]; p < crow[i + 1]; ++p) {
            const X a = X(vb[p]);
            const X* xr = xb + static_cast<int64_t>(col[p]) * k;
            for (int64_t j = 0; j < k; ++j) yi[j] += a * xr[j];
          }
        }
      }
    }
  }
}

template <class V, class I>
void csr_sddmm(const CsrPattern<I>& A, int64_t k, int64_t batch, Batched<const V> gys,
               Batched<const V> xs, Batched<V> gs, int nthreads) {
  const int64_t rows = A.rows, gy_bstride = gys.bstride, x_bstride = xs.bstride,
                g_bstride = gs.bstride;
  const I* crow = A.crow;
  const I* col = A.col;
  const V* gy = gys.data;
  const V* x = xs.data;
  V* g = gs.data;
  if (rows == 0 || batch == 0) return;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, rows)));
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int64_t r0 = row_split(rows, crow, t, nt), r1 = row_split(rows, crow, t + 1, nt);
    for (int64_t b = 0; b < batch; ++b) {
      const V* gyb = gy + b * gy_bstride;
      const V* xb = x + b * x_bstride;
      V* gb = g + b * g_bstride;
      for (int64_t i = r0; i < r1; ++i) {
        const V* gi = gyb + i * k;
        for (I p = crow[i]; p < crow[i + 1]; ++p) {
          const V* xr = xb + static_cast<int64_t>(col[p]) * k;
          V s = V(0);
          for (int64_t j = 0; j < k; ++j) s += gi[j] * conj_if(xr[j]);
          gb[p] = s;
        }
      }
    }
  }
}

#define DSLA_INSTANTIATE(V, I)                                                            \
  template void csr_spmm<V, I>(const CsrView<V, I>&, int64_t, int64_t, Batched<const V>,  \
                               Batched<V>, int);                                          \
  template void csr_sddmm<V, I>(const CsrPattern<I>&, int64_t, int64_t, Batched<const V>, \
                                Batched<const V>, Batched<V>, int);
#define DSLA_INSTANTIATE_V(V)  \
  DSLA_INSTANTIATE(V, int32_t) \
  DSLA_INSTANTIATE(V, int64_t)
DSLA_INSTANTIATE_V(float)
DSLA_INSTANTIATE_V(double)
DSLA_INSTANTIATE_V(std::complex<float>)
DSLA_INSTANTIATE_V(std::complex<double>)
template void csr_spmm<float, int32_t, double>(const CsrView<float, int32_t>&, int64_t, int64_t,
                                               Batched<const double>, Batched<double>, int);
template void csr_spmm<float, int64_t, double>(const CsrView<float, int64_t>&, int64_t, int64_t,
                                               Batched<const double>, Batched<double>, int);
#undef DSLA_INSTANTIATE_V
#undef DSLA_INSTANTIATE

}  // namespace dsla::kernels::cpu
