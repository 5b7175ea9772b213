// The CUDA form of one multicolor sweep step (kernels/cpu/color_sweep.h): a thread per row of
// the color and right-hand side, the batch along grid.y.
#include "kernels/cpu/color_sweep.h"
#include "kernels/cuda/color_sweep_cuda.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_info.h"

namespace dsla::kernels::cuda {

namespace {

template <class T, class I>
__global__ void color_sweep_kernel(ColorSweepArgs<T, I> a) {
  const int64_t b = blockIdx.y;
  const T* v = a.vals + b * a.v_bs;
  T* out = a.out + b * a.n * a.kc;
  const T* base = a.base + b * a.n * a.kc;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < a.m * a.kc;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t / a.kc, j = t % a.kc;
    const int64_t r = __ldg(a.rows + i);
    T s = T(0);
    for (I k = __ldg(a.crow + i); k < __ldg(a.crow + i + 1); ++k)
      s += __ldg(v + k) * out[int64_t(__ldg(a.col + k)) * a.kc + j];
    const T d = __ldg(a.diag + b * a.d_bs + r);
    out[r * a.kc + j] =
        a.mode == 0 ? (base[r * a.kc + j] - a.w * s) / d : base[r * a.kc + j] - a.w * s / d;
  }
}

}  // namespace

template <class T, class I>
void color_sweep(const ColorSweepArgs<T, I>& a, cudaStream_t s) {
  if (a.m == 0 || a.B == 0) return;
  constexpr int kBlock = 256;
  const dim3 grid(unsigned(resident_grid(a.m * a.kc, kBlock)), unsigned(a.B));
  color_sweep_kernel<T, I><<<grid, kBlock, 0, s>>>(a);
  DSLA_CUDA_CHECK_LAUNCH();
}

template void color_sweep<float, int32_t>(const ColorSweepArgs<float, int32_t>&, cudaStream_t);
template void color_sweep<float, int64_t>(const ColorSweepArgs<float, int64_t>&, cudaStream_t);
template void color_sweep<double, int32_t>(const ColorSweepArgs<double, int32_t>&, cudaStream_t);
template void color_sweep<double, int64_t>(const ColorSweepArgs<double, int64_t>&, cudaStream_t);

}  // namespace dsla::kernels::cuda
