// Block Jacobi: M = the block diagonal of A with contiguous blocks of b rows. The dense block
// inverses are computed once per setup with one batched at::linalg_inv_ex on A's device, so
// apply is one batched small matmul and runs wherever ATen does. A trailing partial block
// (n % b rows) is padded with the identity. Auto block size: the matrix's own block structure
// when its pattern is made of full b x b blocks (b <= 8, e.g. several unknowns per node), else 4.
#include <dsla/errors.h>

#include "solve/precond/common.h"

namespace dsla::precond::detail {

namespace {

// Whether every stored entry's b x b block is fully stored: then b is the natural block size.
bool pattern_has_blocks(const Pattern& p, int64_t b) {
  if (p.rows() % b != 0) return false;
  // Cheap necessary condition first (O(n)): every row length is a multiple of b.
  auto len = p.crow().slice(0, 1).sub(p.crow().slice(0, 0, p.rows()));
  if (!at::remainder(len, b).eq(0).all().item<bool>()) return false;
  auto row = p.row().to(at::kLong), col = p.col().to(at::kLong);
  auto key = at::div(row, b, "floor") * ((p.cols() + b - 1) / b) + at::div(col, b, "floor");
  const int64_t blocks = std::get<0>(at::_unique(key, /*sorted=*/false)).numel();
  return blocks * b * b == p.nnz();
}

int64_t auto_block_size(const Pattern& p) {
  auto best = p.cached<int64_t>("precond.block_jacobi.natural_block", [&] {
    for (int64_t b = 8; b >= 2; --b) {
      if (p.nnz() > 0 && pattern_has_blocks(p, b)) return std::make_shared<int64_t>(b);
    }
    return std::make_shared<int64_t>(0);
  });
  return *best > 0 ? *best : 4;
}

class BlockJacobi final : public PrecondBase {
 public:
  BlockJacobi(const SparseMatrix& A, int64_t b)
      : PrecondBase(A), b_(std::min<int64_t>(b, std::max<int64_t>(A.rows(), 1))) {
    nfull_ = n_ / b_;
    tail_ = n_ % b_;
    nblocks_ = nfull_ + (tail_ > 0 ? 1 : 0);
    // Pattern-level: which entries lie in a diagonal block and where they go in the dense blocks.
    auto row = pattern_->row().to(at::kLong), col = pattern_->col().to(at::kLong);
    auto rb = at::div(row, b_, "floor"), cb = at::div(col, b_, "floor");
    sel_ = at::nonzero(rb == cb).view(-1);
    auto r = row.index_select(0, sel_), c = col.index_select(0, sel_);
    dst_ = at::div(r, b_, "floor") * (b_ * b_) + at::remainder(r, b_) * b_ + at::remainder(c, b_);
    setup(A);
  }

  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "block_jacobi.apply");
    multiply(inv_, x, y);
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "block_jacobi.apply_adjoint");
    multiply(inv_h_, x, y);
  }
  void update(const SparseMatrix& A) override {
    check_update(A);
    batch_ = A.batch_size();
    setup(A);
  }
  bool is_symmetric() const override { return true; }
  std::string name() const override { return "block_jacobi(" + std::to_string(b_) + ")"; }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    if (hermitian_) return shared_from_this();
    return adjoint_view(shared_from_this());
  }
  int64_t block_size() const { return b_; }

 private:
  void setup(const SparseMatrix& A) {
    auto vals = values_2d(A);
    const int64_t Bp = vals.size(0);
    auto blocks = at::zeros({Bp, nblocks_ * b_ * b_}, vals.options());
    blocks.index_copy_(1, dst_, vals.index_select(1, sel_));
    auto blocks4 = blocks.view({Bp, nblocks_, b_, b_});
    if (tail_ > 0) {  // identity padding of the last block keeps it invertible
      auto last = blocks4.select(1, nblocks_ - 1);
      for (int64_t i = tail_; i < b_; ++i) last.select(1, i).select(1, i).fill_(1);
    }
    auto [inv, info] = at::linalg_inv_ex(blocks4);
    auto bad = (info != 0).logical_or(at::isfinite(inv).logical_not().flatten(2).any(-1));
    if (n_ > 0 && bad.any().item<bool>()) {
      auto where = at::nonzero(bad)[0].to(at::kCPU);
      const int64_t member = where[0].item<int64_t>(), block = where[1].item<int64_t>();
      DSLA_CHECK_ARG(false, "A", "precond 'block_jacobi': diagonal block ", block, " (rows ",
                     block * b_, "..", std::min(n_, (block + 1) * b_) - 1, ")",
                     Bp > 1 ? " of batch member " + std::to_string(member) : std::string(),
                     " is singular. Use another block_size, precond='ilu0', or fix the matrix");
    }
    inv_ = inv.contiguous();
    inv_h_ = inv.mH().resolve_conj().contiguous();
    hermitian_ = is_hermitian(A);
  }

  // y = blockdiag(inv) x, batch-broadcasting an unbatched preconditioner or x.
  void multiply(const at::Tensor& inv, const at::Tensor& x, at::Tensor& y) const {
    const int64_t B = y.size(0), Bx = x.size(0), k = x.size(2);
    if (tail_ == 0 && y.is_contiguous()) {
      auto y4 = y.view({B, nfull_, b_, k});
      at::matmul_out(y4, inv, x.reshape({Bx, nfull_, b_, k}));
      return;
    }
    // General case through padded workspaces (kept between calls: no allocation when the
    // shape repeats).
    if (!xp_.defined() || xp_.size(0) != B || xp_.size(3) != k) {
      xp_ = at::zeros({B, nblocks_, b_, k}, y.options());
      yp_ = at::empty({B, nblocks_, b_, k}, y.options());
    }
    xp_.view({B, nblocks_ * b_, k}).narrow(1, 0, n_).copy_(x);
    at::matmul_out(yp_, inv, xp_);
    y.copy_(yp_.view({B, nblocks_ * b_, k}).narrow(1, 0, n_));
  }

  int64_t b_, nfull_ = 0, tail_ = 0, nblocks_ = 0;
  at::Tensor sel_, dst_, inv_, inv_h_;
  bool hermitian_ = false;
  mutable at::Tensor xp_, yp_;  // workspaces: apply is not reentrant
};

}  // namespace

PreconditionerPtr make_block_jacobi(const SparseMatrix& A, const Options& opt) {
  DSLA_CHECK_ARG(opt.block_size >= 0, "block_size", "must be positive (or 0 for auto), got ",
                 opt.block_size);
  const int64_t b = opt.block_size > 0 ? opt.block_size : auto_block_size(*A.pattern());
  return std::make_shared<BlockJacobi>(A, b);
}

}  // namespace dsla::precond::detail
