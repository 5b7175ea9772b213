// CUDA's fused CG steps (CgSteps of cg_steps.h, for the loop in cg.cpp): Jacobi-preconditioned
// or plain CG of a CUDA matrix, one right-hand side per system, B systems sharing one pattern,
// real fp32/fp64. Two kernels per iteration (src/kernels/cuda/cg_cuda.h); the scalars and the
// stopping rule (kernels/cpu/cg_rule.h) stay on the device, each kernel leaves local partials
// that cg.cpp reduces through the space between them; blocks of `check_every` iterations are
// captured once in a CUDA graph (when the space's reductions are capturable) and replayed; the
// host reads the state once per block, one block behind, so the device never waits for it.
// Converged systems stop on the device (later kernels exit at once): the iterate and the
// iteration count are exact, not rounded up to the block.
//
// A distributed operator (P.halo): the same two kernels, K1 over the diagonal block with the
// boundary rows' ghost share added after the halo exchange by a third (cg_cuda.h, part 3), the
// exchange overlapping K1; the space's reductions all-reduce the partials in between.
//
// Memory: x (iterated in place), z (= dinv r; r itself is never stored), two p buffers, q: 4
// vectors of n per system plus the caller's b and dinv, and O(B * blocks) scalars. A uniform
// dinv (constant diagonal, e.g. any constant-coefficient stencil) goes to the kernels as a
// scalar: one vector less to read per iteration.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include "core/dispatch.h"
#include "core/products.h"
#include "core/products_cuda.h"
#include "core/structure_cuda.h"
#include "kernels/cpu/cg_rule.h"
#include "kernels/cuda/cg_cuda.h"
#include "kernels/cuda/cuda_check.h"
#include "solve/krylov/cg_steps.h"
#include "solve/krylov/halo_blocks.h"
#include "solve/krylov/krylov.h"

namespace dsla::krylov {

namespace {

namespace kc = kernels::cuda;
using detail::ptr;

// RAII for a captured graph.
struct Graph {
  cudaGraph_t g = nullptr;
  cudaGraphExec_t e = nullptr;
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph() {
    if (e) cudaGraphExecDestroy(e);
    if (g) cudaGraphDestroy(g);
  }
};

struct Event {
  cudaEvent_t e = nullptr;
  Event() { DSLA_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming)); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() {
    if (e) cudaEventDestroy(e);
  }
};

// Re <a_b, c_b> per system of contiguous [B, n] tensors, in fp64, by our reduction kernel: no
// [B, n] temporary, and no cuBLAS call (its first use on a stream makes torch allocate a cuBLAS
// workspace of tens of MB, which would count in the solve's peak memory). Local partials.
at::Tensor rowdot(const at::Tensor& a, const at::Tensor& c, cudaStream_t s) {
  const int64_t B = a.size(0), n = a.size(1);
  auto out = at::empty({B}, a.options());
  auto part = at::empty({B * kc::cg_step_blocks(n)}, a.options());
  if (a.scalar_type() == at::kDouble) {
    kc::cg_dot_step<double, double>(kernels::BlockShape{n, 1, B}, ptr<double>(a), ptr<double>(c),
                                    ptr<double>(out), ptr<double>(part), s);
  } else {
    kc::cg_dot_step<float, float>(kernels::BlockShape{n, 1, B}, ptr<float>(a), ptr<float>(c),
                                  ptr<float>(out), ptr<float>(part), s);
  }
  return out.to(at::kDouble);
}

template <class T, class I, class J>
class CudaFusedSteps final : public CgSteps {
 public:
  CudaFusedSteps(const Problem& P, const SparseMatrix& A, at::Tensor dinv, double dscale,
                 const CgTuning& tuning)
      : P_(P), A_(A), tuning_(tuning), dinv_(std::move(dinv)), guard_(A.device()) {
    const auto& pat = *A.pattern();
    n_ = A.rows();
    values_ = (A.is_batched() ? A.values() : A.values().unsqueeze(0)).detach().contiguous();
    if (P.halo) {
      const auto& H = *P.halo;
      const auto& O = *H.offd;
      ovalues_ = (O.is_batched() ? O.values() : O.values().unsqueeze(0)).detach().contiguous();
      halo_.n = n_;
      halo_.n_interior = H.n_interior;
      halo_.ocrow = ptr<J>(O.pattern()->crow());
      halo_.ocol = ptr<J>(O.pattern()->col());
      halo_.oval = ptr<T>(ovalues_);
      halo_.o_bs = ovalues_.size(0) > 1 ? O.pattern()->nnz() : 0;
      halo_.n_send = H.send_idx.numel();
      halo_.n_ghost = H.n_ghost;
      halo_.send_idx = H.send_idx.data_ptr<int64_t>();
      args_.dot_rows = H.n_interior;
    }
    // Fused K1 gathers two vectors per nonzero: one lane per row measured best for short rows
    // (H100, poisson2d:4096: 0.909 ms/it with 1 lane, 1.01 with 2, 1.49 with 4; NOTES-gpu.md).
    const int plan_group = cuda::spmv_plan(pat).group;
    args_.group = tuning.group > 0 ? tuning.group : (plan_group <= 2 ? 1 : plan_group);
    dcol_ = tuning.compact ? cuda::col_delta16(pat) : at::Tensor();
    args_.n = n_;
    args_.crow = ptr<I>(pat.crow());
    args_.col = ptr<I>(pat.col());
    args_.dcol = dcol_.defined() ? ptr<int16_t>(dcol_) : nullptr;
    // Mixed precision (float values, double vectors): the kernels read the floats.
    if (values_.scalar_type() != c10::CppTypeToScalarType<T>::value)
      args_.val32 = ptr<float>(values_);
    else
      args_.val = ptr<T>(values_);
    args_.dinv = dinv_.defined() ? ptr<T>(dinv_) : nullptr;
    args_.dscale = T(dscale);
    const int ce = tuning.check_every > 0   ? tuning.check_every
                   : P.opt->check_every > 0 ? int(P.opt->check_every)
                                            : 32;
    m_ = std::max(2, (ce + 1) / 2 * 2);  // even: every block starts at parity 0
    // Work on a side stream (graphs cannot be captured on the legacy default stream).
    caller_ = at::cuda::getCurrentCUDAStream();
    side_ = at::cuda::getStreamFromPool(false, A.device().index());
    DSLA_CUDA_CHECK(cudaEventRecord(join_.e, caller_.stream()));
    DSLA_CUDA_CHECK(cudaStreamWaitEvent(side_.stream(), join_.e, 0));
    stream_guard_.emplace(side_);
  }

  ~CudaFusedSteps() override {
    // The caller's stream waits for everything queued here (also on an exception).
    cudaEventRecord(join_.e, side_.stream());
    cudaStreamWaitEvent(caller_.stream(), join_.e, 0);
  }

  at::Tensor start(const at::Tensor& b3, at::Tensor& x, bool x_is_zero) override {
    const int64_t n = n_;
    B_ = x.size(0);
    x_ = x.view({B_, n});
    auto b = b3.squeeze(-1).expand({B_, n}).contiguous();
    const cudaStream_t s = side_.stream();
    auto vo = b.options();
    z_ = at::empty({B_, n}, vo);
    q_ = at::empty({B_, n}, vo);
    p0_ = at::zeros({B_, n}, vo);
    p1_ = at::zeros({B_, n}, vo);  // K1's first x update reads it (times alpha_pp = 0)
    // r = b − A x into q (q is free until the first iteration); z = dinv r.
    at::Tensor r;
    if (x_is_zero) {
      r = b;
    } else {
      auto q3 = q_.unsqueeze(2);
      if (P_.halo)
        P_.A->apply(x_.unsqueeze(2), q3);  // the distributed product, halo included
      else
        cuda::spmm(*A_.pattern(), values_, x_.unsqueeze(2), q3);
      at::sub_out(q_, b, q_);
      r = q_;
    }
    if (dinv_.defined())
      at::mul_out(z_, r, dinv_);
    else
      z_.copy_(r).mul_(double(args_.dscale));
    auto rzrr = at::stack({rowdot(r, z_, s), rowdot(r, r, s)}).view({2, B_, 1, 1});
    P_.A->space().reduce_(rzrr);
    // sums [3, B] and the states in one allocation (cg_fused_state_bytes); the allocator's
    // blocks are 512-byte aligned.
    st_t_ = at::zeros({kc::cg_fused_state_bytes(B_)}, vo.dtype(at::kByte));
    sums_ = st_t_.narrow(0, 0, 3 * B_ * int64_t(sizeof(double))).view(at::kDouble);
    partials_ = at::empty({3 * B_ * kc::cg_fused_blocks(n, args_.group)}, vo.dtype(at::kDouble));
    host_ = at::empty({int64_t(2 * B_ * sizeof(kc::CgState))},
                      at::TensorOptions().dtype(at::kByte).pinned_memory(true));
    st_ = reinterpret_cast<kc::CgState*>(static_cast<char*>(st_t_.data_ptr()) +
                                         3 * B_ * int64_t(sizeof(double)));
    hst_ = reinterpret_cast<kc::CgState*>(host_.data_ptr());
    args_.B = B_;
    args_.v_bs = values_.size(0) > 1 ? A_.pattern()->nnz() : 0;
    args_.d_bs = dinv_.defined() && dinv_.size(0) > 1 ? n : 0;
    args_.z = ptr<T>(z_);
    args_.p0 = ptr<T>(p0_);
    args_.p1 = ptr<T>(p1_);
    args_.q = ptr<T>(q_);
    args_.x = ptr<T>(x_);
    args_.st = st_;
    args_.sums = ptr<double>(sums_);
    args_.partials = ptr<double>(partials_);
    if (P_.halo) {
      send_ = at::empty({halo_.n_send, B_}, vo);
      ghost_ = at::empty({halo_.n_ghost, B_}, vo);
      halo_.B = B_;
      halo_.send = ptr<T>(send_);
      halo_.ghost = ptr<T>(ghost_);
    }
    rz_ = rzrr.select(0, 0).reshape({B_}).contiguous();
    rr_ = rzrr.select(0, 1).reshape({B_}).contiguous();
    return at::sqrt(rzrr.select(0, 1)).to(b3.scalar_type());
  }

  // The device takes over from the monitor once it has begun: the tolerances, the systems still
  // active (one the monitor holds inactive starts decided: an infinite tolerance), the
  // iterations left.
  void begin(Monitor& mon) override {
    auto tol = mon.tol.reshape({B_}).to(at::kDouble);
    auto tol2 = at::where(mon.active.reshape({B_}) != 0, tol * tol,
                          at::full_like(tol, std::numeric_limits<double>::infinity()))
                    .contiguous();
    base_iterations_ = mon.iterations;
    const int64_t left = std::max<int64_t>(mon.maxiter - mon.iterations, 0);
    kc::cg_fused_init(B_, ptr<double>(rz_), ptr<double>(rr_), ptr<double>(tol2),
                      int(std::min<int64_t>(left, INT32_MAX)), st_, side_.stream());
    max_blocks_ = left / m_ + 3;
    armed_ = true;
  }

  at::Tensor spmv_dot(int t) override {
    if (!P_.halo) {
      kc::cg_fused_spmv_dot<T, I>(args_, t % 2, tuning_.pdl, side_.stream());
      return sums_.narrow(0, 0, B_);
    }
    // Pack p' at the rows the neighbours need, send it while K1 multiplies by the diagonal
    // block, then add the ghost columns' share of the boundary rows.
    kc::cg_fused_pack<T, I, J>(args_, halo_, t % 2, side_.stream());
    auto wait = P_.halo->exchange(send_, ghost_);
    kc::cg_fused_spmv_dot<T, I>(args_, t % 2, tuning_.pdl, side_.stream());
    wait();
    kc::cg_fused_ghost_dot<T, I, J>(args_, halo_, t % 2, side_.stream());
    return sums_.narrow(0, 0, B_);
  }
  at::Tensor update(int t, Monitor&) override {
    kc::cg_fused_update<T, I>(args_, t % 2, tuning_.pdl, side_.stream());
    return sums_.narrow(0, B_, 2 * B_);
  }
  bool decide(Monitor&) override { return false; }  // on the device, in the next K1

  int block() const override { return m_; }

  void run_block(int m, bool capturable, const std::function<void(int)>& body) override {
    const cudaStream_t s = side_.stream();
    if (blocks_ >= max_blocks_) return;  // every system has decided (maxiter at the latest)
    if (tuning_.graph && capturable && !graph_.e) {
      DSLA_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
      try {
        for (int t = 0; t < m; ++t) body(t);
      } catch (...) {
        cudaGraph_t g = nullptr;
        cudaStreamEndCapture(s, &g);
        if (g) cudaGraphDestroy(g);
        throw;
      }
      DSLA_CUDA_CHECK(cudaStreamEndCapture(s, &graph_.g));
      DSLA_CUDA_CHECK(cudaGraphInstantiate(&graph_.e, graph_.g, 0));
    }
    if (graph_.e) {
      DSLA_CUDA_CHECK(cudaGraphLaunch(graph_.e, s));
    } else {
      for (int t = 0; t < m; ++t) body(t);
    }
    const int64_t k = blocks_++;
    DSLA_CUDA_CHECK(cudaMemcpyAsync(hst_ + (k % 2) * B_, st_, B_ * sizeof(kc::CgState),
                                    cudaMemcpyDeviceToHost, s));
    DSLA_CUDA_CHECK(cudaEventRecord(copied_[k % 2].e, s));
  }

  // One block behind: block k is queued before the state after block k − 1 is read (from the
  // second block on), so the device does not idle while the host reads and launches. Once the
  // state says done, a queued block's kernels return at once: no iteration is added.
  bool check(Monitor& mon) override {
    const int64_t k = blocks_ - 1;
    if (k == 1 && checked_ == 0) return false;  // block 0 was read; queue block 2 first
    const int64_t read = k == 0 ? 0 : k - 1;
    if (read < checked_) return false;
    DSLA_CUDA_CHECK(cudaEventSynchronize(copied_[read % 2].e));
    checked_ = read + 1;
    ++tuning_.host_checks;
    const kc::CgState* h = hst_ + (read % 2) * B_;
    bool all = true;
    int64_t most = 0;
    for (int64_t i = 0; i < B_; ++i) {
      all = all && h[i].done != kernels::kCgRunning;
      most = std::max<int64_t>(most, h[i].iters);
    }
    mon.iterations = base_iterations_ + most;
    return all || blocks_ >= max_blocks_;
  }

  void finish(Monitor& mon) override {
    if (!armed_) return;
    const cudaStream_t s = side_.stream();
    kc::cg_fused_finish<T>(n_, B_, ptr<T>(x_), ptr<T>(p0_), ptr<T>(p1_), st_, ptr<double>(sums_),
                           s);
    DSLA_CUDA_CHECK(
        cudaMemcpyAsync(hst_, st_, B_ * sizeof(kc::CgState), cudaMemcpyDeviceToHost, s));
    DSLA_CUDA_CHECK(cudaStreamSynchronize(s));
    std::vector<uint8_t> indefinite(B_), notfinite(B_);
    int64_t most = 0;
    for (int64_t i = 0; i < B_; ++i) {
      most = std::max<int64_t>(most, hst_[i].iters);
      indefinite[i] = hst_[i].done == kernels::kCgIndefinite;
      notfinite[i] = hst_[i].done == kernels::kCgNotFinite;
    }
    mon.iterations = base_iterations_ + most;
    auto to_mask = [&](const std::vector<uint8_t>& v) {
      return at::tensor(std::vector<int64_t>(v.begin(), v.end()), at::kLong)
          .to(mon.active.device())
          .ne(0)
          .view({B_, 1, 1});
    };
    mon.fail(Status::Indefinite, to_mask(indefinite));
    mon.fail(Status::NotFinite, to_mask(notfinite));
  }

 private:
  const Problem& P_;
  const SparseMatrix& A_;
  const CgTuning& tuning_;
  at::Tensor dinv_, values_, dcol_;
  c10::cuda::CUDAGuard guard_;
  c10::cuda::CUDAStream caller_ = at::cuda::getCurrentCUDAStream();
  c10::cuda::CUDAStream side_ = at::cuda::getCurrentCUDAStream();
  c10::optional<c10::cuda::CUDAStreamGuard> stream_guard_;
  Event join_, copied_[2];
  Graph graph_;
  kc::CgFusedArgs<T, I> args_;
  kc::CgHaloArgs<T, J> halo_;
  at::Tensor ovalues_, send_, ghost_;
  int64_t n_ = 0, B_ = 1;
  int m_ = 32;
  at::Tensor x_, z_, q_, p0_, p1_, st_t_, sums_, partials_, host_, rz_, rr_;
  kc::CgState* st_ = nullptr;
  kc::CgState* hst_ = nullptr;
  int64_t blocks_ = 0, checked_ = 0, max_blocks_ = 0, base_iterations_ = 0;
  bool armed_ = false;
};

// The CUDA steps for a matrix with Jacobi or no preconditioner, real fp32/fp64 (or fp32 values
// with fp64 vectors on one process: mixed precision), one column per system, no per-iteration
// callback or history (those need the host every iteration).
std::unique_ptr<CgSteps> make_cuda_cg_steps(const Problem& P, const SparseMatrix& A,
                                            const at::Tensor& x, const CgTuning& tuning) {
  const auto& opt = *P.opt;
  const bool mixed = detail::is_mixed_precision(A.dtype(), x.scalar_type());
  if (!x.is_cuda() || x.dim() != 3 || x.size(2) != 1 || !x.is_contiguous() || opt.callback ||
      opt.callback_x || opt.history || (A.dtype() != at::kDouble && A.dtype() != at::kFloat) ||
      (x.scalar_type() != A.dtype() && !mixed) || (mixed && P.halo)) {
    return nullptr;
  }
  if (P.halo &&
      (P.halo->offd->dtype() != A.dtype() || !P.halo->send_idx.is_cuda() || !P.halo->exchange)) {
    return nullptr;
  }
  const c10::cuda::CUDAGuard guard(A.device());
  const int64_t n = A.rows(), B = x.size(0);
  at::Tensor dinv;
  double dscale = 1.0;
  if (P.dinv.defined()) {
    dinv = P.dinv.squeeze(-1);
    if (dinv.size(0) != 1 && dinv.size(0) != B) return nullptr;
    if (dinv.size(0) == 1 && n > 0 && dinv.stride(1) == 0) {  // a broadcast scalar (Jacobi)
      dscale = dinv.select(0, 0).select(0, 0).item<double>();
      dinv = at::Tensor();
    } else {
      dinv = dinv.contiguous().to(x.scalar_type());
    }
  }
  // A uniform Jacobi diagonal (constant-coefficient stencils) goes to the kernels as a scalar.
  if (dinv.defined() && dinv.size(0) == 1 && n > 0) {
    auto mm = at::aminmax(dinv);
    auto ends = at::stack({std::get<0>(mm), std::get<1>(mm)}).to(at::kDouble).cpu();
    if (ends[0].item<double>() == ends[1].item<double>()) {
      dscale = ends[0].item<double>();
      dinv = at::Tensor();
    }
  }
  std::unique_ptr<CgSteps> steps;
  // J: the index type of the distributed operator's ghost block (that of A without one).
  const auto ghost_index =
      P.halo ? P.halo->offd->pattern()->index_dtype() : A.pattern()->index_dtype();
  DSLA_DISPATCH_INDEX(A.pattern()->index_dtype(), "cg", [&] {
    using I = index_t;
    DSLA_DISPATCH_INDEX(ghost_index, "cg", [&] {
      if (x.scalar_type() == at::kDouble)
        steps = std::make_unique<CudaFusedSteps<double, I, index_t>>(P, A, dinv, dscale, tuning);
      else
        steps = std::make_unique<CudaFusedSteps<float, I, index_t>>(P, A, dinv, dscale, tuning);
    });
  });
  return steps;
}

}  // namespace

DSLA_REGISTER_CUDA(make_device_cg_steps_stub, make_cuda_cg_steps);

}  // namespace dsla::krylov
