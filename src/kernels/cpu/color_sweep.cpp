// The CPU form of one multicolor sweep step (color_sweep.h): the rows of one color in parallel.
#include "kernels/cpu/color_sweep.h"

namespace dsla::kernels::cpu {

template <class T, class I>
void color_sweep(const ColorSweepArgs<T, I>& a) {
  const int64_t total = a.B * a.m;
#pragma omp parallel for schedule(static) if (total > 4096)
  for (int64_t t = 0; t < total; ++t) {
    const int64_t b = t / a.m, i = t % a.m;
    const int64_t r = a.rows[i];
    const T* v = a.vals + b * a.v_bs;
    const T d = a.diag[b * a.d_bs + r];
    T* out = a.out + b * a.n * a.kc;
    const T* base = a.base + b * a.n * a.kc;
    for (int64_t j = 0; j < a.kc; ++j) {
      T s = T(0);
      for (I k = a.crow[i]; k < a.crow[i + 1]; ++k) s += v[k] * out[int64_t(a.col[k]) * a.kc + j];
      out[r * a.kc + j] =
          a.mode == 0 ? (base[r * a.kc + j] - a.w * s) / d : base[r * a.kc + j] - a.w * s / d;
    }
  }
}

template void color_sweep<float, int32_t>(const ColorSweepArgs<float, int32_t>&);
template void color_sweep<float, int64_t>(const ColorSweepArgs<float, int64_t>&);
template void color_sweep<double, int32_t>(const ColorSweepArgs<double, int32_t>&);
template void color_sweep<double, int64_t>(const ColorSweepArgs<double, int64_t>&);

}  // namespace dsla::kernels::cpu
