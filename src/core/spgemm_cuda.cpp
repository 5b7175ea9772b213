#include "core/spgemm_cuda.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "core/dispatch.h"
#include "core/spgemm.h"
#include "kernels/cuda/spgemm_cuda.h"

namespace dsla::cuda {

namespace kc = kernels::cuda;
using detail::ptr;

bool spgemm_supports(at::ScalarType dtype) {
  return dtype == at::kDouble || dtype == at::kFloat;
}

PatternPtr spgemm_symbolic(const Pattern& a, const Pattern& b) {
  const c10::cuda::CUDAGuard guard(a.device());
  const int64_t rows = a.rows(), cols = b.cols();
  auto idt = (a.index_dtype() == at::kLong || b.index_dtype() == at::kLong) ? at::kLong : at::kInt;
  auto a_crow = a.crow().to(idt), a_col = a.col().to(idt);
  auto b_crow = b.crow().to(idt), b_col = b.col().to(idt);
  auto stream = at::cuda::getCurrentCUDAStream().stream();
  auto lo = a.crow().options().dtype(at::kLong);
  auto row_nnz = at::empty({rows}, lo);
  at::Tensor big, warp_rows;
  int64_t n_big = 0, n_warp = 0;
  // Rows of at most 64 products: a thread each; the others listed (sorted) for a warp each.
  DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
    kc::spgemm_count_small<index_t>({rows, ptr<index_t>(a_crow), ptr<index_t>(a_col)},
                                    {b.rows(), ptr<index_t>(b_crow), ptr<index_t>(b_col)},
                                    ptr<int64_t>(row_nnz), stream);
  });
  if (rows > 0) {
    warp_rows = (row_nnz == kc::spgemm_needs_warp()).nonzero().view(-1).contiguous();
    n_warp = warp_rows.numel();
  }
  DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
    kc::spgemm_count_warp<index_t>({rows, ptr<index_t>(a_crow), ptr<index_t>(a_col)},
                                   {b.rows(), ptr<index_t>(b_crow), ptr<index_t>(b_col)}, n_warp,
                                   n_warp ? ptr<int64_t>(warp_rows) : nullptr,
                                   ptr<int64_t>(row_nnz), stream);
  });
  if (rows > 0 && row_nnz.min().item<int64_t>() < 0) {
    big = (row_nnz < 0).nonzero().view(-1).contiguous();
    n_big = big.numel();
    DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
      kc::spgemm_count_big<index_t>({rows, ptr<index_t>(a_crow), ptr<index_t>(a_col)},
                                    {b.rows(), ptr<index_t>(b_crow), ptr<index_t>(b_col)}, n_big,
                                    ptr<int64_t>(big), ptr<int64_t>(row_nnz), stream);
    });
    if (row_nnz.min().item<int64_t>() < 0) return nullptr;  // wider than the block tables
  }
  auto crow64 = at::zeros({rows + 1}, lo);
  if (rows > 0) {
    auto tail = crow64.narrow(0, 1, rows);
    at::cumsum_out(tail, row_nnz, 0);
  }
  const int64_t nnz = rows > 0 ? crow64[rows].item<int64_t>() : 0;
  if (Pattern::index_dtype_for(rows, cols, nnz) == at::kLong && idt == at::kInt) {
    idt = at::kLong;
    a_crow = a_crow.to(idt), a_col = a_col.to(idt), b_crow = b_crow.to(idt), b_col = b_col.to(idt);
  }
  auto c_crow = crow64.to(idt);
  crow64 = at::Tensor();
  row_nnz = at::Tensor();
  auto c_col = at::empty({nnz}, c_crow.options());
  DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
    kc::spgemm_fill<index_t>({rows, ptr<index_t>(a_crow), ptr<index_t>(a_col)},
                             {b.rows(), ptr<index_t>(b_crow), ptr<index_t>(b_col)}, n_warp,
                             n_warp ? ptr<int64_t>(warp_rows) : nullptr, n_big,
                             n_big ? ptr<int64_t>(big) : nullptr, ptr<index_t>(c_crow),
                             ptr<index_t>(c_col), stream);
  });
  return Pattern::from_csr(c_crow, c_col, rows, cols, /*check=*/false);
}

at::Tensor spgemm_numeric(const Pattern& a, const at::Tensor& av, const Pattern& b,
                          const at::Tensor& bv, const Pattern& c) {
  const c10::cuda::CUDAGuard guard(av.device());
  auto va = detail::dense_operand(av), vb = detail::dense_operand(bv);
  TORCH_CHECK_VALUE(va.size(0) == vb.size(0) || va.size(0) == 1 || vb.size(0) == 1,
                    "dsla: spgemm: batch sizes ", va.size(0), " and ", vb.size(0), " do not match");
  const int64_t B = std::max(va.size(0), vb.size(0));
  auto out = at::zeros({B, c.nnz()}, va.options());
  const auto dt = c.index_dtype();
  auto a_crow = a.crow().to(dt), a_col = a.col().to(dt);
  auto b_crow = b.crow().to(dt), b_col = b.col().to(dt);
  auto stream = at::cuda::getCurrentCUDAStream().stream();
  DSLA_DISPATCH_INDEX(dt, "spgemm", [&] {
    AT_DISPATCH_FLOATING_TYPES(va.scalar_type(), "spgemm", [&] {
      kc::spgemm_numeric<scalar_t, index_t>(
          {a.rows(), ptr<index_t>(a_crow), ptr<index_t>(a_col), ptr<scalar_t>(va),
           va.size(0) == 1 ? 0 : a.nnz()},
          {b.rows(), ptr<index_t>(b_crow), ptr<index_t>(b_col), ptr<scalar_t>(vb),
           vb.size(0) == 1 ? 0 : b.nnz()},
          {c.rows(), ptr<index_t>(c.crow()), ptr<index_t>(c.col()), ptr<scalar_t>(out), c.nnz()}, B,
          stream);
    });
  });
  return out;
}

namespace {
// The numeric slot: an undefined result for dtypes the kernels do not handle.
at::Tensor spgemm_numeric_slot(const Pattern& a, const at::Tensor& av, const Pattern& b,
                               const at::Tensor& bv, const Pattern& c) {
  if (!spgemm_supports(av.scalar_type())) return {};
  return spgemm_numeric(a, av, b, bv, c);
}
}  // namespace

DSLA_REGISTER_CUDA(detail::spgemm_symbolic_stub, spgemm_symbolic);
DSLA_REGISTER_CUDA(detail::spgemm_numeric_stub, spgemm_numeric_slot);

}  // namespace dsla::cuda
