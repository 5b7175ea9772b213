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

namespace {

// The count phase of C = A B: C's entries per row (int64 [rows]), with the rows the fill gives a
// warp (warp_rows) or a block (big) each; row_nnz undefined when some row is wider than the block
// tables. Index arrays in idt (the wider of A's and B's).
struct RowCounts {
  at::Tensor row_nnz, warp_rows, big;
  int64_t n_warp = 0, n_big = 0;
};
RowCounts count_rows(const Pattern& a, const Pattern& b, at::ScalarType idt) {
  const int64_t rows = a.rows();
  auto a_crow = a.crow().to(idt), a_col = a.col().to(idt);
  auto b_crow = b.crow().to(idt), b_col = b.col().to(idt);
  auto stream = at::cuda::getCurrentCUDAStream().stream();
  RowCounts r;
  r.row_nnz = at::empty({rows}, a.crow().options().dtype(at::kLong));
  // Rows of at most 64 products: a thread each; the others listed (sorted) for a warp each.
  DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
    kc::spgemm_count_small<index_t>({rows, ptr<index_t>(a_crow), ptr<index_t>(a_col)},
                                    {b.rows(), ptr<index_t>(b_crow), ptr<index_t>(b_col)},
                                    ptr<int64_t>(r.row_nnz), stream);
  });
  if (rows > 0) {
    r.warp_rows = (r.row_nnz == kc::spgemm_needs_warp()).nonzero().view(-1).contiguous();
    r.n_warp = r.warp_rows.numel();
  }
  DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
    kc::spgemm_count_warp<index_t>({rows, ptr<index_t>(a_crow), ptr<index_t>(a_col)},
                                   {b.rows(), ptr<index_t>(b_crow), ptr<index_t>(b_col)}, r.n_warp,
                                   r.n_warp ? ptr<int64_t>(r.warp_rows) : nullptr,
                                   ptr<int64_t>(r.row_nnz), stream);
  });
  if (rows > 0 && r.row_nnz.min().item<int64_t>() < 0) {
    r.big = (r.row_nnz < 0).nonzero().view(-1).contiguous();
    r.n_big = r.big.numel();
    DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
      kc::spgemm_count_big<index_t>({rows, ptr<index_t>(a_crow), ptr<index_t>(a_col)},
                                    {b.rows(), ptr<index_t>(b_crow), ptr<index_t>(b_col)}, r.n_big,
                                    ptr<int64_t>(r.big), ptr<int64_t>(r.row_nnz), stream);
    });
    if (r.row_nnz.min().item<int64_t>() < 0) r.row_nnz = at::Tensor();  // wider than the tables
  }
  return r;
}

at::ScalarType product_index_dtype(const Pattern& a, const Pattern& b) {
  return (a.index_dtype() == at::kLong || b.index_dtype() == at::kLong) ? at::kLong : at::kInt;
}

}  // namespace

at::Tensor spgemm_row_nnz(const Pattern& a, const Pattern& b) {
  const c10::cuda::CUDAGuard guard(a.device());
  return count_rows(a, b, product_index_dtype(a, b)).row_nnz;
}

PatternPtr spgemm_symbolic(const Pattern& a, const Pattern& b) {
  const c10::cuda::CUDAGuard guard(a.device());
  const int64_t rows = a.rows(), cols = b.cols();
  auto idt = product_index_dtype(a, b);
  auto counts = count_rows(a, b, idt);
  if (!counts.row_nnz.defined()) return nullptr;
  auto lo = a.crow().options().dtype(at::kLong);
  auto crow64 = at::zeros({rows + 1}, lo);
  if (rows > 0) {
    auto tail = crow64.narrow(0, 1, rows);
    at::cumsum_out(tail, counts.row_nnz, 0);
  }
  const int64_t nnz = rows > 0 ? crow64[rows].item<int64_t>() : 0;
  if (Pattern::index_dtype_for(rows, cols, nnz) == at::kLong) idt = at::kLong;
  auto a_crow = a.crow().to(idt), a_col = a.col().to(idt);
  auto b_crow = b.crow().to(idt), b_col = b.col().to(idt);
  auto c_crow = crow64.to(idt);
  crow64 = at::Tensor();
  counts.row_nnz = at::Tensor();
  auto c_col = at::empty({nnz}, c_crow.options());
  auto stream = at::cuda::getCurrentCUDAStream().stream();
  const int64_t n_warp = counts.n_warp, n_big = counts.n_big;
  DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
    kc::spgemm_fill<index_t>({rows, ptr<index_t>(a_crow), ptr<index_t>(a_col)},
                             {b.rows(), ptr<index_t>(b_crow), ptr<index_t>(b_col)}, n_warp,
                             n_warp ? ptr<int64_t>(counts.warp_rows) : nullptr, n_big,
                             n_big ? ptr<int64_t>(counts.big) : nullptr, ptr<index_t>(c_crow),
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
DSLA_REGISTER_CUDA(detail::spgemm_row_nnz_stub, spgemm_row_nnz);
DSLA_REGISTER_CUDA(detail::spgemm_numeric_stub, spgemm_numeric_slot);

}  // namespace dsla::cuda
