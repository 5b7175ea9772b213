#include "core/structure_cuda.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>

#include "core/dispatch.h"
#include "core/structure.h"
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

namespace {
struct Delta16 {
  at::Tensor d;
};
}  // namespace

at::Tensor col_delta16(const Pattern& p) {
  return p
      .cached<Delta16>(
          "cuda.col_delta16",
          [&] {
            const c10::cuda::CUDAGuard guard(p.device());
            auto out = std::make_shared<Delta16>();
            if (p.nnz() == 0) return out;
            auto d = at::empty({p.nnz()}, at::TensorOptions().dtype(at::kShort).device(p.device()));
            auto flag = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(p.device()));
            auto stream = at::cuda::getCurrentCUDAStream();
            DSLA_DISPATCH_INDEX(p.index_dtype(), "col_delta16", [&] {
              kernels::cuda::csr_col_delta16<index_t>(p.rows(), ptr<index_t>(p.crow()),
                                                      ptr<index_t>(p.col()), ptr<int16_t>(d),
                                                      ptr<int>(flag), stream.stream());
            });
            if (flag.item<int>() == 0) out->d = d;
            return out;
          })
      ->d;
}

DSLA_REGISTER_CUDA(detail::diag_positions_stub, diag_positions);

}  // namespace dsla::cuda
