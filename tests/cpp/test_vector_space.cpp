// Every reduction through the space (issue #13, item 2): each method must take its inner
// products, norms and Gram matrices from the operator's VectorSpace.
//
// Design. A space whose reduce_ only counts calls proves that calls happen, not that *every*
// reduction goes through it: a method that sums one dot product behind the space's back still
// gets the right answer on one process. So the main harness simulates a real distributed run:
// two threads act as two ranks, each holding half the rows of every vector (rank 0 rows
// [0, n/2), rank 1 the rest). The operator of a rank gathers the halves of x (a collective
// through shared memory), multiplies by the global matrix and keeps its own rows; the rank's
// space (not local) computes VectorSpace's own local partials and its reduce_ sums them over
// the two ranks (an all-reduce, in the same order on both ranks, so both see bitwise identical
// scalars). Nothing is global unless reduce_ makes it so. A method that takes any reduction
// behind the space's back gets a half-sum — wrong Krylov scalars, a wrong Gram matrix, a wrong
// norm — and then either returns a wrong answer or lets the ranks take different branches, which
// shows as a barrier timeout (a test failure, not a hang). The operator even offers matrix() (its
// owned diagonal block, as a distributed matrix would): CG must not take its fused path there.
// Each method's result (halves concatenated) must equal the one-process result to a tolerance
// far below what any half-sum would produce, both ranks must agree, and reduce_ must have been
// called (the same number of times on both ranks).
//
// A second, local counting space (is_local() true, reduce_ the identity) shows that the fused
// CPU CG path, which is chosen only on a local space, reduces its kernels' partials through the
// space too: two reduce_ calls per iteration, and bitwise the same result as the stock operator.
#include <dsla/generators.h>
#include <dsla/linear_operator.h>
#include <dsla/ops.h>
#include <dsla/solve.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "solve/eigen/eigen_internal.h"
#include "solve/krylov/krylov.h"
#include "space_operator.h"

namespace {

using dsla::LinearOperator;
using dsla::Method;
using dsla::SolveInfo;
using dsla::SolveOptions;
using dsla::SparseMatrix;
using dsla::VectorSpace;

// Two threads as two ranks: a generation barrier (with a timeout, so that ranks that diverge
// fail the test instead of hanging it) and the two collectives the harness needs.
class TwoRanks {
 public:
  void barrier() {
    std::unique_lock<std::mutex> lk(m_);
    if (broken_) throw std::runtime_error("the other rank failed");
    const int64_t gen = gen_;
    if (++arrived_ == 2) {
      arrived_ = 0;
      ++gen_;
      cv_.notify_all();
      return;
    }
    const bool ok =
        cv_.wait_for(lk, std::chrono::seconds(30), [&] { return gen_ != gen || broken_; });
    if (!ok || gen_ == gen) {
      broken_ = true;
      cv_.notify_all();
      throw std::runtime_error(ok ? "the other rank failed"
                                  : "ranks diverged: a collective was not matched (timeout)");
    }
  }
  void abort() {
    std::lock_guard<std::mutex> lk(m_);
    broken_ = true;
    cv_.notify_all();
  }
  // In place: t = t(rank 0) + t(rank 1), the same bits on both ranks.
  void allreduce_(int rank, at::Tensor& t) {
    slot_[rank] = t.clone();
    barrier();
    auto s = slot_[0] + slot_[1];
    barrier();
    t.copy_(s);
  }
  // The two ranks' tensors concatenated along dim.
  at::Tensor allgather(int rank, const at::Tensor& t, int64_t dim) {
    slot_[rank] = t.contiguous();
    barrier();
    auto all = at::cat({slot_[0], slot_[1]}, dim);
    barrier();
    return all;
  }
  // Runs fn(rank) on two threads; rethrows the first failure.
  void run(const std::function<void(int)>& fn) {
    std::exception_ptr err[2];
    std::thread t[2];
    for (int r = 0; r < 2; ++r) {
      t[r] = std::thread([&, r] {
        try {
          fn(r);
        } catch (...) {
          err[r] = std::current_exception();
          abort();
        }
      });
    }
    for (auto& th : t) th.join();
    for (auto& e : err)
      if (e) std::rethrow_exception(e);
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int arrived_ = 0;
  int64_t gen_ = 0;
  bool broken_ = false;
  at::Tensor slot_[2];
};

// One rank's space: VectorSpace's own dot / norm / gram (not overridden), reduce_ all-reduces.
class RankSpace final : public VectorSpace {
 public:
  RankSpace(TwoRanks& comm, int rank, int64_t offset) : comm_(comm), rank_(rank), offset_(offset) {}
  void reduce_(at::Tensor& partial) const override {
    ++count;
    comm_.allreduce_(rank_, partial);
  }
  bool is_local() const override { return false; }
  at::Tensor global_ids(int64_t n) const override {
    return at::arange(offset_, offset_ + n, at::TensorOptions().dtype(at::kLong));
  }
  mutable std::atomic<int64_t> count{0};

 private:
  TwoRanks& comm_;
  int rank_;
  int64_t offset_;
};

// Rows [0, h) on rank 0, [h, n) on rank 1.
int64_t half(int64_t n) {
  return n / 2;
}
int64_t lo(int64_t n, int rank) {
  return rank == 0 ? 0 : half(n);
}
int64_t len(int64_t n, int rank) {
  return rank == 0 ? half(n) : n - half(n);
}

// One rank's view of a global matrix A: its rows of the range, its rows of the domain.
class RankOperator final : public LinearOperator {
 public:
  RankOperator(const SparseMatrix& A, TwoRanks& comm, int rank, const RankSpace& space)
      : A_(dsla::make_operator(A)), comm_(comm), rank_(rank), space_(space) {
    auto D = A.to_dense();
    owned_ = SparseMatrix::from_dense(
        D.narrow(0, lo(A.rows(), rank), rows()).narrow(1, lo(A.cols(), rank), cols()).clone());
  }
  int64_t rows() const override { return len(A_->rows(), rank_); }
  int64_t cols() const override { return len(A_->cols(), rank_); }
  at::ScalarType dtype() const override { return A_->dtype(); }
  c10::Device device() const override { return A_->device(); }
  void apply(const at::Tensor& x, at::Tensor& y) const override {
    auto xg = comm_.allgather(rank_, x, 1);
    auto yg = at::empty({x.size(0), A_->rows(), x.size(2)}, x.options());
    A_->apply(xg, yg);
    y.copy_(yg.narrow(1, lo(A_->rows(), rank_), rows()));
  }
  bool has_adjoint() const override { return true; }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    auto xg = comm_.allgather(rank_, x, 1);
    auto yg = at::empty({x.size(0), A_->cols(), x.size(2)}, x.options());
    A_->apply_adjoint(xg, yg);
    y.copy_(yg.narrow(1, lo(A_->cols(), rank_), cols()));
  }
  const VectorSpace& space() const override { return space_; }
  // What a distributed matrix has: its owned block. A fused path using it would be wrong.
  const SparseMatrix* matrix() const override { return &owned_; }

 private:
  dsla::LinearOperatorPtr A_;
  SparseMatrix owned_;
  TwoRanks& comm_;
  int rank_;
  const RankSpace& space_;
};

SolveOptions opts(Method m) {
  SolveOptions o;
  o.method = m;
  o.rtol = 1e-10;
  o.warn = false;
  o.maxiter = 5000;  // the default scales with the local size: not the same on every layout
  o.restart = 30;
  return o;
}

dsla::krylov::Problem problem(const LinearOperator& A, const SolveOptions& o, double anorm) {
  dsla::krylov::Problem P;
  P.A = &A;
  P.opt = &o;
  P.x_is_zero = true;
  P.least_squares = o.method == Method::LSQR || o.method == Method::LSMR;
  P.anorm = anorm;
  return P;
}

// x [1, cols, 1] from one process.
at::Tensor solve_local(const SparseMatrix& A, const at::Tensor& b, Method m, double anorm,
                       SolveInfo& info) {
  auto op = dsla::make_operator(A);
  auto o = opts(m);
  auto P = problem(*op, o, anorm);
  auto b3 = b.view({1, -1, 1});
  auto x = at::zeros({1, A.cols(), 1}, b.options());
  dsla::krylov::run(m, P, b3, x, info);
  return x;
}

// The same solve on two ranks: x with the halves concatenated; info and reduce_ counts per rank.
at::Tensor solve_two_ranks(const SparseMatrix& A, const at::Tensor& b, Method m, double anorm,
                           SolveInfo info[2], int64_t count[2]) {
  TwoRanks comm;
  at::Tensor xs[2];
  comm.run([&](int r) {
    RankSpace space(comm, r, lo(A.cols(), r));
    RankOperator op(A, comm, r, space);
    auto o = opts(m);
    auto P = problem(op, o, anorm);
    auto b3 = b.narrow(0, lo(A.rows(), r), len(A.rows(), r)).reshape({1, -1, 1}).contiguous();
    auto x = at::zeros({1, len(A.cols(), r), 1}, b.options());
    dsla::krylov::run(m, P, b3, x, info[r]);
    xs[r] = x;
    count[r] = space.count.load();
  });
  return at::cat({xs[0], xs[1]}, 1);
}

double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).norm().item<double>() / b.norm().item<double>();
}

void expect_same_solve(const SparseMatrix& A, const at::Tensor& b, Method m, double anorm = 0) {
  SCOPED_TRACE(dsla::to_string(m));
  SolveInfo ref_info, info[2];
  int64_t count[2] = {0, 0};
  auto ref = solve_local(A, b, m, anorm, ref_info);
  ASSERT_TRUE(ref_info.converged) << ref_info.message;
  auto x = solve_two_ranks(A, b, m, anorm, info, count);
  for (int r = 0; r < 2; ++r) EXPECT_TRUE(info[r].converged) << info[r].message;
  // Both ranks decided alike, from bitwise identical reduced scalars.
  EXPECT_EQ(info[0].iterations, info[1].iterations);
  EXPECT_EQ(info[0].residual, info[1].residual);
  EXPECT_EQ(count[0], count[1]);
  EXPECT_GT(count[0], 0);
  // The same iterates up to rounding (a half-sum anywhere is off by O(1), not 1e-8).
  EXPECT_LE(std::abs(info[0].iterations - ref_info.iterations), 1);
  EXPECT_LT(rel_diff(x.view({-1}), ref.view({-1})), 1e-8);
}

SparseMatrix spd() {
  return dsla::poisson2d(20);  // 400 rows, 200 per rank
}
SparseMatrix nonsymmetric() {
  return dsla::convdiff2d(20, 10.0);
}
// 300 x 200, full column rank (a dominant diagonal block on top).
SparseMatrix rectangular() {
  auto R = dsla::random_sparse(300, 200, 0.03, 7).to_dense();
  R.narrow(0, 0, 200).add_(at::eye(200, R.options()) * 4);
  return SparseMatrix::from_dense(R);
}

at::Tensor rhs(int64_t n) {
  return at::sin(at::arange(n, at::kDouble) * 0.37) + 1;
}

TEST(VectorSpace, LocalReductionsMatchATen) {
  const auto& s = VectorSpace::local();
  auto a = at::randn({2, 50, 3}, at::kDouble), b = at::randn({2, 50, 3}, at::kDouble);
  EXPECT_TRUE(at::allclose(s.dot(a, b), (a * b).sum(1, true)));
  EXPECT_TRUE(at::equal(s.norm(a), at::linalg_vector_norm(a, 2, {1}, true)));
  auto af = a.to(at::kFloat);
  EXPECT_TRUE(at::equal(s.norm(af), at::linalg_vector_norm(af, 2, {1}, true)));
  auto c = at::randn({50, 4}, at::kComplexDouble), d = at::randn({50, 2}, at::kComplexDouble);
  EXPECT_TRUE(at::allclose(s.gram(c, d), c.conj().t().matmul(d)));
  EXPECT_TRUE(at::allclose(at::real(s.dot(c, c)), s.norm(c).square()));
}

TEST(VectorSpace, RandomBlockIsLayoutIndependent) {
  auto opt = at::TensorOptions().dtype(at::kDouble);
  auto ids = [](int64_t a, int64_t b) { return at::arange(a, b, at::kLong); };
  auto whole = dsla::eigen::random_block(ids(0, 100), 3, opt, 42);
  auto top = dsla::eigen::random_block(ids(0, 37), 3, opt, 42);
  auto rest = dsla::eigen::random_block(ids(37, 100), 3, opt, 42);
  EXPECT_TRUE(at::equal(whole, at::cat({top, rest}, 0)));
  // Any subset in any order (a partition's owned ids, interior first) draws those rows.
  auto perm = at::randperm(100, at::kLong).narrow(0, 0, 41);
  EXPECT_TRUE(at::equal(dsla::eigen::random_block(perm, 3, opt, 42), whole.index_select(0, perm)));
  EXPECT_FALSE(at::equal(whole, dsla::eigen::random_block(ids(0, 100), 3, opt, 43)));
  // Standard normal entries (complex: unit variance).
  auto big = dsla::eigen::random_block(ids(0, 20000), 4, opt, 1);
  EXPECT_NEAR(big.mean().item<double>(), 0.0, 0.03);
  EXPECT_NEAR(big.var().item<double>(), 1.0, 0.03);
  auto zc = dsla::eigen::random_block(ids(0, 20000), 4, opt.dtype(at::kComplexDouble), 1);
  EXPECT_NEAR(zc.abs().square().mean().item<double>(), 1.0, 0.03);
}

TEST(VectorSpace, KrylovTwoRanks) {
  auto A = spd();
  auto b = rhs(A.rows());
  for (Method m : {Method::CG, Method::MINRES}) expect_same_solve(A, b, m);
  auto N = nonsymmetric();
  for (Method m : {Method::BiCGStab, Method::GMRES, Method::FGMRES}) expect_same_solve(N, b, m);
  auto R = rectangular();
  const double anorm = R.to_dense().norm().item<double>();
  for (Method m : {Method::LSQR, Method::LSMR}) expect_same_solve(R, rhs(R.rows()), m, anorm);
}

// A SparseMatrix operator with a local counting space: CG takes its fused CPU path here.
class CountingSpace final : public VectorSpace {
 public:
  void reduce_(at::Tensor&) const override { ++count; }
  mutable int64_t count = 0;
};
using CountingOperator = dsla_test::SpaceOperator<CountingSpace>;

TEST(VectorSpace, FusedCgReducesThroughLocalSpace) {
  auto A = spd();
  auto b = rhs(A.rows()).view({1, -1, 1});
  auto o = opts(Method::CG);
  auto dinv = (1.0 / A.to_dense().diagonal()).view({1, -1, 1});
  auto run = [&](const LinearOperator& op, SolveInfo& info) {
    dsla::krylov::Problem P;
    P.A = &op;
    P.opt = &o;
    P.dinv = dinv;  // Jacobi: the fused path
    P.x_is_zero = true;
    auto x = at::zeros_like(b);
    dsla::krylov::run(Method::CG, P, b, x, info);
    return x;
  };
  SolveInfo ref_info, info;
  auto ref = run(*dsla::make_operator(A), ref_info);
  CountingOperator op(A);
  auto x = run(op, info);
  EXPECT_TRUE(info.converged);
  EXPECT_EQ(info.iterations, ref_info.iterations);
  EXPECT_TRUE(at::equal(x, ref));                   // same path, same bits
  EXPECT_GE(op.space_.count, 2 * info.iterations);  // pq, then (rz, rr), per iteration
}

// Every method on a mirror space (space_operator.h): the same iterates and iteration counts as the
// stock space; tests/cpp/cuda has the same harness on CUDA, where the fused device steps reduce
// between their two kernels.
using MirrorOperator = dsla_test::SpaceOperator<dsla_test::MirrorSpace>;

TEST(VectorSpace, EveryMethodAgreesOnAMirrorSpace) {
  auto A = spd();
  const int64_t n = A.rows();
  auto b = rhs(n).view({1, -1, 1});
  auto dinv = (1.0 / A.to_dense().diagonal()).view({1, -1, 1});
  for (Method m : {Method::CG, Method::BiCGStab, Method::GMRES, Method::FGMRES, Method::MINRES,
                   Method::LSQR, Method::LSMR}) {
    for (bool jacobi : {false, true}) {
      if (jacobi && m != Method::CG) continue;
      SCOPED_TRACE(dsla::to_string(m) + (jacobi ? " + jacobi" : ""));
      auto o = opts(m);
      auto run = [&](const LinearOperator& op, SolveInfo& info) {
        dsla::krylov::Problem P;
        P.A = &op;
        P.opt = &o;
        P.least_squares = m == Method::LSQR || m == Method::LSMR;
        if (jacobi) P.dinv = dinv;
        P.x_is_zero = true;
        auto x = at::zeros_like(b);
        dsla::krylov::run(m, P, b, x, info);
        return x;
      };
      SolveInfo ref_info, info;
      auto ref = run(*dsla::make_operator(A), ref_info);
      MirrorOperator op(A);
      auto x = run(op, info);
      ASSERT_TRUE(ref_info.converged) << ref_info.message;
      ASSERT_TRUE(info.converged) << info.message;
      EXPECT_EQ(info.iterations, ref_info.iterations);
      EXPECT_TRUE(at::allclose(x, ref, 1e-9, 1e-11)) << (x - ref).abs().max().item<double>();
      EXPECT_GT(op.space_.count, info.iterations);
    }
  }
}

// LOBPCG (eigsh's and svds's engine) on two ranks: the blocks' rows split, every Gram matrix
// and norm through the rank space, the start block drawn by global row.
dsla::eigen::LobpcgResult lobpcg_two_ranks(
    const std::function<at::Tensor(const at::Tensor&)>& Afull, int64_t n, int64_t k, bool largest,
    int64_t count[2], at::Tensor& vectors) {
  TwoRanks comm;
  dsla::eigen::LobpcgResult res[2];
  comm.run([&](int r) {
    RankSpace space(comm, r, lo(n, r));
    dsla::eigen::LobpcgProblem P;
    P.n = len(n, r);
    P.options = at::TensorOptions().dtype(at::kDouble);
    P.space = &space;
    P.A = [&, r](const at::Tensor& X) {
      return Afull(comm.allgather(r, X, 0)).narrow(0, lo(n, r), len(n, r)).contiguous();
    };
    res[r] = dsla::eigen::lobpcg(P, k, largest, at::Tensor(), 1e-9, 500, -1, 3);
    count[r] = space.count.load();
  });
  EXPECT_TRUE(at::equal(res[0].values, res[1].values));
  EXPECT_EQ(res[0].iterations, res[1].iterations);
  vectors = at::cat({res[0].vectors, res[1].vectors}, 0);
  return res[0];
}

dsla::eigen::LobpcgResult lobpcg_local(const std::function<at::Tensor(const at::Tensor&)>& Afull,
                                       int64_t n, int64_t k, bool largest) {
  dsla::eigen::LobpcgProblem P;
  P.n = n;
  P.options = at::TensorOptions().dtype(at::kDouble);
  P.A = Afull;
  return dsla::eigen::lobpcg(P, k, largest, at::Tensor(), 1e-9, 500, -1, 3);
}

void expect_same_eigen(const std::function<at::Tensor(const at::Tensor&)>& Afull, int64_t n,
                       int64_t k, bool largest) {
  auto ref = lobpcg_local(Afull, n, k, largest);
  ASSERT_EQ(ref.converged, k);
  int64_t count[2] = {0, 0};
  at::Tensor U;
  auto got = lobpcg_two_ranks(Afull, n, k, largest, count, U);
  EXPECT_EQ(got.converged, k);
  EXPECT_GT(count[0], 0);
  EXPECT_EQ(count[0], count[1]);
  EXPECT_LT(rel_diff(got.values, ref.values), 1e-10);
  // The same invariant subspace (eigenvalues may be multiple: compare projectors, not vectors;
  // k is chosen so that no eigenspace is cut).
  auto proj = [](const at::Tensor& V) { return V.matmul(V.t()); };
  EXPECT_LT((proj(U) - proj(ref.vectors)).abs().max().item<double>(), 1e-7);
}

TEST(VectorSpace, LobpcgTwoRanks) {
  auto A = spd();
  auto Aop = dsla::detail::matrix_block_op(A);
  expect_same_eigen(Aop, A.rows(), 4, /*largest=*/false);  // eigsh which='SA'
  // svds which='LM' runs LOBPCG on AᴴA over the domain's rows.
  auto R = rectangular();
  auto Rop = dsla::detail::matrix_block_op(R);
  auto RHop = dsla::detail::matrix_block_op(R.conj_transpose());
  expect_same_eigen([&](const at::Tensor& X) { return RHop(Rop(X)); }, R.cols(), 3, true);
}

// A nonsymmetric matrix whose largest eigenvalues are simple and apart (a single-vector
// Krylov method finds one vector of a multiple eigenvalue, whichever rounding favours).
SparseMatrix distinct_spectrum(int64_t n) {
  auto R = dsla::random_sparse(n, n, 0.02, 11).to_dense() * 0.1;
  return SparseMatrix::from_dense(R + at::diag(at::linspace(1, 5, n, R.options())));
}

TEST(VectorSpace, ArnoldiTwoRanks) {
  auto N = distinct_spectrum(400);
  const int64_t n = N.rows(), k = 3;
  auto Nop = dsla::detail::matrix_block_op(N);  // complex X allowed
  auto opt = at::TensorOptions().dtype(at::kDouble);
  auto ref = dsla::eigen::arnoldi(Nop, n, opt, k, "LM", 0.0, 1e-10, 300, 30, 5);
  ASSERT_EQ(ref.converged, k);
  TwoRanks comm;
  dsla::eigen::ArnoldiResult res[2];
  int64_t count[2] = {0, 0};
  comm.run([&](int r) {
    RankSpace space(comm, r, lo(n, r));
    dsla::eigen::BlockOp op = [&, r](const at::Tensor& X) {
      return Nop(comm.allgather(r, X, 0)).narrow(0, lo(n, r), len(n, r)).contiguous();
    };
    res[r] = dsla::eigen::arnoldi(op, len(n, r), opt, k, "LM", 0.0, 1e-10, 300, 30, 5, space);
    count[r] = space.count.load();
  });
  EXPECT_TRUE(at::equal(res[0].values, res[1].values));
  EXPECT_EQ(res[0].converged, k);
  EXPECT_GT(count[0], 0);
  EXPECT_EQ(count[0], count[1]);
  // The same eigenvalues as one process (a conjugate pair may come in either order).
  auto dist = (res[0].values.unsqueeze(1) - ref.values.unsqueeze(0)).abs().amin(0);
  EXPECT_LT(dist.max().item<double>(), 1e-10 * ref.values.abs().max().item<double>());
}

}  // namespace
