// The kernels' argument groups (kernels/cpu/kernel_args.h) from dsla's tensors: one place that
// knows how a Pattern and its values map onto a CsrView, so no call site spells the pointer list.
#pragma once

#include <dsla/pattern.h>

#include <ATen/Tensor.h>

#include "core/dispatch.h"
#include "kernels/cpu/kernel_args.h"

namespace dsla::detail {

template <class I>
kernels::CsrPattern<I> csr_pattern(const Pattern& p) {
  return {p.rows(), ptr<I>(p.crow()), ptr<I>(p.col())};
}

// values: [nnz] or [B, nnz] contiguous; a leading dimension of 1 broadcasts (stride 0).
template <class V, class I>
kernels::CsrView<V, I> csr_view(const Pattern& p, const at::Tensor& values) {
  const int64_t bstride = values.dim() == 2 && values.size(0) > 1 ? p.nnz() : 0;
  return {p.rows(), ptr<I>(p.crow()), ptr<I>(p.col()), ptr<V>(values), bstride};
}

template <class V, class I>
kernels::CsrOut<V, I> csr_out(const Pattern& p, at::Tensor& values) {
  const int64_t bstride = values.dim() == 2 && values.size(0) > 1 ? p.nnz() : 0;
  return {p.rows(), ptr<I>(p.crow()), ptr<I>(p.col()), ptr<V>(values), bstride};
}

}  // namespace dsla::detail
