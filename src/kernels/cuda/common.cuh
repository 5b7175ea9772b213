// Device-side helpers shared by the CUDA kernels: a complex type layout-compatible with
// std::complex, arithmetic that works for real and complex alike, warp/block reductions.
#pragma once

#include <cuda_runtime.h>

#include <complex>
#include <cstdint>

namespace dsla::kernels::cuda {

template <class R>
struct alignas(2 * sizeof(R)) cplx {
  R re, im;
};

// Host value type -> device value type.
template <class T>
struct dev {
  using type = T;
};
template <class R>
struct dev<std::complex<R>> {
  using type = cplx<R>;
};
template <class T>
using dev_t = typename dev<T>::type;

// Real type of a value type.
template <class T>
struct real_of {
  using type = T;
};
template <class R>
struct real_of<cplx<R>> {
  using type = R;
};
template <class T>
using real_t = typename real_of<T>::type;

template <class T>
__device__ __forceinline__ T vzero() {
  return T(0);
}
template <>
__device__ __forceinline__ cplx<float> vzero<cplx<float>>() {
  return {0.f, 0.f};
}
template <>
__device__ __forceinline__ cplx<double> vzero<cplx<double>>() {
  return {0.0, 0.0};
}

template <class R>
__device__ __forceinline__ R vmul(R a, R b) {
  return a * b;
}
template <class R>
__device__ __forceinline__ cplx<R> vmul(cplx<R> a, cplx<R> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
// a + b * c
template <class R>
__device__ __forceinline__ R vfma(R b, R c, R a) {
  return fma(b, c, a);
}
template <class R>
__device__ __forceinline__ cplx<R> vfma(cplx<R> b, cplx<R> c, cplx<R> a) {
  return {fma(b.re, c.re, fma(-b.im, c.im, a.re)), fma(b.re, c.im, fma(b.im, c.re, a.im))};
}
template <class R>
__device__ __forceinline__ R vadd(R a, R b) {
  return a + b;
}
template <class R>
__device__ __forceinline__ cplx<R> vadd(cplx<R> a, cplx<R> b) {
  return {a.re + b.re, a.im + b.im};
}
template <class R>
__device__ __forceinline__ R vconj(R a) {
  return a;
}
template <class R>
__device__ __forceinline__ cplx<R> vconj(cplx<R> a) {
  return {a.re, -a.im};
}
template <class R>
__device__ __forceinline__ R vscale(R a, R s) {
  return a * s;
}
template <class R>
__device__ __forceinline__ cplx<R> vscale(cplx<R> a, R s) {
  return {a.re * s, a.im * s};
}
// Re(conj(a) * b)
template <class R>
__device__ __forceinline__ R vredot(R a, R b) {
  return a * b;
}
template <class R>
__device__ __forceinline__ R vredot(cplx<R> a, cplx<R> b) {
  return a.re * b.re + a.im * b.im;
}

template <class R>
__device__ __forceinline__ R shfl_down(R v, int d, int width) {
  return __shfl_down_sync(0xffffffffu, v, d, width);
}
template <class R>
__device__ __forceinline__ cplx<R> shfl_down(cplx<R> v, int d, int width) {
  return {__shfl_down_sync(0xffffffffu, v.re, d, width),
          __shfl_down_sync(0xffffffffu, v.im, d, width)};
}

// Sum over groups of G consecutive lanes; lane 0 of each group holds the result.
template <int G, class T>
__device__ __forceinline__ T group_sum(T v) {
#pragma unroll
  for (int d = G / 2; d > 0; d /= 2) v = vadd(v, shfl_down(v, d, G));
  return v;
}

// Block-wide sum of NV real values per thread (block size a multiple of 32, at most 1024).
// Result valid in thread 0. `smem` holds 32 * NV values.
template <int NV, class R>
__device__ __forceinline__ void block_sum(R (&v)[NV], R* smem) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
#pragma unroll
  for (int j = 0; j < NV; ++j) v[j] = group_sum<32>(v[j]);
  __syncthreads();  // smem may be reused from a previous call
  if (lane == 0) {
#pragma unroll
    for (int j = 0; j < NV; ++j) smem[warp * NV + j] = v[j];
  }
  __syncthreads();
  if (warp == 0) {
#pragma unroll
    for (int j = 0; j < NV; ++j) v[j] = lane < nw ? smem[lane * NV + j] : R(0);
#pragma unroll
    for (int j = 0; j < NV; ++j) v[j] = group_sum<32>(v[j]);
  }
}

// Programmatic dependent launch (sm_90+; no-ops elsewhere and for ordinary launches). A kernel
// launched with cudaLaunchAttributeProgrammaticStreamSerialization may start while the previous
// kernel in the stream drains: pdl_wait() blocks until that kernel has finished and its writes
// are visible, so it must come before the first read of anything the previous kernel writes;
// pdl_launch_dependents() lets the next such kernel begin launching.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// Read-only load through the non-coherent cache.
template <class T>
__device__ __forceinline__ T ldg(const T* p) {
  return __ldg(p);
}
template <class R>
__device__ __forceinline__ cplx<R> ldg(const cplx<R>* p) {
  return *p;
}

}  // namespace dsla::kernels::cuda
