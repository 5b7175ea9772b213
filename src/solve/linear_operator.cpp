// VectorSpace (reductions as a local partial + reduce_) and the two stock LinearOperators: a
// SparseMatrix, and a matrix-free operator from callables.
#include <dsla/errors.h>
#include <dsla/linear_operator.h>

#include <ATen/ATen.h>

#include <mutex>

#include "core/products.h"

namespace dsla {

at::Tensor VectorSpace::global_ids(int64_t local_rows) const {
  return at::arange(local_rows, at::TensorOptions().dtype(at::kLong));
}

at::Tensor VectorSpace::dot(const at::Tensor& a, const at::Tensor& b) const {
  auto d = (a.is_complex() ? a.conj() * b : a * b).sum(-2, /*keepdim=*/true);
  reduce_(d);
  return d;
}

at::Tensor VectorSpace::norm(const at::Tensor& a) const {
  auto s = at::linalg_vector_norm(a, 2, at::IntArrayRef{-2}, /*keepdim=*/true, c10::nullopt);
  const bool single = s.scalar_type() == at::kFloat;
  if (single) s = s.to(at::kDouble);
  s.square_();
  reduce_(s);
  s.sqrt_();
  return single ? s.to(at::kFloat) : s;
}

at::Tensor VectorSpace::gram(const at::Tensor& V, const at::Tensor& W) const {
  auto G = at::matmul(V.mH(), W);
  reduce_(G);
  return G;
}

const VectorSpace& VectorSpace::local() {
  static const VectorSpace space;
  return space;
}

at::Tensor LinearOperator::applied(const at::Tensor& x) const {
  auto y = at::empty({x.size(0), rows(), x.size(2)}, x.options());
  apply(x, y);
  return y;
}

void LinearOperator::apply_adjoint(const at::Tensor&, at::Tensor&) const {
  TORCH_CHECK_VALUE(false,
                    "dsla: this operator has no adjoint (apply_adjoint); the method needs Aᴴ "
                    "(LSQR, LSMR, adjoint solves): give one, or use a SparseMatrix");
}

const VectorSpace& LinearOperator::space() const {
  return VectorSpace::local();
}

namespace {

class MatrixOperator final : public LinearOperator {
 public:
  explicit MatrixOperator(const SparseMatrix& A)
      : A_(A.detach()), values_(A_.is_batched() ? A_.values() : A_.values().unsqueeze(0)) {}
  int64_t rows() const override { return A_.rows(); }
  int64_t cols() const override { return A_.cols(); }
  at::ScalarType dtype() const override { return A_.dtype(); }
  c10::Device device() const override { return A_.device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override {
    detail::spmm(*A_.pattern(), values_, x, y);
  }
  bool has_adjoint() const override { return true; }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    std::call_once(adj_once_, [&] {
      adj_values_ = values_.index_select(-1, A_.pattern()->transpose_perm());
      if (adj_values_.is_complex()) adj_values_ = adj_values_.conj().resolve_conj();
    });
    detail::spmm(*A_.pattern()->transpose(), adj_values_, x, y);
  }
  const SparseMatrix* matrix() const override { return &A_; }

 private:
  SparseMatrix A_;
  at::Tensor values_;
  mutable std::once_flag adj_once_;
  mutable at::Tensor adj_values_;
};

class FunctionOperator final : public LinearOperator {
 public:
  using Fn = std::function<void(const at::Tensor&, at::Tensor&)>;
  FunctionOperator(int64_t rows, int64_t cols, at::ScalarType dtype, c10::Device device, Fn apply,
                   Fn adjoint)
      : rows_(rows),
        cols_(cols),
        dtype_(dtype),
        device_(device),
        apply_(std::move(apply)),
        adjoint_(std::move(adjoint)) {}
  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  at::ScalarType dtype() const override { return dtype_; }
  c10::Device device() const override { return device_; }
  void apply(const at::Tensor& x, at::Tensor& y) const override { apply_(x, y); }
  bool has_adjoint() const override { return static_cast<bool>(adjoint_); }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    if (!adjoint_) LinearOperator::apply_adjoint(x, y);
    adjoint_(x, y);
  }

 private:
  int64_t rows_, cols_;
  at::ScalarType dtype_;
  c10::Device device_;
  Fn apply_, adjoint_;
};

}  // namespace

LinearOperatorPtr make_operator(const SparseMatrix& A) {
  DSLA_CHECK_ARG(A.defined(), "A", "is an empty (default-constructed) matrix");
  return std::make_shared<MatrixOperator>(A);
}

LinearOperatorPtr make_operator(int64_t rows, int64_t cols, at::ScalarType dtype,
                                c10::Device device,
                                std::function<void(const at::Tensor&, at::Tensor&)> apply,
                                std::function<void(const at::Tensor&, at::Tensor&)> apply_adjoint) {
  DSLA_CHECK_ARG(rows >= 0 && cols >= 0, "rows", "operator shape must be non-negative, got ", rows,
                 " x ", cols);
  DSLA_CHECK_ARG(static_cast<bool>(apply), "apply", "an operator needs an apply function");
  return std::make_shared<FunctionOperator>(rows, cols, dtype, device, std::move(apply),
                                            std::move(apply_adjoint));
}

}  // namespace dsla
