// Overlapping additive Schwarz on one device ("asm"): the rows in contiguous blocks of
// `block_size`, each block grown by one layer of overlap (every column its rows reach), the
// block's submatrix A[E, E] factored dense (batched LU: one call for all blocks, on the GPU as
// on the CPU), and
//     M⁻¹ r = Σ_blocks R_Eᵀ A[E, E]⁻¹ R_E r
// (additive: symmetric when A is, so CG can use it; the overlap is what makes it better than
// block Jacobi). Memory: blocks × m² entries, m the largest grown block (≈ 3 block_size on a
// 2-D grid in natural order); block_size 0 picks 32. A new set of values (update, batches) is
// one gather into the dense blocks and one batched factorization.
#include <dsla/errors.h>

#include <sstream>

#include "solve/precond/common.h"

namespace dsla::precond::detail {

namespace {

class Schwarz final : public PrecondBase {
 public:
  Schwarz(const SparseMatrix& A, int64_t block_size) : PrecondBase(A), bs_(block_size) {
    DSLA_CHECK_ARG(bs_ >= 1, "block_size", "asm needs block_size >= 1 (0: automatic), got ", bs_);
    analyse(A);
    hermitian_ = is_hermitian(A);
    factor(A);
  }

  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "asm.apply");
    y.copy_(solve(x, false));
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "asm.apply_adjoint");
    y.copy_(solve(x, !hermitian_));
  }
  void update(const SparseMatrix& A) override {
    check_update(A);
    batch_ = A.batch_size();
    hermitian_ = is_hermitian(A);
    factor(A);
  }
  bool is_symmetric() const override { return true; }
  std::string name() const override {
    std::ostringstream s;
    s << "asm(block_size=" << bs_ << ", blocks=" << nb_ << ", overlap=1, m=" << m_ << ")";
    return s.str();
  }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    if (hermitian_) return shared_from_this();
    return adjoint_view(shared_from_this());
  }

 private:
  // The grown blocks E_b (rows, sorted) as [nb, m] indices padded with n (a zero slot), and
  // where each stored entry of A lands in the dense blocks.
  void analyse(const SparseMatrix& A) {
    const auto& p = *A.pattern();
    const auto L = at::TensorOptions().dtype(at::kLong).device(p.device());
    const int64_t n = n_;
    nb_ = (n + bs_ - 1) / bs_;
    auto row = p.row().to(at::kLong), col = p.col().to(at::kLong);
    auto crow = p.crow().to(at::kLong);
    // E_b = the block's rows and every column they reach (rows and columns share numbering).
    auto blk = row.div(bs_, "floor");
    auto keys = at::cat({blk * n + col, at::arange(n, L).div(bs_, "floor") * n + at::arange(n, L)});
    auto ext = std::get<0>(at::_unique(keys, /*sorted=*/true));  // (block, row) pairs, sorted
    auto eb = ext.div(n, "floor"), eg = ext.remainder(n);
    auto counts = at::bincount(eb, {}, nb_);
    m_ = counts.max().item<int64_t>();
    auto start = counts.cumsum(0) - counts;
    auto pos = at::arange(ext.numel(), L) - start.index_select(0, eb);  // position in its block
    idx_ = at::full({nb_ * m_}, n, L);
    idx_.index_put_({eb * m_ + pos}, eg);
    // Entries of the grown blocks: for each (block, row g), the entries (g, c) with c in E_b.
    auto len = crow.index_select(0, eg + 1) - crow.index_select(0, eg);
    const int64_t total = len.sum().item<int64_t>();
    auto pair = at::repeat_interleave(at::arange(ext.numel(), L), len, 0, total);
    auto first =
        at::repeat_interleave(crow.index_select(0, eg) - (len.cumsum(0) - len), len, 0, total);
    auto ent = first + at::arange(total, L);  // entry of A
    auto b = eb.index_select(0, pair);
    auto ckey = b * n + col.index_select(0, ent);
    auto where = at::searchsorted(ext, ckey);
    auto found = where < ext.numel();
    found = found & (ext.index_select(0, where.clamp_max(ext.numel() - 1)) == ckey);
    auto pr = pos.index_select(0, pair), pc = pos.index_select(0, where.clamp_max(ext.numel() - 1));
    take_ = ent.masked_select(found);
    dest_ = (b * m_ * m_ + pr * m_ + pc).masked_select(found);
    // Padding rows / columns: identity, so the padded blocks stay invertible.
    auto pad = (idx_ == n).view({nb_, m_});
    pad_diag_ = at::nonzero(pad.reshape(-1)).view(-1);
    pad_diag_ = pad_diag_.div(m_, "floor") * m_ * m_ + pad_diag_.remainder(m_) * (m_ + 1);
  }

  void factor(const SparseMatrix& A) {
    auto v = values_2d(A);
    const int64_t B = v.size(0);
    auto dense = at::zeros({B, nb_ * m_ * m_}, v.options());
    dense.index_add_(1, dest_, v.index_select(1, take_));
    dense.index_fill_(1, pad_diag_, 1.0);
    auto [LU, piv, info] = at::linalg_lu_factor_ex(dense.view({B, nb_, m_, m_}));
    TORCH_CHECK_VALUE(info.eq(0).all().item<bool>(),
                      "dsla: asm: a block A[E, E] is singular; "
                      "use a larger block_size, or precond='ilu0' / 'amg'");
    lu_ = LU;
    piv_ = piv;
  }

  at::Tensor solve(const at::Tensor& x_in, bool adjoint) const {
    const int64_t B = std::max(x_in.size(0), lu_.size(0)), k = x_in.size(2);
    auto x = x_in.expand({B, n_, k});
    auto xz = at::cat({x, at::zeros({B, 1, k}, x.options())}, 1);  // slot n: zero
    auto rb = xz.index_select(1, idx_).view({B, nb_, m_, k});
    auto sol = at::linalg_lu_solve(lu_, piv_, rb, /*left=*/true, adjoint);
    auto z = at::zeros({B, n_ + 1, k}, x.options());
    z.index_add_(1, idx_, sol.reshape({B, nb_ * m_, k}));
    return z.narrow(1, 0, n_);
  }

  int64_t bs_, nb_ = 0, m_ = 0;
  at::Tensor idx_, take_, dest_, pad_diag_, lu_, piv_;
  bool hermitian_ = false;
};

}  // namespace

PreconditionerPtr make_schwarz(const SparseMatrix& A, const Options& opt) {
  return std::make_shared<Schwarz>(A, opt.block_size > 0 ? opt.block_size : 32);
}

}  // namespace dsla::precond::detail
