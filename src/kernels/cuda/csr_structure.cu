// Structural CUDA kernels on a CSR pattern (no torch).
#include "kernels/cuda/csr_cuda.h"
#include "kernels/cuda/cuda_check.h"

namespace dsla::kernels::cuda {

namespace {

// One thread per row: binary search for the diagonal column (columns are sorted in a row).
template <class I>
__global__ void diag_positions_kernel(int64_t m, const I* __restrict__ crow,
                                      const I* __restrict__ col, int64_t* __restrict__ pos) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < m;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t lo = crow[i], hi = crow[i + 1];
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (int64_t(col[mid]) < i)
        lo = mid + 1;
      else
        hi = mid;
    }
    pos[i] = (lo < int64_t(crow[i + 1]) && int64_t(col[lo]) == i) ? lo : -1;
  }
}

template <class I>
__global__ void col_delta16_kernel(int64_t rows, const I* __restrict__ crow,
                                   const I* __restrict__ col, int16_t* __restrict__ out,
                                   int* overflow) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += int64_t(gridDim.x) * blockDim.x) {
    bool bad = false;
    for (int64_t k = crow[i]; k < int64_t(crow[i + 1]); ++k) {
      const int64_t d = int64_t(col[k]) - i;
      bad = bad || d < -32768 || d > 32767;
      out[k] = int16_t(d);
    }
    if (bad) *overflow = 1;
  }
}

}  // namespace

template <class I>
void csr_col_delta16(int64_t rows, const I* crow, const I* col, int16_t* out, int* overflow,
                     cudaStream_t stream) {
  if (rows == 0) return;
  constexpr int kBlock = 256;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  col_delta16_kernel<I><<<unsigned(blocks < 65535 * 16 ? blocks : 65535 * 16), kBlock, 0, stream>>>(
      rows, crow, col, out, overflow);
  DSLA_CUDA_CHECK_LAUNCH();
}

template void csr_col_delta16<int32_t>(int64_t, const int32_t*, const int32_t*, int16_t*, int*,
                                       cudaStream_t);
template void csr_col_delta16<int64_t>(int64_t, const int64_t*, const int64_t*, int16_t*, int*,
                                       cudaStream_t);

template <class I>
void csr_diag_positions(int64_t rows, int64_t cols, const I* crow, const I* col, int64_t* pos,
                        cudaStream_t stream) {
  const int64_t m = rows < cols ? rows : cols;
  if (m == 0) return;
  constexpr int kBlock = 256;
  const int64_t blocks = (m + kBlock - 1) / kBlock;
  diag_positions_kernel<I>
      <<<unsigned(blocks < 65535 * 16 ? blocks : 65535 * 16), kBlock, 0, stream>>>(m, crow, col,
                                                                                   pos);
  DSLA_CUDA_CHECK_LAUNCH();
}

template void csr_diag_positions<int32_t>(int64_t, int64_t, const int32_t*, const int32_t*,
                                          int64_t*, cudaStream_t);
template void csr_diag_positions<int64_t>(int64_t, int64_t, const int64_t*, const int64_t*,
                                          int64_t*, cudaStream_t);

}  // namespace dsla::kernels::cuda
