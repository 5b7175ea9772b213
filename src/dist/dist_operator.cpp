// The distributed LinearOperator and its VectorSpace: what every Krylov method, LOBPCG and
// Arnoldi see. The space all-reduces partial reductions through the matrix's Comm, so the
// methods' scalars, and the decisions taken from them, are the same on every rank.
#include <dsla/dist.h>

#include "dist/dist_internal.h"
#include "dist/halo_plan.h"

namespace dsla::dist {

namespace {

class DistSpace final : public VectorSpace {
 public:
  DistSpace(Comm comm, at::Tensor ids, int64_t n)
      : comm_(std::move(comm)), ids_(std::move(ids)), n_(n) {}
  void reduce_(at::Tensor& partial) const override {
    // A view (e.g. a diagonal of a Gram matrix) is reduced through a contiguous copy.
    if (partial.is_contiguous()) {
      comm_.allreduce_sum_(partial);
    } else {
      auto t = partial.contiguous();
      comm_.allreduce_sum_(t);
      partial.copy_(t);
    }
  }
  bool is_local() const override { return comm_.size() == 1; }
  at::Tensor global_ids(int64_t) const override { return ids_; }
  int64_t global_rows(int64_t) const override { return n_; }

 private:
  Comm comm_;
  at::Tensor ids_;  // the owned global ids in local order (int64, host)
  int64_t n_;
};

class DistOperator final : public LinearOperator {
 public:
  DistOperator(const DistMatrix& A, bool adjoint)
      : A_(A.detach()), adjoint_(adjoint), space_(A.comm(), A.owned().to(at::kCPU), A.rows()) {}
  int64_t rows() const override { return A_.n_owned(); }
  int64_t cols() const override { return A_.n_owned(); }
  at::ScalarType dtype() const override { return A_.dtype(); }
  c10::Device device() const override { return A_.device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override {
    adjoint_ ? A_.apply_adjoint(x, y) : A_.apply(x, y);
  }
  bool has_adjoint() const override { return true; }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    adjoint_ ? A_.apply(x, y) : A_.apply_adjoint(x, y);
  }
  const VectorSpace& space() const override { return space_; }
  // No matrix(): a fused path multiplying by the local block alone would skip the halo.

 private:
  DistMatrix A_;
  bool adjoint_;
  DistSpace space_;
};

}  // namespace

namespace detail {
LinearOperatorPtr make_operator(const DistMatrix& A, bool adjoint) {
  TORCH_CHECK_VALUE(A.defined(), "dsla: the DistMatrix is empty (default-constructed)");
  return std::make_shared<DistOperator>(A, adjoint);
}

void local_step(const Comm& comm, const std::function<void()>& fn) {
  std::exception_ptr err;
  std::string what;
  try {
    fn();
  } catch (const std::exception& e) {
    err = std::current_exception();
    what = e.what();
  }
  if (comm.size() == 1) {
    if (err) std::rethrow_exception(err);
    return;
  }
  const int bad = comm.first_failure(!err);
  if (bad < 0) return;
  // The failing rank's message reaches every rank (c10 errors: without their backtrace).
  auto first_line = what.substr(0, what.find("\nException raised from"));
  const std::string msg = comm.broadcast_message(first_line, bad);
  if (err) std::rethrow_exception(err);
  TORCH_CHECK_VALUE(false, "dsla: rank ", bad, " failed: ", msg, "; every rank stops here");
}
}  // namespace detail

LinearOperatorPtr DistMatrix::make_operator() const {
  return detail::make_operator(*this, false);
}

}  // namespace dsla::dist
