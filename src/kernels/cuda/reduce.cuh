// "Last block done" reduction: every block writes its partial sums, the last block to finish
// (atomic ticket) reduces all partials in a fixed order and resets the ticket. Deterministic for
// a fixed grid; one launch, no host involvement.
#pragma once

#include "kernels/cuda/common.cuh"

namespace dsla::kernels::cuda {

// Returns true in the last block; then thread 0's v holds the totals over all blocks.
// part: gridDim.x * NV doubles for this reduction; cnt: the ticket (0 on entry, 0 on exit).
template <int NV>
__device__ __forceinline__ bool last_block_sum(double (&v)[NV], double* part, unsigned* cnt,
                                               double* smem) {
  __shared__ bool is_last;
  block_sum<NV>(v, smem);
  if (threadIdx.x == 0) {
#pragma unroll
    for (int j = 0; j < NV; ++j) part[blockIdx.x * NV + j] = v[j];
    __threadfence();
    is_last = atomicAdd(cnt, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!is_last) return false;
  __threadfence();
  double w[NV];
#pragma unroll
  for (int j = 0; j < NV; ++j) w[j] = 0.0;
  for (unsigned i = threadIdx.x; i < gridDim.x; i += blockDim.x) {
#pragma unroll
    for (int j = 0; j < NV; ++j) w[j] += __ldcg(part + i * NV + j);
  }
  block_sum<NV>(w, smem);
  if (threadIdx.x == 0) {
#pragma unroll
    for (int j = 0; j < NV; ++j) v[j] = w[j];
    *cnt = 0;
  }
  return true;
}

}  // namespace dsla::kernels::cuda
