// Stencil matrices generated on the device (the CUDA slot of detail::stencil_stub).
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "core/dispatch.h"
#include "core/stencil.h"
#include "kernels/cuda/stencil_cuda.h"

namespace dsla::cuda {

namespace kc = kernels::cuda;
using detail::ptr;

SparseMatrix stencil_cuda(const detail::Stencil& s, const GenOptions& opt) {
  const c10::cuda::CUDAGuard guard(opt.device);
  TORCH_CHECK(s.points.size() <= size_t(kc::kMaxStencilPoints), "dsla: a stencil of ",
              s.points.size(), " points (at most ", kc::kMaxStencilPoints, ")");
  kc::StencilBox box;
  box.nx = s.nx, box.ny = s.ny, box.nz = s.nz;
  box.points = int(s.points.size());
  for (size_t q = 0; q < s.points.size(); ++q) {
    const auto& p = s.points[q];
    box.p[q] = {p.dx, p.dy, p.dz, p.value};
  }
  const int64_t N = s.rows(), nnz = s.nnz();
  const auto idt = Pattern::index_dtype_for(N, N, nnz);
  const auto io = at::TensorOptions().dtype(idt).device(opt.device);
  // Real dtypes are written directly; complex ones from float64 (the stencils are real).
  const auto vdt = opt.dtype == at::kFloat ? at::kFloat : at::kDouble;
  auto crow = at::empty({N + 1}, io), col = at::empty({nnz}, io);
  auto val = at::empty({nnz}, io.dtype(vdt));
  auto stream = at::cuda::getCurrentCUDAStream().stream();
  DSLA_DISPATCH_INDEX(idt, "stencil", [&] {
    if (vdt == at::kFloat)
      kc::stencil_csr<float, index_t>(box, ptr<index_t>(crow), ptr<index_t>(col), ptr<float>(val),
                                      stream);
    else
      kc::stencil_csr<double, index_t>(box, ptr<index_t>(crow), ptr<index_t>(col), ptr<double>(val),
                                       stream);
  });
  if (vdt != opt.dtype) val = val.to(opt.dtype);
  return SparseMatrix(Pattern::from_csr(crow, col, N, N, /*check=*/false), val, /*check=*/false);
}

DSLA_REGISTER_CUDA(detail::stencil_stub, stencil_cuda);

}  // namespace dsla::cuda
