// The fused Jacobi-PCG iteration across ranks: the two kernels around the halo exchange (see
// cg_cuda.h, part 3). Both read the state cg_fused_spmv_dot reads and take the same decision
// from it; only cg_fused_ghost_dot writes (its share of pᴴq, after cg_fused_spmv_dot's).
#include "kernels/cpu/cg_rule.h"
#include "kernels/cuda/cg_cuda.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/reduce.cuh"

namespace dsla::kernels::cuda {

namespace {

using kernels::cg_decide;
using kernels::kCgRunning;

constexpr int kBlock = 256;

// Whether cg_k1 of this iteration goes on for system b, and the beta it takes (cg_fused.cu).
__device__ __forceinline__ bool k1_runs(const CgState& S, const double* sums, int64_t B, int64_t b,
                                        double& beta) {
  if (S.done) return false;
  const double rz_new = sums[B + b], rr = sums[2 * B + b];
  const int decision = S.pending ? cg_decide(rr, S.tol2, S.iters + 1, S.maxiter) : int(kCgRunning);
  beta = S.pending && S.rz != 0.0 ? rz_new / S.rz : 0.0;
  return decision == kCgRunning;
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    cg_pack_kernel(int64_t n, int64_t S_rows, const int64_t* __restrict__ idx,
                   const T* __restrict__ z, const T* __restrict__ pin, T* __restrict__ send,
                   const CgState* st, const double* sums, int64_t B) {
  const int64_t b = blockIdx.y;
  double beta_d = 0.0;
  if (!k1_runs(st[b], sums, B, b, beta_d)) return;
  const T beta = T(beta_d);
  z += b * n;
  pin += b * n;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < S_rows;
       j += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = __ldg(idx + j);
    send[j * B + b] = fma(beta, __ldg(pin + i), __ldg(z + i));
  }
}

template <class T, class J>
__global__ void __launch_bounds__(kBlock)
    cg_ghost_kernel(int64_t n, int64_t n_int, const J* __restrict__ crow, const J* __restrict__ col,
                    const T* __restrict__ val, int64_t v_bs, const T* __restrict__ ghost,
                    const T* __restrict__ pout, T* __restrict__ q, CgState* st, double* sums,
                    int64_t B, double* part) {
  __shared__ double smem[32];
  const int64_t b = blockIdx.y;
  CgState& S = st[b];
  if (S.done) return;  // cg_k1 decided to stop this system (every block sees the same flag)
  val += b * v_bs;
  pout += b * n;
  q += b * n;
  const int64_t nb = n - n_int;
  double acc = 0.0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < nb;
       i += int64_t(gridDim.x) * blockDim.x) {
    T s = T(0);
    for (J k = __ldg(crow + i); k < __ldg(crow + i + 1); ++k)
      s = fma(__ldg(val + k), ghost[int64_t(__ldg(col + k)) * B + b], s);
    const int64_t row = n_int + i;
    const T qi = q[row] + s;
    q[row] = qi;
    acc += double(pout[row]) * double(qi);
  }
  double v[1] = {acc};
  if (last_block_sum<1>(v, part + b * gridDim.x, &S.cnt3, smem) && threadIdx.x == 0)
    sums[b] += v[0];  // cg_k1 left the interior rows' share there
}

}  // namespace

template <class T, class I, class J>
void cg_fused_pack(const CgFusedArgs<T, I>& a, const CgHaloArgs<T, J>& h, int parity,
                   cudaStream_t s) {
  if (h.n_send == 0 || a.B == 0) return;
  const T* p_in = parity == 0 ? a.p0 : a.p1;
  const dim3 g(unsigned(resident_grid(h.n_send, kBlock)), unsigned(a.B));
  cg_pack_kernel<T>
      <<<g, kBlock, 0, s>>>(a.n, h.n_send, h.send_idx, a.z, p_in, h.send, a.st, a.sums, a.B);
  DSLA_CUDA_CHECK_LAUNCH();
}

template <class T, class I, class J>
void cg_fused_ghost_dot(const CgFusedArgs<T, I>& a, const CgHaloArgs<T, J>& h, int parity,
                        cudaStream_t s) {
  const int64_t nb = a.n - h.n_interior;
  if (nb == 0 || a.B == 0) return;       // cg_k1 summed every row
  T* p_out = parity == 0 ? a.p1 : a.p0;  // what cg_k1 of this parity wrote
  // cg_k1's partials are spent (it has finished): the scratch is free for this reduction.
  const dim3 g(unsigned(resident_grid(nb, kBlock)), unsigned(a.B));
  cg_ghost_kernel<T, J><<<g, kBlock, 0, s>>>(a.n, h.n_interior, h.ocrow, h.ocol, h.oval, h.o_bs,
                                             h.ghost, p_out, a.q, a.st, a.sums, a.B, a.partials);
  DSLA_CUDA_CHECK_LAUNCH();
}

#define DSLA_INST(T, I, J)                                                                     \
  template void cg_fused_pack<T, I, J>(const CgFusedArgs<T, I>&, const CgHaloArgs<T, J>&, int, \
                                       cudaStream_t);                                          \
  template void cg_fused_ghost_dot<T, I, J>(const CgFusedArgs<T, I>&, const CgHaloArgs<T, J>&, \
                                            int, cudaStream_t);
DSLA_INST(float, int32_t, int32_t)
DSLA_INST(float, int32_t, int64_t)
DSLA_INST(float, int64_t, int32_t)
DSLA_INST(float, int64_t, int64_t)
DSLA_INST(double, int32_t, int32_t)
DSLA_INST(double, int32_t, int64_t)
DSLA_INST(double, int64_t, int32_t)
DSLA_INST(double, int64_t, int64_t)
#undef DSLA_INST

}  // namespace dsla::kernels::cuda
