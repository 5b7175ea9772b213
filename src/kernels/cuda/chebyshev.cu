// Chebyshev sweep CUDA kernels (see chebyshev_cuda.h): G = 4 lanes per row like the SpMV
// (kernels/cuda/csr_spmv.cu), the coefficients read from device memory.

#include "kernels/cuda/chebyshev_cuda.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"

namespace dsla::kernels::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kLanes = 4;  // lanes per row: the level matrices of AMG have short rows

template <int G, class V, class I>
__global__ void __launch_bounds__(kBlock)
    cheb_first_k(int64_t n, const I* __restrict__ crow, const I* __restrict__ col,
                 const V* __restrict__ vals, const V* __restrict__ dinv, const V* __restrict__ c0p,
                 const V* __restrict__ b, const V* __restrict__ x, V* __restrict__ r,
                 V* __restrict__ d) {
  const V c0 = c0p[0];
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % G;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x / G;
  for (int64_t r0 = (t / 32) * (32 / G); r0 < n; r0 += stride) {
    const int64_t row = r0 + (threadIdx.x & 31) / G;
    V s = V(0);
    if (row < n && x) {
      const I start = crow[row], end = crow[row + 1];
      for (I q = start + lane; q < end; q += G)
        s = fma(__ldg(vals + q), __ldg(x + __ldg(col + q)), s);
    }
    s = group_sum<G>(s);
    if (row < n && lane == 0) {
      const V ri = b[row] - s;
      r[row] = ri;
      d[row] = c0 * dinv[row] * ri;
    }
  }
}

template <int G, class V, class I>
__global__ void __launch_bounds__(kBlock)
    cheb_step_k(int64_t n, const I* __restrict__ crow, const I* __restrict__ col,
                const V* __restrict__ vals, const V* __restrict__ dinv, const V* __restrict__ cap,
                const V* __restrict__ cbp, V* __restrict__ r, const V* __restrict__ d,
                V* __restrict__ dn, V* __restrict__ x, int mode) {
  const V ca = cap[0], cb = cbp[0];
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % G;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x / G;
  for (int64_t r0 = (t / 32) * (32 / G); r0 < n; r0 += stride) {
    const int64_t row = r0 + (threadIdx.x & 31) / G;
    V s = V(0);
    if (row < n) {
      const I start = crow[row], end = crow[row + 1];
      for (I q = start + lane; q < end; q += G)
        s = fma(__ldg(vals + q), __ldg(d + __ldg(col + q)), s);
    }
    s = group_sum<G>(s);
    if (row < n && lane == 0) {
      const V ri = r[row] - s;
      r[row] = ri;
      const V di = d[row];
      const V e = ca * di + cb * dinv[row] * ri;
      dn[row] = e;
      if (mode == 0) {
        x[row] += e;
      } else if (mode == 1) {
        x[row] += di + e;
      } else {
        x[row] = di + e;
      }
    }
  }
}

}  // namespace

template <class V, class I>
void cheb_first(const CsrView<V, I>& A, const ChebyshevVectors<V>& v, const V* c0,
                cudaStream_t stream) {
  if (A.rows == 0) return;
  cheb_first_k<kLanes, V, I><<<resident_grid(A.rows * kLanes, kBlock), kBlock, 0, stream>>>(
      A.rows, A.crow, A.col, A.vals, v.dinv, c0, v.b, v.x, v.r, v.d);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class V, class I>
void cheb_step(const CsrView<V, I>& A, const ChebyshevVectors<V>& v, const V* ca, const V* cb,
               int mode, cudaStream_t stream) {
  if (A.rows == 0) return;
  cheb_step_k<kLanes, V, I><<<resident_grid(A.rows * kLanes, kBlock), kBlock, 0, stream>>>(
      A.rows, A.crow, A.col, A.vals, v.dinv, ca, cb, v.r, v.d, v.dn, v.x, mode);
  DSLA_CUDA_CHECK_LAUNCH();
}

#define DSLA_INST(V, I)                                                                      \
  template void cheb_first<V, I>(const CsrView<V, I>&, const ChebyshevVectors<V>&, const V*, \
                                 cudaStream_t);                                              \
  template void cheb_step<V, I>(const CsrView<V, I>&, const ChebyshevVectors<V>&, const V*,  \
                                const V*, int, cudaStream_t);
DSLA_INST(float, int32_t)
DSLA_INST(float, int64_t)
DSLA_INST(double, int32_t)
DSLA_INST(double, int64_t)
#undef DSLA_INST

}  // namespace dsla::kernels::cuda
