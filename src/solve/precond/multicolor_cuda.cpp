// The CUDA step of the multicolor sweeps (multicolor.h): one kernel per color and pass.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "core/dispatch.h"
#include "kernels/cuda/color_sweep_cuda.h"
#include "solve/precond/multicolor.h"

namespace dsla::precond::detail {

namespace {

void color_sweep_cuda(const ColorSweepStep& st) {
  const c10::cuda::CUDAGuard guard(st.out.device());
  const cudaStream_t s = at::cuda::getCurrentCUDAStream().stream();
  DSLA_DISPATCH_INDEX(st.block.index_dtype(), "multicolor", [&] {
    AT_DISPATCH_FLOATING_TYPES(st.out.scalar_type(), "multicolor", [&] {
      kernels::cuda::color_sweep<scalar_t, index_t>(color_sweep_args<scalar_t, index_t>(st), s);
    });
  });
}

}  // namespace

DSLA_REGISTER_CUDA(color_sweep_stub, color_sweep_cuda);

}  // namespace dsla::precond::detail
