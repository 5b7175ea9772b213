// Lanczos for ρ(D⁻¹A) on CUDA (see chebyshev_cuda.h): the same recurrence as
// kernels::cpu::lanczos_tridiagonal, in two fused kernels per step with every scalar on the device.
// The generic ATen version cost ~15 launches and a dozen n-sized temporaries per step; at
// poisson2d:1024 its three calls on the two largest levels were 14 of the 31 ms AMG setup.
//
// Vectors live in double whatever V is (as on the CPU). Step j works on raw vectors
// u_j = v_j / c_j: the normalization c_j = 1/‖u_j‖ (0 after a breakdown) is recomputed in every
// thread from nrm[j] = ‖u_j‖² and alpha[j-1], so no kernel is spent on scaling.
#include <algorithm>

#include "kernels/cuda/chebyshev_cuda.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/reduce.cuh"

namespace dsla::kernels::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kLanes = 4;  // lanes per row in the SpMV (short rows, as the Chebyshev passes)

int64_t lanczos_grid(int64_t n) {
  return resident_grid(n * kLanes, kBlock);
}

// 1/‖u_j‖, or 0 when step j-1 broke down (‖u_j‖ <= 1e-10 |alpha_{j-1}|, as the CPU kernel).
__device__ __forceinline__ double inv_norm(const double* nrm, const double* alpha, int64_t j) {
  const double bn = sqrt(nrm[j]);
  const bool ok = j == 0 ? bn > 0.0 : bn > 1e-10 * fabs(alpha[j - 1]);
  return ok ? 1.0 / bn : 0.0;
}

// s = sqrt(dinv); u_0 = the quasi-random start vector of the CPU kernel; nrm[0] = ‖u_0‖².
template <class V>
__global__ void __launch_bounds__(kBlock)
    lanczos_start_k(int64_t n, const V* __restrict__ dinv, double* __restrict__ s,
                    double* __restrict__ u0, double* __restrict__ nrm, double* part,
                    unsigned* cnt) {
  __shared__ double smem[32];
  double acc[1] = {0.0};
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    s[i] = sqrt(static_cast<double>(dinv[i]));
    const double t = static_cast<double>(i) * 0.6180339887498949 + 0.25;
    const double v = (t - floor(t)) - 0.5;
    u0[i] = v;
    acc[0] += v * v;
  }
  if (last_block_sum<1>(acc, part, cnt, smem) && threadIdx.x == 0) nrm[0] = acc[0];
}

// w = D^{-1/2} A D^{-1/2} v_j (v_j = c_j u_j); alpha[j] = w · v_j.
template <class V, class I>
__global__ void __launch_bounds__(kBlock)
    lanczos_apply_k(int64_t n, const I* __restrict__ crow, const I* __restrict__ col,
                    const V* __restrict__ vals, const double* __restrict__ s,
                    const double* __restrict__ u, double* __restrict__ w,
                    const double* __restrict__ nrm, double* __restrict__ alpha, int64_t j,
                    double* part, unsigned* cnt) {
  __shared__ double smem[32];
  const double c = inv_norm(nrm, alpha, j);
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % kLanes;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x / kLanes;
  double acc[1] = {0.0};
  for (int64_t r0 = (t / 32) * (32 / kLanes); r0 < n; r0 += stride) {
    const int64_t row = r0 + (threadIdx.x & 31) / kLanes;
    double sum = 0.0;
    if (row < n) {
      const I start = crow[row], end = crow[row + 1];
      for (I q = start + lane; q < end; q += kLanes) {
        const I k = __ldg(col + q);
        sum = fma(static_cast<double>(__ldg(vals + q)), __ldg(s + k) * __ldg(u + k), sum);
      }
    }
    sum = group_sum<kLanes>(sum);
    if (row < n && lane == 0) {
      const double wi = s[row] * c * sum;
      w[row] = wi;
      acc[0] += wi * c * u[row];
    }
  }
  if (last_block_sum<1>(acc, part, cnt, smem) && threadIdx.x == 0) alpha[j] = acc[0];
}

// w -= alpha_j v_j + beta_j v_{j-1}; nrm[j+1] = ‖w‖² (w is u_{j+1}).
__global__ void __launch_bounds__(kBlock)
    lanczos_orth_k(int64_t n, const double* __restrict__ u, const double* __restrict__ u_prev,
                   double* __restrict__ w, double* __restrict__ nrm,
                   const double* __restrict__ alpha, int64_t j, double* part, unsigned* cnt) {
  __shared__ double smem[32];
  const double c = inv_norm(nrm, alpha, j);
  const double a = alpha[j];
  // beta_j = ‖u_j‖ when step j-1 did not break down (then c_j = 1/beta_j), else 0.
  const double b = (j > 0 && c > 0.0) ? 1.0 / c : 0.0;
  const double cp = j > 0 ? inv_norm(nrm, alpha, j - 1) : 0.0;
  double acc[1] = {0.0};
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const double vp = j > 0 ? cp * u_prev[i] : 0.0;
    const double wi = w[i] - (a * c * u[i] + b * vp);
    w[i] = wi;
    acc[0] += wi * wi;
  }
  if (last_block_sum<1>(acc, part, cnt, smem) && threadIdx.x == 0) nrm[j + 1] = acc[0];
}

}  // namespace

int64_t lanczos_workspace(int64_t n) {
  return 4 * n + lanczos_grid(n);
}

template <class V, class I>
void lanczos_tridiagonal(const CsrView<V, I>& A, const V* dinv, int64_t K, double* work,
                         unsigned* ticket, double* alpha, double* nrm, cudaStream_t stream) {
  const int64_t n = A.rows;
  if (n == 0 || K <= 0) return;
  const int64_t g = lanczos_grid(n);
  double* s = work;
  double* u[3] = {work + n, work + 2 * n, work + 3 * n};
  double* part = work + 4 * n;
  lanczos_start_k<V><<<g, kBlock, 0, stream>>>(n, dinv, s, u[0], nrm, part, ticket);
  DSLA_CUDA_CHECK_LAUNCH();
  for (int64_t j = 0; j < K; ++j) {
    // u_{j+1} overwrites u_{j-2}, which no later step reads.
    double* cur = u[j % 3];
    double* prev = u[(j + 2) % 3];
    double* next = u[(j + 1) % 3];
    lanczos_apply_k<V, I><<<g, kBlock, 0, stream>>>(n, A.crow, A.col, A.vals, s, cur, next, nrm,
                                                    alpha, j, part, ticket);
    DSLA_CUDA_CHECK_LAUNCH();
    lanczos_orth_k<<<g, kBlock, 0, stream>>>(n, cur, prev, next, nrm, alpha, j, part, ticket);
    DSLA_CUDA_CHECK_LAUNCH();
  }
}

#define DSLA_INST(V, I)                                                                     \
  template void lanczos_tridiagonal<V, I>(const CsrView<V, I>&, const V*, int64_t, double*, \
                                          unsigned*, double*, double*, cudaStream_t);
DSLA_INST(float, int32_t)
DSLA_INST(float, int64_t)
DSLA_INST(double, int32_t)
DSLA_INST(double, int64_t)
#undef DSLA_INST

}  // namespace dsla::kernels::cuda
