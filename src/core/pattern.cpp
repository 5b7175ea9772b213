// Pattern: CSR structure plus lazily cached derived data. CPU work goes through the raw-pointer
// kernels; other devices use device-generic ATen ops (sort, bincount), so a pattern on the GPU
// is analysed on the GPU.
#include <dsla/pattern.h>

#include "core/dispatch.h"
#include "core/structure.h"
#include "kernels/cpu/csr_kernels.h"

#include <limits>

namespace dsla {

namespace detail {
device::Stub<DiagPositionsFn> diag_positions_stub;
}  // namespace detail

using detail::num_threads;
using detail::ptr;
namespace kc = kernels::cpu;

void check_shape(int64_t rows, int64_t cols) {
  DSLA_CHECK_ARG(rows >= 0 && cols >= 0, "shape", "dimensions must be non-negative, got (", rows,
                 ", ", cols, ")");
  // CSR needs rows + 1 row pointers (and a transpose cols + 1): both must be countable.
  const int64_t lim = std::numeric_limits<int64_t>::max();
  DSLA_CHECK_ARG(rows < lim && cols < lim, "shape", "dimensions (", rows, ", ", cols,
                 ") do not fit int64 row pointers: the largest is 2**63 - 2");
}

at::ScalarType Pattern::index_dtype_for(int64_t rows, int64_t cols, int64_t nnz) {
  const int64_t lim = std::numeric_limits<int32_t>::max();
  return (rows < lim && cols < lim && nnz < lim) ? at::kInt : at::kLong;
}

PatternPtr Pattern::from_csr(at::Tensor crow, at::Tensor col, int64_t rows, int64_t cols,
                             bool check) {
  check_shape(rows, cols);
  DSLA_CHECK_ARG(crow.dim() == 1 && crow.numel() == rows + 1, "crow",
                 "must be 1-D with rows + 1 = ", rows + 1, " entries, got shape ", crow.sizes());
  DSLA_CHECK_ARG(col.dim() == 1, "col", "must be 1-D, got shape ", col.sizes());
  DSLA_CHECK_TYPE(crow.scalar_type() == at::kInt || crow.scalar_type() == at::kLong, "crow",
                  "must be int32 or int64, got ", crow.scalar_type());
  DSLA_CHECK_TYPE(col.scalar_type() == crow.scalar_type(), "col", "must have crow's dtype (",
                  crow.scalar_type(), "), got ", col.scalar_type());
  DSLA_CHECK_ARG(col.device() == crow.device(), "col", "must be on crow's device (", crow.device(),
                 "), got ", col.device());
  auto p = std::shared_ptr<Pattern>(new Pattern());
  p->crow_ = crow.contiguous();
  p->col_ = col.contiguous();
  p->rows_ = rows;
  p->cols_ = cols;
  p->nnz_ = col.numel();
  if (crow.scalar_type() == at::kInt) {
    DSLA_CHECK_ARG(p->nnz_ < std::numeric_limits<int32_t>::max(), "col", "nnz = ", p->nnz_,
                   " does not fit int32 indices: pass int64 indices");
  }
  if (check) {
    at::Tensor c = p->crow_.cpu(), k = p->col_.cpu();
    int64_t where = -1;
    const int code = DSLA_DISPATCH_INDEX(c.scalar_type(), "Pattern", [&] {
      return kc::validate_csr<index_t>(rows, cols, p->nnz_, ptr<index_t>(c), ptr<index_t>(k),
                                       &where, num_threads());
    });
    switch (code) {
      case kc::kCsrOk:
        break;
      case kc::kCsrBadStart:
        DSLA_CHECK_ARG(false, "crow", "crow[0] must be 0");
        break;
      case kc::kCsrDecreasing:
        DSLA_CHECK_ARG(false, "crow", "must be nondecreasing; crow[", where + 1, "] < crow[", where,
                       "]");
        break;
      case kc::kCsrBadEnd:
        DSLA_CHECK_ARG(false, "crow", "crow[rows] must equal nnz = ", p->nnz_);
        break;
      case kc::kCsrColRange:
        DSLA_CHECK_INDEX(false, "col", "entry ", where, " is out of range [0, ", cols, ")");
        break;
      default:
        DSLA_CHECK_ARG(false, "col",
                       "columns must be strictly increasing within each row (sorted, no "
                       "duplicates); entry ",
                       where, " breaks this: build from COO to sort and sum duplicates");
    }
  }
  return p;
}

at::ScalarType Pattern::index_dtype() const {
  return crow_.scalar_type();
}
c10::Device Pattern::device() const {
  return crow_.device();
}

const at::Tensor& Pattern::row() const {
  std::lock_guard<std::recursive_mutex> g(mutex_);
  if (!row_.defined()) {
    if (device().is_cpu()) {
      row_ = at::empty({nnz_}, col_.options());
      DSLA_DISPATCH_INDEX(index_dtype(), "Pattern::row", [&] {
        kc::csr_row_indices<index_t>(rows_, ptr<index_t>(crow_), ptr<index_t>(row_), num_threads());
      });
    } else {
      auto counts = crow_.slice(0, 1).sub(crow_.slice(0, 0, rows_)).to(at::kLong);
      row_ = at::repeat_interleave(at::arange(rows_, crow_.options()), counts);
    }
  }
  return row_;
}

PatternPtr Pattern::transpose_locked() const {
  if (transpose_) return transpose_;
  if (auto origin = transpose_of_.lock()) return origin;
  at::Tensor crow_t, col_t;
  if (device().is_cpu()) {
    crow_t = at::empty({cols_ + 1}, crow_.options());
    col_t = at::empty({nnz_}, col_.options());
    transpose_perm_ = at::empty({nnz_}, col_.options().dtype(at::kLong));
    DSLA_DISPATCH_INDEX(index_dtype(), "Pattern::transpose", [&] {
      kc::csr_transpose<index_t>(rows_, cols_, ptr<index_t>(crow_), ptr<index_t>(col_),
                                 ptr<index_t>(crow_t), ptr<index_t>(col_t),
                                 ptr<int64_t>(transpose_perm_), num_threads());
    });
  } else {
    // Sort entries by (col, row): rows are already ascending, so a stable sort by col suffices.
    auto sorted = at::sort(col_.to(at::kLong), /*stable=*/true, /*dim=*/0, /*descending=*/false);
    transpose_perm_ = std::get<1>(sorted);
    col_t = row().index_select(0, transpose_perm_);
    auto counts = at::bincount(col_.to(at::kLong), {}, cols_);
    crow_t = at::cat({at::zeros({1}, counts.options()), counts.cumsum(0)}).to(index_dtype());
  }
  auto t = std::shared_ptr<Pattern>(new Pattern());
  t->crow_ = crow_t;
  t->col_ = col_t;
  t->rows_ = cols_;
  t->cols_ = rows_;
  t->nnz_ = nnz_;
  // The transpose of the transpose is this pattern (held weakly: see transpose_of_); its
  // permutation (the inverse of ours) is computed on first use (transpose_perm), not here: nnz
  // int64 that AMG (Pᵀ) never reads.
  t->transpose_of_ = shared_from_this();
  transpose_ = t;
  return t;
}

PatternPtr Pattern::transpose() const {
  std::lock_guard<std::recursive_mutex> g(mutex_);
  return transpose_locked();
}

const at::Tensor& Pattern::transpose_perm() const {
  std::lock_guard<std::recursive_mutex> g(mutex_);
  const auto t = transpose_locked();
  if (!transpose_perm_.defined()) {  // the transpose of a live origin: invert its permutation
    const auto& perm = t->transpose_perm();
    transpose_perm_ = at::empty_like(perm);
    transpose_perm_.index_put_({perm}, at::arange(nnz_, perm.options()));
  }
  return transpose_perm_;
}

at::Tensor Pattern::find_diag_pos() const {
  // Kernels search each row (no nnz-sized temporaries, no row expansion).
  const int64_t m = std::min(rows_, cols_);
  if (device().is_cpu()) {
    auto pos = at::empty({m}, crow_.options().dtype(at::kLong));
    DSLA_DISPATCH_INDEX(index_dtype(), "Pattern::diag_pos", [&] {
      kc::csr_diag_positions<index_t>(rows_, cols_, ptr<index_t>(crow_), ptr<index_t>(col_),
                                      ptr<int64_t>(pos), num_threads());
    });
    return pos;
  }
  if (auto* f = detail::diag_positions_stub.on(device())) return f(*this);
  auto r = row().to(at::kLong), c = col_.to(at::kLong);
  auto hit = at::nonzero(r == c).view(-1);
  auto pos = at::full({m}, -1, r.options());
  pos.index_put_({r.index_select(0, hit)}, hit);
  return pos;
}

const at::Tensor& Pattern::diag_pos() const {
  std::lock_guard<std::recursive_mutex> g(mutex_);
  if (!diag_pos_.defined()) diag_pos_ = find_diag_pos();
  return diag_pos_;
}

bool Pattern::has_full_diagonal() const {
  return rows_ == cols_ && (rows_ == 0 || diag_pos().min().item<int64_t>() >= 0);
}

bool Pattern::is_structurally_symmetric() const {
  std::lock_guard<std::recursive_mutex> g(mutex_);
  if (symmetric_ < 0) {
    if (rows_ != cols_) {
      symmetric_ = 0;
    } else {
      const auto t = transpose_locked();
      symmetric_ = at::equal(t->crow_, crow_) && at::equal(t->col_, col_);
    }
  }
  return symmetric_ == 1;
}

PatternPtr Pattern::to(c10::Device device) const {
  if (device == this->device()) return shared_from_this();
  std::lock_guard<std::recursive_mutex> g(mutex_);
  const std::string key = device.str();
  auto it = conversions_.find(key);
  if (it != conversions_.end()) return it->second;
  auto p = std::shared_ptr<Pattern>(new Pattern());
  p->crow_ = crow_.to(device);
  p->col_ = col_.to(device);
  p->rows_ = rows_;
  p->cols_ = cols_;
  p->nnz_ = nnz_;
  conversions_[key] = p;
  return p;
}

PatternPtr Pattern::with_index_dtype(at::ScalarType dtype) const {
  if (dtype == index_dtype()) return shared_from_this();
  DSLA_CHECK_TYPE(dtype == at::kInt || dtype == at::kLong, "dtype",
                  "index dtype must be int32 or int64");
  if (dtype == at::kInt) {
    DSLA_CHECK_ARG(index_dtype_for(rows_, cols_, nnz_) == at::kInt, "dtype",
                   "this pattern is too large for int32 indices");
  }
  return from_csr(crow_.to(dtype), col_.to(dtype), rows_, cols_, /*check=*/false);
}

std::shared_ptr<void> Pattern::cached_any(
    const std::string& key, const std::function<std::shared_ptr<void>()>& make) const {
  std::lock_guard<std::recursive_mutex> g(mutex_);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  auto v = make();
  cache_[key] = v;
  return v;
}

}  // namespace dsla
