// Internal to multicolor.cpp and its device registrations: one fused step of a multicolor
// triangular solve (kernels/cpu/color_sweep.h for the formulas) on ATen tensors.
#pragma once

#include <dsla/pattern.h>

#include <ATen/ATen.h>

#include "core/device_stub.h"
#include "kernels/cpu/color_sweep.h"

namespace dsla::precond::detail {

struct ColorSweepStep {
  const Pattern& block;     // the color's rows [m, n], global columns
  const at::Tensor& bvals;  // [B', nnz_c] contiguous
  const at::Tensor& rows;   // int64 [m] on the device
  const at::Tensor& diag;   // [B', n, 1] contiguous
  const at::Tensor& base;   // [B, n, k] contiguous
  at::Tensor& out;          // [B, n, k] contiguous
  double w;
  int mode;  // 0 forward, 1 backward
};
using ColorSweepFn = void(const ColorSweepStep&);
// Registered by devices with a fused kernel (multicolor_cuda.cpp); the CPU's is in
// multicolor.cpp.
extern device::Stub<ColorSweepFn> color_sweep_stub;

template <class T, class I>
kernels::ColorSweepArgs<T, I> color_sweep_args(const ColorSweepStep& st) {
  kernels::ColorSweepArgs<T, I> a;
  a.crow = st.block.crow().data_ptr<I>();
  a.col = st.block.col().data_ptr<I>();
  a.vals = st.bvals.data_ptr<T>();
  a.v_bs = st.bvals.size(0) > 1 ? st.bvals.size(1) : 0;
  a.rows = st.rows.data_ptr<int64_t>();
  a.m = st.rows.numel();
  a.diag = st.diag.data_ptr<T>();
  a.n = st.out.size(1);
  a.d_bs = st.diag.size(0) > 1 ? a.n : 0;
  a.base = st.base.data_ptr<T>();
  a.out = st.out.data_ptr<T>();
  a.kc = st.out.size(2);
  a.B = st.out.size(0);
  a.w = T(st.w);
  a.mode = st.mode;
  return a;
}

}  // namespace dsla::precond::detail
