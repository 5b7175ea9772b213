#include "cuda/structure.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>

#include "core/dispatch.h"
#include "kernels/cuda/csr_cuda.h"

namespace dsla::cuda {

using detail::ptr;

at::Tensor diag_positions(const Pattern& p) {
  const c10::cuda::CUDAGuard guard(p.device());
  auto pos = at::empty({std::min(p.rows(), p.cols())},
                       at::TensorOptions().dtype(at::kLong).device(p.device()));
  auto stream = at::cuda::getCurrentCUDAStream();
  DSLA_DISPATCH_INDEX(p.index_dtype(), "diag_positions", [&] {
    kernels::cuda::csr_diag_positions<index_t>(p.rows(), p.cols(), ptr<index_t>(p.crow()),
                                               ptr<index_t>(p.col()), ptr<int64_t>(pos),
                                               stream.stream());
  });
  return pos;
}

}  // namespace dsla::cuda
