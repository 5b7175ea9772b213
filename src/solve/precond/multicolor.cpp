// Multicolor sweeps: symmetric Gauss–Seidel / SSOR and DILU in the order of a row coloring
// (dsla::color_rows), so that the rows of one color are updated together — the form of these
// smoothers that runs in parallel, on a GPU as on the CPU (ATen ops and dsla's SpMM only: one
// code for every device). With the rows grouped by color, L and U are the entries whose column
// has an earlier / later color than their row, and
//   mc_ssor:  M = (D + ωL) D⁻¹ (D + ωU) / (ω(2−ω))        (mc_sgs: ω = 1)
//   dilu:     M = (E + L) E⁻¹ (E + U),  E diagonal with diag(M) = diag(A):
//             e_i = a_ii − Σ_{j ∈ earlier colors} a_ij a_ji / e_j
// Each triangular solve is one pass over the colors: for color c, the rows' product with the
// current iterate (the later colors still zero, no entry inside the color) is one SpMM of the
// color's row block, then a division by the diagonal — #colors small SpMMs, one full SpMM's
// worth of work per solve. M is Hermitian when A is; otherwise M⁻ᴴ is the same construction on
// Aᴴ (same coloring: the graph of A + Aᵀ), built on first use.
#include <dsla/errors.h>
#include <dsla/structure.h>

#include <sstream>
#include <vector>

#include "core/dispatch.h"
#include "core/products.h"
#include "kernels/cpu/color_sweep.h"
#include "solve/precond/common.h"
#include "solve/precond/multicolor.h"
#include "solve/precond/smoothing.h"

namespace dsla::precond::detail {

device::Stub<ColorSweepFn> color_sweep_stub;

namespace {

void color_sweep_cpu(const ColorSweepStep& st) {
  DSLA_DISPATCH_INDEX(st.block.index_dtype(), "multicolor", [&] {
    AT_DISPATCH_FLOATING_TYPES(st.out.scalar_type(), "multicolor", [&] {
      kernels::cpu::color_sweep<scalar_t, index_t>(color_sweep_args<scalar_t, index_t>(st));
    });
  });
}

enum class Kind { Ssor, Dilu };

// The rows of one color as a matrix [n_c, n] (columns global) and where its entries sit in A's
// values, so that new values (update, batches) are a gather.
struct ColorBlock {
  at::Tensor rows;     // int64 [n_c] on the device
  PatternPtr pattern;  // [n_c, n]
  at::Tensor take;     // int64 [nnz_c]: positions in A's values
};

std::vector<ColorBlock> color_blocks(const SparseMatrix& A, const Coloring& col) {
  const auto& p = *A.pattern();
  const auto L = at::TensorOptions().dtype(at::kLong).device(p.device());
  auto crow = p.crow().to(at::kLong);
  auto colidx = p.col();
  auto order = at::argsort(col.colors);  // rows grouped by color (stable enough: any order works)
  auto counts = at::bincount(col.colors, {}, col.count).cpu();
  std::vector<ColorBlock> out;
  int64_t start = 0;
  for (int64_t c = 0; c < col.count; ++c) {
    const int64_t m = counts[c].item<int64_t>();
    ColorBlock b;
    b.rows = std::get<0>(order.narrow(0, start, m).sort());
    start += m;
    auto lo = crow.index_select(0, b.rows), len = crow.index_select(0, b.rows + 1) - lo;
    auto bcrow = at::zeros({m + 1}, L);
    bcrow.narrow(0, 1, m).copy_(len.cumsum(0));
    const int64_t nnz = m == 0 ? 0 : bcrow[-1].item<int64_t>();
    // Entry positions: the ranges [lo, lo + len) of the rows, concatenated.
    auto base = at::repeat_interleave(lo - bcrow.narrow(0, 0, m), len, 0, nnz);
    b.take = base + at::arange(nnz, L);
    auto idx = p.index_dtype();
    b.pattern = Pattern::from_csr(bcrow.to(idx), colidx.index_select(0, b.take).contiguous(), m,
                                  p.cols(), /*check=*/false);
    out.push_back(std::move(b));
  }
  return out;
}

class Multicolor final : public SmoothingPreconditioner {
 public:
  Multicolor(const SparseMatrix& A, Kind kind, double omega, bool sgs_name = false)
      : SmoothingPreconditioner(A), kind_(kind), omega_(omega), sgs_name_(sgs_name) {
    check_diagonal_stored(A, kind_name());
    DSLA_CHECK_ARG(kind != Kind::Ssor || (omega > 0.0 && omega < 2.0), "omega",
                   "SSOR needs 0 < omega < 2, got ", omega);
    if (kind == Kind::Dilu) {
      const auto& p = *A.pattern();
      auto t = p.transpose();
      DSLA_CHECK_ARG(at::equal(t->crow(), p.crow()) && at::equal(t->col(), p.col()), "A",
                     "dilu needs a structurally symmetric pattern (a_ji stored wherever a_ij "
                     "is); use precond='mc_sgs' or 'ilu0'");
    }
    coloring_ = color_rows(A);
    blocks_ = color_blocks(A, coloring_);
    hermitian_ = is_hermitian(A);
    setup(A);
  }

  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "multicolor.apply");
    y.copy_(solve(x));
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "multicolor.apply_adjoint");
    if (hermitian_) {
      y.copy_(solve(x));
      return;
    }
    y.copy_(adjoint_impl().solve(x));
  }
  void smooth(const at::Tensor& b, at::Tensor& x, bool zero_guess, int64_t sweeps) const override {
    for (int64_t s = 0; s < sweeps; ++s) {
      if (zero_guess && s == 0)
        x = solve(b);
      else
        x.add_(solve(b - dsla::detail::spmm(*pattern_, vals_, x)));
    }
  }
  void update(const SparseMatrix& A) override {
    check_update(A);
    batch_ = A.batch_size();
    hermitian_ = is_hermitian(A);
    adjoint_.reset();
    setup(A);
  }
  bool is_symmetric() const override { return true; }
  std::string name() const override {
    std::ostringstream s;
    if (kind_ == Kind::Dilu)
      s << "dilu(colors=" << coloring_.count << ")";
    else if (sgs_name_)
      s << "mc_sgs(colors=" << coloring_.count << ")";
    else
      s << "mc_ssor(omega=" << omega_ << ", colors=" << coloring_.count << ")";
    return s.str();
  }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    if (hermitian_) return shared_from_this();
    return adjoint_view(shared_from_this());
  }

 private:
  const char* kind_name() const { return kind_ == Kind::Dilu ? "dilu" : "mc_ssor"; }

  void setup(const SparseMatrix& A) {
    vals_ = values_2d(A);
    const int64_t B = vals_.size(0);
    bvals_.clear();
    for (const auto& b : blocks_) bvals_.push_back(vals_.index_select(1, b.take));
    auto d = checked_diagonal(A, kind_name()).reshape({B, n_, 1}).to(dtype_);
    if (kind_ == Kind::Ssor) {
      diag_ = d;
      return;
    }
    // DILU's E, color by color: e_c = a_cc − Σ_{j earlier} a_cj a_jc / e_j, as one product of
    // the color's rows (values a_cj a_jc) with 1/e (zero for the colors not yet done).
    auto tp = A.pattern()->transpose_perm().to(at::kLong);
    auto vt = vals_.index_select(1, tp);  // vt[q] = a_ji for entry q = (i, j): same pattern
    auto inv = at::zeros({B, n_, 1}, d.options());
    auto e = d.clone();
    for (size_t c = 0; c < blocks_.size(); ++c) {
      const auto& b = blocks_[c];
      if (b.rows.numel() == 0) continue;
      auto w = bvals_[c] * vt.index_select(1, b.take);
      auto s = dsla::detail::spmm(*b.pattern, w, inv);  // [B, n_c, 1]
      auto ec = d.index_select(1, b.rows) - s;
      // A Hermitian A needs every pivot positive (then M = (E+L) E⁻¹ (E+L)ᴴ is positive
      // definite); a dense coarse AMG operator can break that (poisson3d:64, level 2).
      const bool ok =
          hermitian_ ? (at::real(ec) > 0).all().item<bool>() : (ec != 0).all().item<bool>();
      TORCH_CHECK_VALUE(ok, "dsla: dilu: a ", hermitian_ ? "pivot <= 0" : "zero pivot",
                        " in color ", c, " (DILU of this matrix is ",
                        hermitian_ ? "not positive definite" : "singular",
                        "); use precond='mc_sgs' or 'ilu0'");
      e.index_copy_(1, b.rows, ec);
      inv.index_copy_(1, b.rows, ec.reciprocal());
    }
    diag_ = e;
  }

  // M⁻¹ x for x [Bx, n, k]: the forward pass over the colors, the middle scaling, the backward.
  // Real values go through the fused step of the device (one kernel per color and pass); the
  // ATen passes below serve complex values (and are the reference the kernels are tested to).
  at::Tensor solve(const at::Tensor& x_in) const {
    const int64_t B = std::max(x_in.size(0), vals_.size(0));
    auto x = x_in.expand({B, n_, x_in.size(2)}).contiguous();
    const double w = kind_ == Kind::Ssor ? omega_ : 1.0;
    ColorSweepFn* fused = nullptr;
    if (at::isFloatingType(x.scalar_type()))
      fused = x.is_cpu() ? &color_sweep_cpu : color_sweep_stub.on(x.device());
    auto y = at::zeros_like(x);
    for (size_t c = 0; c < blocks_.size(); ++c) {  // (D + ωL) y = x
      const auto& b = blocks_[c];
      if (b.rows.numel() == 0) continue;
      if (fused) {
        fused({*b.pattern, bvals_[c], b.rows, diag_, x, y, w, 0});
        continue;
      }
      auto t = dsla::detail::spmm(*b.pattern, bvals_[c], y);
      auto dc = diag_.index_select(1, b.rows);
      y.index_copy_(1, b.rows, (x.index_select(1, b.rows) - t * w) / dc);
    }
    auto z = at::zeros_like(y);
    for (size_t c = blocks_.size(); c-- > 0;) {  // (D + ωU) z = D y: z_c = y_c − ω (U z)_c / d_c
      const auto& b = blocks_[c];
      if (b.rows.numel() == 0) continue;
      if (fused) {
        fused({*b.pattern, bvals_[c], b.rows, diag_, y, z, w, 1});
        continue;
      }
      auto t = dsla::detail::spmm(*b.pattern, bvals_[c], z);
      auto dc = diag_.index_select(1, b.rows);
      z.index_copy_(1, b.rows, y.index_select(1, b.rows) - t * w / dc);
    }
    if (kind_ == Kind::Ssor && w != 1.0) z.mul_(w * (2.0 - w));
    return z;
  }

  const Multicolor& adjoint_impl() const {
    if (!adjoint_) {
      const int64_t B = vals_.size(0);
      SparseMatrix A(pattern_, B == 1 ? vals_.select(0, 0) : vals_, false);
      adjoint_ = std::make_shared<Multicolor>(A.conj_transpose(), kind_, omega_, sgs_name_);
    }
    return *adjoint_;
  }

  Kind kind_;
  double omega_;
  bool sgs_name_;
  Coloring coloring_;
  std::vector<ColorBlock> blocks_;
  std::vector<at::Tensor> bvals_;
  at::Tensor vals_, diag_;
  bool hermitian_ = false;
  mutable std::shared_ptr<const Multicolor> adjoint_;
};

}  // namespace

PreconditionerPtr make_multicolor(const SparseMatrix& A, const Options& opt,
                                  const std::string& kind) {
  if (kind == "dilu") return std::make_shared<Multicolor>(A, Kind::Dilu, 1.0);
  const bool sgs = kind == "mc_sgs";
  return std::make_shared<Multicolor>(A, Kind::Ssor, sgs ? 1.0 : opt.omega, sgs);
}

SmootherPtr make_multicolor_smoother(const SparseMatrix& A, const std::string& kind) {
  if (kind == "dilu") {
    // A level where DILU breaks down (a pivot <= 0 of a Hermitian operator: the dense Galerkin
    // operators of 3-D problems) is smoothed by multicolor symmetric Gauss–Seidel instead, which
    // exists for any positive diagonal; name() says which one a level has.
    try {
      return std::make_shared<Multicolor>(A, Kind::Dilu, 1.0, false);
    } catch (const c10::ValueError&) {
    }
  }
  return std::make_shared<Multicolor>(A, Kind::Ssor, 1.0, true);
}

}  // namespace dsla::precond::detail
