// One color of a multicolor triangular solve (src/solve/precond/multicolor.cpp), fused: for the
// rows r of the color (no entry joins two of them, so they update at once),
//   mode 0 (forward):   out[r] = (base[r] − w s_r) / d[r]
//   mode 1 (backward):  out[r] = base[r] − w s_r / d[r]
// with s_r = Σ_k a_rk out[col_k] over the color's row block (the entries of other colors; the
// rows of later / earlier colors not done yet are still zero in `out`). Vectors [B, n, kc]
// contiguous (b-th member at b n kc); the block's values have batch stride v_bs, the diagonal
// [B', n] batch stride d_bs (0: shared). Real types (the complex path stays in ATen).
#pragma once

#include <cstdint>

namespace dsla::kernels {

template <class T, class I>
struct ColorSweepArgs {
  const I* crow = nullptr;  // [m + 1] the color's row block
  const I* col = nullptr;   // global columns
  const T* vals = nullptr;  // [B', nnz_c]
  int64_t v_bs = 0;
  const int64_t* rows = nullptr;  // [m] the color's rows
  int64_t m = 0;
  const T* diag = nullptr;  // [B', n]
  int64_t d_bs = 0;
  const T* base = nullptr;  // [B, n, kc]
  T* out = nullptr;         // [B, n, kc]
  int64_t n = 0, kc = 1, B = 1;
  T w = T(1);
  int mode = 0;
};

namespace cpu {
template <class T, class I>
void color_sweep(const ColorSweepArgs<T, I>& a);
}  // namespace cpu

}  // namespace dsla::kernels
