// SparseMatrix construction, conversion and the structural/elementwise operations that are
// expressed through ATen index ops (and so are differentiable in the values for free).
#include <dsla/sparse_matrix.h>

#include "core/coo.h"
#include "core/dispatch.h"
#include "core/dtype_names.h"
#include "kernels/cpu/csr_kernels.h"

#include <limits>
#include <sstream>

namespace dsla {

using detail::num_threads;
using detail::ptr;
namespace kc = kernels::cpu;

void check_value_dtype(const at::Tensor& values, const char* arg) {
  DSLA_CHECK_TYPE(detail::is_value_dtype(values.scalar_type()), arg,
                  "dtype must be float32, float64, complex64 or complex128, got ",
                  values.scalar_type(), "; convert with .to(torch.float64)");
}

void check_finite(const at::Tensor& t, const char* arg) {
  if (t.numel() == 0) return;
  // min and max propagate NaN and expose ±Inf: two reductions, no temporary of t's size
  // (isfinite(t) would allocate |t| and a mask, a matrix-sized peak on the GPU).
  auto r = t.is_complex() ? at::view_as_real(t.resolve_conj()) : t;
  auto mm = at::aminmax(r);
  auto ends = at::stack({std::get<0>(mm), std::get<1>(mm)});
  DSLA_CHECK_ARG(at::isfinite(ends).all().item<bool>(), arg, "contains NaN or Inf");
}

namespace {

void check_values_shape(const at::Tensor& values, int64_t nnz, const char* arg) {
  DSLA_CHECK_ARG(
      (values.dim() == 1 && values.size(0) == nnz) || (values.dim() == 2 && values.size(1) == nnz),
      arg, "must have shape [nnz] or [B, nnz] with nnz = ", nnz, ", got ", values.sizes());
}

void check_index_tensor(const at::Tensor& t, const char* arg) {
  DSLA_CHECK_TYPE(at::isIntegralType(t.scalar_type(), /*includeBool=*/false), arg,
                  "must be an integer tensor (int32 or int64), got ", t.scalar_type());
  DSLA_CHECK_ARG(t.dim() == 1, arg, "must be 1-D, got shape ", t.sizes());
}

}  // namespace

SparseMatrix::SparseMatrix(PatternPtr pattern, at::Tensor values, bool check)
    : pattern_(std::move(pattern)), values_(std::move(values)) {
  DSLA_CHECK_ARG(pattern_ != nullptr, "pattern", "must not be null");
  check_value_dtype(values_, "values");
  check_values_shape(values_, pattern_->nnz(), "values");
  DSLA_CHECK_ARG(values_.device() == pattern_->device(), "values", "is on ", values_.device(),
                 " but the pattern is on ", pattern_->device(), "; move both with .to(device)");
  if (check) check_finite(values_, "values");
}

SparseMatrix SparseMatrix::from_coo(const at::Tensor& row, const at::Tensor& col,
                                    const at::Tensor& values, Shape shape, const CooOptions& opt) {
  at::Tensor map;
  return detail::from_coo_mapped(row, col, values, shape, opt, map);
}

namespace detail {

int64_t coo_to_csr_aten(const at::Tensor& r, const at::Tensor& c, int64_t rows, int64_t cols,
                        at::ScalarType idt, at::Tensor& crow, at::Tensor& col_out, at::Tensor& map,
                        bool* identity) {
  const int64_t nnz_in = r.numel();
  if (identity) *identity = nnz_in == 0;
  if (nnz_in == 0) {
    crow = at::zeros({rows + 1}, r.options().dtype(idt));
    col_out = at::empty({0}, r.options().dtype(idt));
    map = at::empty({0}, r.options());
    return 0;
  }
  // One int64 key when rows x cols fits (always for int32-indexed shapes): the merged rows and
  // columns come back from the sorted keys, so no sorted copies of r and c are made. Else two
  // stable sorts. Entries already in order (a product's rows handed on, one rank's Galerkin
  // rows) skip the sort: a compare instead of a radix sort with its buffers. Each temporary is
  // released as soon as it is used: at the coarse levels of a distributed AMG nnz_in is the
  // largest count of the setup, and each int64 array of it 8 bytes per entry.
  const bool one_key = cols == 0 || rows <= (std::numeric_limits<int64_t>::max() >> 1) / cols;
  at::Tensor key, order, starts;  // order undefined: the identity
  if (one_key) {
    key = r * cols;
    key.add_(c);
    const bool in_order =
        nnz_in < 2 ||
        (key.narrow(0, 1, nnz_in - 1) >= key.narrow(0, 0, nnz_in - 1)).all().item<bool>();
    if (!in_order) {
      auto srt = at::sort(key);
      key = std::get<0>(srt);
      order = std::get<1>(srt);
    }
    starts = at::ones({nnz_in}, r.options().dtype(at::kBool));
    starts.narrow(0, 1, nnz_in - 1)
        .copy_(key.narrow(0, 1, nnz_in - 1) != key.narrow(0, 0, nnz_in - 1));
  } else {
    order = std::get<1>(at::sort(c, /*stable=*/true, 0, false));
    order = order.index_select(0, std::get<1>(at::sort(r.index_select(0, order), true, 0, false)));
    auto rs = r.index_select(0, order), cs = c.index_select(0, order);
    starts = at::ones({nnz_in}, r.options().dtype(at::kBool));
    starts.narrow(0, 1, nnz_in - 1)
        .copy_((rs.narrow(0, 1, nnz_in - 1) != rs.narrow(0, 0, nnz_in - 1)) |
               (cs.narrow(0, 1, nnz_in - 1) != cs.narrow(0, 0, nnz_in - 1)));
    key = at::stack({rs, cs});  // [2, nnz_in]: the merged rows and columns are read from it
  }
  // The merged position of each sorted entry, then of each input entry.
  map = starts.cumsum(0, at::kLong).sub_(1);
  const int64_t nnz = map[-1].item<int64_t>() + 1;
  if (order.defined()) {
    auto id = std::move(map);
    map = at::empty({nnz_in}, r.options());
    map.index_put_({order}, id);
  }
  if (identity) *identity = !order.defined() && nnz == nnz_in;
  order = at::Tensor();
  // The merged entries' keys (all of them when nothing was merged: no copy).
  if (one_key) {
    // Row starts by searching the sorted keys (no array of rows), columns in place.
    auto ukey = nnz == nnz_in ? std::move(key) : key.masked_select(starts);
    key = at::Tensor();
    starts = at::Tensor();
    const int64_t kc = std::max<int64_t>(cols, 1);
    crow = at::searchsorted(ukey, at::arange(rows + 1, ukey.options()).mul_(kc)).to(idt);
    col_out = ukey.remainder_(kc).to(idt);
  } else {
    auto urow = key[0].masked_select(starts);
    auto counts = at::bincount(urow, {}, rows);
    crow = at::cat({at::zeros({1}, counts.options()), counts.cumsum(0)}).to(idt);
    col_out = key[1].masked_select(starts).to(idt);
  }
  return nnz;
}

SparseMatrix from_coo_mapped(const at::Tensor& row, const at::Tensor& col, const at::Tensor& values,
                             Shape shape, const CooOptions& opt, at::Tensor& map) {
  check_index_tensor(row, "row");
  check_index_tensor(col, "col");
  DSLA_CHECK_ARG(row.numel() == col.numel(), "col", "has ", col.numel(), " entries but row has ",
                 row.numel());
  check_shape(shape.rows, shape.cols);
  check_value_dtype(values, "values");
  check_values_shape(values, row.numel(), "values");
  DSLA_CHECK_ARG(row.device() == col.device(), "col", "must be on row's device");
  const int64_t nnz_in = row.numel();
  // Host entries go through the host kernel; entries on another device are sorted and merged
  // there (a GPU does millions in microseconds; the host kernel would copy them over and back).
  const bool host = row.device().is_cpu();
  auto r = (host ? row.to(at::kCPU, at::kLong) : row.to(at::kLong)).contiguous();
  auto c = (host ? col.to(at::kCPU, at::kLong) : col.to(at::kLong)).contiguous();
  // Unconditional: an index out of range would write outside the CSR arrays (a crash, or heap
  // corruption for -1) whatever the caller promised; the scan is O(nnz), once.
  int64_t bad = -1;
  if (host) {
    bad = kc::find_bad_coo_index(nnz_in, ptr<int64_t>(r), ptr<int64_t>(c), shape.rows, shape.cols,
                                 num_threads());
  } else if (nnz_in > 0) {
    auto out = (r < 0) | (r >= shape.rows) | (c < 0) | (c >= shape.cols);
    if (out.any().item<bool>()) bad = at::nonzero(out)[0][0].item<int64_t>();
  }
  if (bad >= 0) {
    const int64_t rb = r[bad].item<int64_t>(), cb = c[bad].item<int64_t>();
    DSLA_CHECK_INDEX(false, rb < 0 || rb >= shape.rows ? "row" : "col", "entry ", bad, " = (", rb,
                     ", ", cb, ") is outside the shape (", shape.rows, ", ", shape.cols, ")");
  }
  if (opt.check) check_finite(values, "values");
  const auto idt =
      opt.index_dtype.value_or(Pattern::index_dtype_for(shape.rows, shape.cols, nnz_in));
  at::Tensor crow, cols, m;
  int64_t nnz = 0;
  bool identity = false;  // entries already sorted and unique: values as given
  if (host) {
    crow = at::empty({shape.rows + 1}, r.options().dtype(idt));
    cols = at::empty({nnz_in}, r.options().dtype(idt));
    m = at::empty({nnz_in}, r.options());
    nnz = DSLA_DISPATCH_INDEX(idt, "from_coo", [&] {
      return kc::coo_to_csr<index_t>(shape.rows, nnz_in, ptr<int64_t>(r), ptr<int64_t>(c),
                                     ptr<index_t>(crow), ptr<index_t>(cols), ptr<int64_t>(m),
                                     num_threads());
    });
    cols = cols.slice(0, 0, nnz).clone();
    identity = nnz == nnz_in && at::equal(m, at::arange(nnz_in, m.options()));
  } else {
    nnz = coo_to_csr_aten(r, c, shape.rows, shape.cols, idt, crow, cols, m, &identity);
  }
  DSLA_CHECK_ARG(opt.sum_duplicates || nnz == nnz_in, "row",
                 "contains duplicate (row, col) entries and sum_duplicates is false");
  auto pattern =
      Pattern::from_csr(crow, cols, shape.rows, shape.cols, /*check=*/false)->to(values.device());
  map = m.to(values.device());
  at::Tensor v;
  if (identity) {
    v = values.contiguous();  // a broadcast placeholder (an expanded zero) becomes storage here
  } else {
    auto shape_out = values.sizes().vec();
    shape_out.back() = nnz;
    v = at::zeros(shape_out, values.options()).index_add(-1, map, values);
  }
  return SparseMatrix(pattern, v, /*check=*/false);
}

}  // namespace detail

SparseMatrix SparseMatrix::from_csr(const at::Tensor& crow, const at::Tensor& col,
                                    const at::Tensor& values, Shape shape, bool check) {
  // The structure is validated whatever `check` says (see the header): products index with it.
  auto p = Pattern::from_csr(crow, col, shape.rows, shape.cols, /*check=*/true);
  return SparseMatrix(p, values, check);
}

SparseMatrix SparseMatrix::from_dense(const at::Tensor& dense) {
  DSLA_CHECK_ARG(dense.dim() == 2 || dense.dim() == 3, "dense",
                 "must be [n, m] or [B, n, m], got shape ", dense.sizes());
  check_value_dtype(dense, "dense");
  auto mask = dense.detach() != 0;
  if (dense.dim() == 3) mask = mask.any(0);
  auto idx = at::nonzero(mask.cpu());  // row-major order: already CSR-sorted
  auto r = idx.select(1, 0).contiguous(), c = idx.select(1, 1).contiguous();
  const int64_t n = dense.size(-2), m = dense.size(-1);
  auto flat = (r * m + c).to(dense.device());
  at::Tensor v = dense.dim() == 2 ? dense.reshape({n * m}).index_select(0, flat)
                                  : dense.reshape({dense.size(0), n * m}).index_select(1, flat);
  CooOptions opt;
  opt.check = false;
  return from_coo(r, c, v, {n, m}, opt);
}

SparseMatrix SparseMatrix::from_torch(const at::Tensor& t) {
  if (t.layout() == at::kSparse) {
    DSLA_CHECK_ARG(t.sparse_dim() == 2 && t.dense_dim() == 0, "tensor",
                   "must be a 2-D sparse COO tensor with scalar values");
    // coalesce() and values() are tracked by autograd (_values() is not): the gradient reaches
    // the COO tensor's values.
    auto tc = t.coalesce();
    auto idx = tc.indices();
    return from_coo(idx[0], idx[1], tc.values(), {t.size(0), t.size(1)});
  }
  if (t.layout() == at::kSparseCsr) {
    DSLA_CHECK_ARG(t.dim() == 2, "tensor", "must be a 2-D sparse CSR tensor");
    auto crow = t.crow_indices(), col = t.col_indices();
    auto vals = t.values();
    // torch allows unsorted/duplicate columns in CSR: go through COO to normalize. The row
    // pointers are checked first (torch does not always), then expanded to rows.
    const int64_t rows = t.size(0);
    auto cr = crow.to(at::kCPU, at::kLong);
    auto counts = cr.slice(0, 1).sub(cr.slice(0, 0, rows));
    DSLA_CHECK_ARG(cr.numel() == rows + 1 && cr[0].item<int64_t>() == 0 &&
                       cr[rows].item<int64_t>() == col.numel() &&
                       (rows == 0 || counts.min().item<int64_t>() >= 0),
                   "tensor", "crow_indices must rise from 0 to nnz = ", col.numel(),
                   " over rows + 1 = ", rows + 1, " entries");
    auto row = at::repeat_interleave(at::arange(rows, cr.options()), counts);
    return from_coo(row.to(col.device()), col, vals, {rows, t.size(1)});
  }
  DSLA_CHECK_ARG(t.layout() == at::kStrided, "tensor",
                 "layout must be sparse_coo, sparse_csr or strided, got ", t.layout());
  return from_dense(t);
}

int64_t SparseMatrix::rows() const {
  return pattern_ ? pattern_->rows() : 0;
}
int64_t SparseMatrix::cols() const {
  return pattern_ ? pattern_->cols() : 0;
}
int64_t SparseMatrix::nnz() const {
  return pattern_ ? pattern_->nnz() : 0;
}
at::ScalarType SparseMatrix::dtype() const {
  return values_.scalar_type();
}
c10::Device SparseMatrix::device() const {
  return values_.device();
}
bool SparseMatrix::is_complex() const {
  return at::isComplexType(dtype());
}
at::Tensor SparseMatrix::row_indices() const {
  return pattern_->row();
}
at::Tensor SparseMatrix::col_indices() const {
  return pattern_->col();
}
at::Tensor SparseMatrix::crow_indices() const {
  return pattern_->crow();
}

at::Tensor SparseMatrix::to_dense() const {
  const int64_t n = rows(), m = cols();
  auto flat = (row_indices().to(at::kLong) * m + col_indices().to(at::kLong));
  if (!is_batched()) {
    return at::zeros({n * m}, values_.options()).index_add(0, flat, values_).view({n, m});
  }
  const int64_t B = values_.size(0);
  return at::zeros({B, n * m}, values_.options()).index_add(1, flat, values_).view({B, n, m});
}

at::Tensor SparseMatrix::to_torch_coo() const {
  DSLA_CHECK_ARG(!is_batched(), "self", "to_torch_coo needs an unbatched matrix");
  auto idx = at::stack({row_indices().to(at::kLong), col_indices().to(at::kLong)});
  return at::sparse_coo_tensor(idx, values_, {rows(), cols()})._coalesced_(true);
}

at::Tensor SparseMatrix::to_torch_csr() const {
  DSLA_CHECK_ARG(!is_batched(), "self", "to_torch_csr needs an unbatched matrix");
  return at::sparse_csr_tensor(pattern_->crow(), pattern_->col(), values_, {rows(), cols()},
                               values_.options().layout(at::kSparseCsr));
}

SparseMatrix SparseMatrix::with_values(at::Tensor values) const {
  return SparseMatrix(pattern_, std::move(values), /*check=*/false);
}

SparseMatrix SparseMatrix::to(c10::Device device) const {
  return SparseMatrix(pattern_->to(device), values_.to(device), false);
}
SparseMatrix SparseMatrix::to(at::ScalarType dtype) const {
  check_value_dtype(at::empty({0}, at::TensorOptions().dtype(dtype)), "dtype");
  return with_values(values_.to(dtype));
}
SparseMatrix SparseMatrix::to(c10::Device device, at::ScalarType dtype) const {
  return to(device).to(dtype);
}
SparseMatrix SparseMatrix::detach() const {
  return with_values(values_.detach());
}

SparseMatrix SparseMatrix::transpose() const {
  return SparseMatrix(pattern_->transpose(), values_.index_select(-1, pattern_->transpose_perm()),
                      false);
}
SparseMatrix SparseMatrix::conj() const {
  return is_complex() ? with_values(values_.conj().resolve_conj()) : *this;
}
SparseMatrix SparseMatrix::conj_transpose() const {
  return transpose().conj();
}

at::Tensor SparseMatrix::diagonal() const {
  const auto& pos = pattern_->diag_pos();
  auto gathered = values_.index_select(-1, pos.clamp_min(0));
  return gathered * (pos >= 0).to(gathered.scalar_type());
}

bool SparseMatrix::is_symmetric(double rtol, double atol, bool hermitian) const {
  if (rows() != cols()) return false;
  if (nnz() == 0) return true;
  at::Tensor diff;
  auto t = transpose();
  if (hermitian) t = t.conj();
  if (pattern_->is_structurally_symmetric()) {
    diff = values_ - t.values();
  } else {
    // Different patterns may still hold symmetric values (explicit zeros): compare A - Aᵀ.
    auto d = SparseMatrix::from_coo(at::cat({row_indices(), t.row_indices()}).to(at::kLong),
                                    at::cat({col_indices(), t.col_indices()}).to(at::kLong),
                                    at::cat({values_, -t.values()}, -1), {rows(), cols()},
                                    CooOptions{false, true, {}});
    diff = d.values();
  }
  const double scale = values_.abs().max().item<double>();
  return diff.abs().max().item<double>() <= atol + rtol * scale;
}

at::Tensor SparseMatrix::row_sums() const {
  auto z = at::zeros(
      is_batched() ? std::vector<int64_t>{values_.size(0), rows()} : std::vector<int64_t>{rows()},
      values_.options());
  return z.index_add(-1, row_indices().to(at::kLong), values_);
}

at::Tensor SparseMatrix::col_sums() const {
  auto z = at::zeros(
      is_batched() ? std::vector<int64_t>{values_.size(0), cols()} : std::vector<int64_t>{cols()},
      values_.options());
  return z.index_add(-1, col_indices().to(at::kLong), values_);
}

at::Tensor SparseMatrix::norm(const std::string& ord) const {
  auto a = values_.abs();
  if (ord == "fro") return a.pow(2).sum(-1).sqrt();
  if (ord == "1" || ord == "inf") {
    const bool by_col = ord == "1";
    const int64_t len = by_col ? cols() : rows();
    auto z = at::zeros(
        is_batched() ? std::vector<int64_t>{values_.size(0), len} : std::vector<int64_t>{len},
        a.options());
    auto sums = z.index_add(-1, (by_col ? col_indices() : row_indices()).to(at::kLong), a);
    return len == 0 ? sums.sum(-1) : std::get<0>(sums.max(-1));
  }
  DSLA_CHECK_ARG(false, "ord", "must be 'fro', '1' or 'inf', got '", ord,
                 "' (the 2-norm needs an eigensolver: use svds)");
  return {};
}

SparseMatrix SparseMatrix::scale(const at::Scalar& alpha) const {
  return with_values(values_ * alpha);
}

SparseMatrix SparseMatrix::submatrix(const at::Tensor& rows_sel, const at::Tensor& cols_sel) const {
  check_index_tensor(rows_sel, "rows");
  check_index_tensor(cols_sel, "cols");
  auto rs = rows_sel.to(at::kCPU, at::kLong), cs = cols_sel.to(at::kCPU, at::kLong);
  auto make_map = [](const at::Tensor& sel, int64_t n, const char* arg) {
    if (sel.numel()) {
      DSLA_CHECK_INDEX(sel.min().item<int64_t>() >= 0 && sel.max().item<int64_t>() < n, arg,
                       "indices must lie in [0, ", n, ")");
      DSLA_CHECK_ARG(std::get<0>(at::_unique(sel)).numel() == sel.numel(), arg,
                     "must not contain repeated indices");
    }
    auto map = at::full({n}, -1, sel.options());
    map.index_put_({sel}, at::arange(sel.numel(), sel.options()));
    return map;
  };
  auto rmap = make_map(rs, rows(), "rows"), cmap = make_map(cs, cols(), "cols");
  auto new_r = rmap.index_select(0, row_indices().cpu().to(at::kLong));
  auto new_c = cmap.index_select(0, col_indices().cpu().to(at::kLong));
  auto keep = at::nonzero((new_r >= 0) & (new_c >= 0)).view(-1);
  auto v = values_.index_select(-1, keep.to(values_.device()));
  CooOptions opt;
  opt.check = false;
  return from_coo(new_r.index_select(0, keep), new_c.index_select(0, keep), v,
                  {rs.numel(), cs.numel()}, opt);
}

std::string SparseMatrix::repr() const {
  std::ostringstream s;
  s << "SparseMatrix(shape=(" << rows() << ", " << cols() << "), nnz=" << nnz();
  if (is_batched()) s << ", batch=" << batch_size();
  if (defined()) {
    s << ", dtype=" << torch_dtype_name(dtype()) << ", device=" << device()
      << ", index=" << torch_dtype_name(pattern_->index_dtype());
  }
  s << ")";
  return s.str();
}

}  // namespace dsla
