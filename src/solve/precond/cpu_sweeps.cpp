// Glue from tensors to the CPU sweep kernels: dtype dispatch, batch strides, broadcasting of an
// unbatched preconditioner over batched vectors.
#include "solve/precond/cpu_sweeps.h"

#include <dsla/errors.h>

#include "core/dispatch.h"

namespace dsla::precond::detail {

using dsla::detail::num_threads;
using dsla::detail::ptr;
namespace kc = kernels::cpu;

void require_cpu(c10::Device device, const std::string& kind) {
  TORCH_CHECK_NOT_IMPLEMENTED(device.is_cpu(), "dsla: precond '", kind,
                              "' runs sequential triangular sweeps and is built for the CPU only; "
                              "on ",
                              device,
                              " use precond='mc_sgs' / 'mc_ssor' / 'dilu' (the multicolor, "
                              "parallel forms of these sweeps), 'jacobi', 'chebyshev' or 'amg', "
                              "or move the matrix to the CPU");
}

void in_place(const at::Tensor& x, at::Tensor& y, const std::function<void(at::Tensor&)>& steps) {
  if (y.is_contiguous() && !y.is_conj()) {
    y.copy_(x);
    steps(y);
    return;
  }
  at::Tensor z = at::empty(y.sizes(), y.options().memory_format(at::MemoryFormat::Contiguous));
  z.copy_(x);
  steps(z);
  y.copy_(z);
}

void tri_solve(const Pattern& p, const at::Tensor& diag, const at::Tensor& vals, at::Tensor& z,
               const kc::TriSolve& how) {
  const int64_t B = z.size(0), n = z.size(1), k = z.size(2);
  const int64_t vstride = vals.size(0) == 1 ? 0 : p.nnz();
  DSLA_DISPATCH_INDEX(p.index_dtype(), "preconditioner", [&] {
    DSLA_DISPATCH_VALUE(z.scalar_type(), "preconditioner", [&] {
      kc::csr_tri_solve<scalar_t, index_t>(
          {n, ptr<index_t>(p.crow()), ptr<index_t>(p.col()), ptr<scalar_t>(vals), vstride},
          ptr<int64_t>(diag), k, B, {ptr<scalar_t>(z), n * k}, how, num_threads());
    });
  });
}

void scale_by_diagonal(const Pattern& p, const at::Tensor& diag, const at::Tensor& vals,
                       at::Tensor& z, bool conj) {
  const int64_t B = z.size(0), n = z.size(1), k = z.size(2);
  const int64_t vstride = vals.size(0) == 1 ? 0 : p.nnz();
  DSLA_DISPATCH_INDEX(p.index_dtype(), "preconditioner", [&] {
    DSLA_DISPATCH_VALUE(z.scalar_type(), "preconditioner", [&] {
      kc::csr_scale_by_diagonal<scalar_t, index_t>(n, k, B, ptr<int64_t>(diag), ptr<scalar_t>(vals),
                                                   vstride, ptr<scalar_t>(z), n * k, conj,
                                                   num_threads());
    });
  });
}

}  // namespace dsla::precond::detail
