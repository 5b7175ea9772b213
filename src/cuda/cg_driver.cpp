#include "cuda/cg_driver.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dispatch.h"
#include "cuda/products.h"
#include "cuda/structure.h"
#include "kernels/cuda/cg_cuda.h"
#include "kernels/cuda/cuda_check.h"

namespace dsla::cuda {

namespace kc = kernels::cuda;
using detail::ptr;

namespace {

// RAII for a captured graph.
struct Graph {
  cudaGraph_t g = nullptr;
  cudaGraphExec_t e = nullptr;
  ~Graph() {
    if (e) cudaGraphExecDestroy(e);
    if (g) cudaGraphDestroy(g);
  }
};

// Re <a_b, c_b> per row b of contiguous [B, n] tensors, in fp64, by our reduction kernel: no
// [B, n] temporary, and no cuBLAS call (its first use on a stream makes torch allocate a cuBLAS
// workspace of tens of MB, which would count in the solve's peak memory).
at::Tensor rowdot(const at::Tensor& a, const at::Tensor& c) {
  const int64_t B = a.size(0), n = a.size(1);
  auto out = at::empty({B}, a.options());
  auto part = at::empty({B * kc::cg_step_blocks(n)}, a.options());
  const cudaStream_t s = at::cuda::getCurrentCUDAStream().stream();
  if (a.scalar_type() == at::kDouble) {
    kc::cg_dot_step<double, double>(n, 1, B, ptr<double>(a), ptr<double>(c), ptr<double>(out),
                                    ptr<double>(part), s);
  } else {
    kc::cg_dot_step<float, float>(n, 1, B, ptr<float>(a), ptr<float>(c), ptr<float>(out),
                                  ptr<float>(part), s);
  }
  return out.to(at::kDouble);
}

}  // namespace

CgFusedResult cg_fused_solve(const SparseMatrix& A, const at::Tensor& b_in,
                             const at::Tensor& dinv_in, const CgFusedOptions& opt,
                             const at::Tensor& x0) {
  TORCH_CHECK_VALUE(A.device().is_cuda(), "dsla: cg_fused_solve: A must be on a CUDA device");
  TORCH_CHECK_VALUE(A.rows() == A.cols(), "dsla: cg_fused_solve: A must be square");
  TORCH_CHECK_TYPE(A.dtype() == at::kDouble || A.dtype() == at::kFloat,
                   "dsla: cg_fused_solve: float32 or float64 values");
  const c10::cuda::CUDAGuard guard(A.device());
  const auto& P = *A.pattern();
  const int64_t n = A.rows();
  auto b = (b_in.dim() == 1 ? b_in.unsqueeze(0) : b_in).contiguous();
  TORCH_CHECK_VALUE(
      b.dim() == 2 && b.size(1) == n && b.device() == A.device() && b.scalar_type() == A.dtype(),
      "dsla: cg_fused_solve: b must be [n] or [B, n] on A's device and dtype");
  auto values = (A.is_batched() ? A.values() : A.values().unsqueeze(0)).detach().contiguous();
  const int64_t B = std::max(b.size(0), values.size(0));
  if (b.size(0) != B) b = b.expand({B, n}).contiguous();
  at::Tensor dinv;
  double dscale = 1.0;
  if (dinv_in.defined()) {
    dinv = dinv_in.dim() == 1 ? dinv_in.unsqueeze(0) : dinv_in.reshape({-1, n});
    TORCH_CHECK_VALUE(dinv.size(0) == 1 || dinv.size(0) == B, "dsla: cg_fused_solve: dinv batch");
    if (dinv.size(0) == 1 && n > 0 && dinv.stride(1) == 0) {  // a broadcast scalar (Jacobi)
      dscale = dinv.select(0, 0).select(0, 0).item<double>();
      dinv = at::Tensor();
    } else {
      dinv = dinv.contiguous().to(A.dtype());
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
  const int64_t maxiter = opt.maxiter < 0 ? 10 * n : opt.maxiter;
  const int m = std::max(2, (opt.check_every + 1) / 2 * 2);
  // Fused K1 gathers two vectors per nonzero: one lane per row measured best for short rows
  // (H100, poisson2d:4096: 0.909 ms/it with 1 lane, 1.01 with 2, 1.49 with 4; NOTES-gpu.md).
  const int plan_group = spmv_plan(P).group;
  const at::Tensor dcol = opt.compact_columns ? col_delta16(P) : at::Tensor();
  const int16_t* dcol_ptr = dcol.defined() ? ptr<int16_t>(dcol) : nullptr;
  const int group = opt.group > 0 ? opt.group : (plan_group <= 2 ? 1 : plan_group);

  auto vo = b.options();
  at::Tensor x;
  if (opt.in_place) {
    TORCH_CHECK_VALUE(x0.defined() && x0.is_contiguous() && x0.numel() == B * n &&
                          x0.scalar_type() == A.dtype() && x0.device() == A.device(),
                      "dsla: cg_fused_solve: in_place needs a contiguous x0 of B * n entries");
    x = x0.view({B, n});
  } else {
    x = x0.defined() ? (x0.dim() == 1 ? x0.unsqueeze(0) : x0).expand({B, n}).contiguous().clone()
                     : at::zeros({B, n}, vo);
  }
  const bool zero_start = !x0.defined() || opt.zero_start;
  auto z = at::empty({B, n}, vo), q = at::empty({B, n}, vo);
  auto p0 = at::empty({B, n}, vo), p1 = at::empty({B, n}, vo);
  auto st_t = at::empty({int64_t(B * sizeof(kc::CgState))}, vo.dtype(at::kByte));
  auto partials = at::empty({3 * B * kc::cg_fused_blocks(n, group)}, vo.dtype(at::kDouble));
  // Two host copies of the state: the check of block k reads one while block k+1 runs.
  auto host_st = at::empty({int64_t(2 * B * sizeof(kc::CgState))},
                           at::TensorOptions().dtype(at::kByte).pinned_memory(true));
  auto* st = reinterpret_cast<kc::CgState*>(st_t.data_ptr());
  auto* hst = reinterpret_cast<kc::CgState*>(host_st.data_ptr());

  auto bb = rowdot(b, b);
  auto tol = at::clamp_min(opt.rtol * at::sqrt(bb), opt.atol);
  auto tol2 = (tol * tol).contiguous();

  // Work on a side stream (graphs cannot be captured on the legacy default stream).
  auto caller = at::cuda::getCurrentCUDAStream();
  auto side = at::cuda::getStreamFromPool(false, A.device().index());
  cudaEvent_t ev;
  DSLA_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  DSLA_CUDA_CHECK(cudaEventRecord(ev, caller.stream()));
  DSLA_CUDA_CHECK(cudaStreamWaitEvent(side.stream(), ev, 0));
  const cudaStream_t s = side.stream();

  CgFusedResult res;
  std::vector<int64_t> total_iters(B, 0);
  std::vector<int> status(B, 0);
  at::Tensor rel;
  {
    const c10::cuda::CUDAStreamGuard sg(side);
    const int64_t d_bs = dinv.defined() && dinv.size(0) > 1 ? n : 0;
    const int64_t v_bs = values.size(0) > 1 ? P.nnz() : 0;
    for (int restart = 0;; ++restart) {
      // r = b - A x into q (q is free until the first iteration); z = dinv r.
      at::Tensor r;
      if (restart == 0 && zero_start) {
        r = b;
      } else {
        spmm(P, values, x.unsqueeze(2), q.unsqueeze(2));
        at::sub_out(q, b, q);
        r = q;
      }
      if (dinv.defined())
        at::mul_out(z, r, dinv);
      else
        z.copy_(r).mul_(dscale);
      auto rz = rowdot(r, z).contiguous(), rr = rowdot(r, r).contiguous();
      p0.zero_();
      p1.zero_();  // K1's first x update reads it (times alpha_pp = 0)
      int64_t left = maxiter;
      for (int64_t i = 0; i < B; ++i) left = std::min(left, maxiter - total_iters[i]);
      kc::cg_fused_init(B, ptr<double>(rz), ptr<double>(rr), ptr<double>(tol2),
                        int(std::max<int64_t>(left, 0)), st, s);
      DSLA_DISPATCH_INDEX(P.index_dtype(), "cg", [&] {
        auto run_block = [&](cudaStream_t ss) {
          for (int t = 0; t < m; ++t) {
            if (A.dtype() == at::kDouble) {
              kc::cg_fused_iteration<double, index_t>(
                  n, B, group, ptr<index_t>(P.crow()), ptr<index_t>(P.col()), dcol_ptr,
                  ptr<double>(values), v_bs, dinv.defined() ? ptr<double>(dinv) : nullptr, d_bs,
                  dscale, ptr<double>(z), ptr<double>(p0), ptr<double>(p1), t % 2, ptr<double>(q),
                  ptr<double>(x), st, ptr<double>(partials), opt.pdl, ss);
            } else {
              kc::cg_fused_iteration<float, index_t>(
                  n, B, group, ptr<index_t>(P.crow()), ptr<index_t>(P.col()), dcol_ptr,
                  ptr<float>(values), v_bs, dinv.defined() ? ptr<float>(dinv) : nullptr, d_bs,
                  float(dscale), ptr<float>(z), ptr<float>(p0), ptr<float>(p1), t % 2,
                  ptr<float>(q), ptr<float>(x), st, ptr<double>(partials), opt.pdl, ss);
            }
          }
        };
        Graph graph;
        if (opt.graph) {
          DSLA_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
          try {
            run_block(s);
          } catch (...) {
            cudaGraph_t g;
            cudaStreamEndCapture(s, &g);
            if (g) cudaGraphDestroy(g);
            throw;
          }
          DSLA_CUDA_CHECK(cudaStreamEndCapture(s, &graph.g));
          DSLA_CUDA_CHECK(cudaGraphInstantiate(&graph.e, graph.g, 0));
        }
        // One block of iterations stays queued ahead of the host check, so the device does not
        // idle while the host reads the state and launches the next block (~15-30 us per check
        // at poisson2d:1024, 0.5 % of the time at check_every 64). Once the state says done,
        // the queued block's kernels return at once: no iteration is added.
        const int64_t max_blocks = left / m + 2;
        cudaEvent_t copied[2];
        DSLA_CUDA_CHECK(cudaEventCreateWithFlags(&copied[0], cudaEventDisableTiming));
        DSLA_CUDA_CHECK(cudaEventCreateWithFlags(&copied[1], cudaEventDisableTiming));
        auto enqueue = [&](int64_t blk) {
          if (opt.graph)
            DSLA_CUDA_CHECK(cudaGraphLaunch(graph.e, s));
          else
            run_block(s);
          DSLA_CUDA_CHECK(cudaMemcpyAsync(hst + (blk % 2) * B, st, B * sizeof(kc::CgState),
                                          cudaMemcpyDeviceToHost, s));
          DSLA_CUDA_CHECK(cudaEventRecord(copied[blk % 2], s));
        };
        int64_t queued = 0;
        auto next = [&] {
          if (queued < max_blocks) enqueue(queued++);
        };
        try {
          next();
          for (int64_t blk = 0; blk < queued; ++blk) {
            // From the second check on (a problem that converges within its first block queues
            // nothing more), the next block is queued before waiting for this one.
            if (blk >= 1) next();
            DSLA_CUDA_CHECK(cudaEventSynchronize(copied[blk % 2]));
            ++res.host_checks;
            bool all = true;
            for (int64_t i = 0; i < B; ++i) all = all && hst[(blk % 2) * B + i].done != 0;
            if (all) break;
            if (queued == blk + 1) next();
          }
        } catch (...) {
          cudaEventDestroy(copied[0]);
          cudaEventDestroy(copied[1]);
          throw;
        }
        // The stream synchronization below also waits for the block still queued.
        DSLA_CUDA_CHECK(cudaEventDestroy(copied[0]));
        DSLA_CUDA_CHECK(cudaEventDestroy(copied[1]));
      });
      DSLA_CUDA_CHECK(cudaMemcpyAsync(hst, st, B * sizeof(kc::CgState), cudaMemcpyDeviceToHost, s));
      DSLA_CUDA_CHECK(cudaStreamSynchronize(s));
      if (A.dtype() == at::kDouble)
        kc::cg_fused_finish<double>(n, B, ptr<double>(x), ptr<double>(p0), ptr<double>(p1), st, s);
      else
        kc::cg_fused_finish<float>(n, B, ptr<float>(x), ptr<float>(p0), ptr<float>(p1), st, s);
      for (int64_t i = 0; i < B; ++i) {
        total_iters[i] += hst[i].iters;
        status[i] = hst[i].done;
      }
      // The true residual decides (the recurrence can drift from it).
      spmm(P, values, x.unsqueeze(2), q.unsqueeze(2));
      at::sub_out(q, b, q);
      auto rr_true = rowdot(q, q);
      rel = (at::sqrt(rr_true) / at::sqrt(bb).clamp_min(1e-300)).cpu();
      auto ok = (rr_true <= tol2 * (1 + 1e-12)).cpu();
      bool again = false;
      for (int64_t i = 0; i < B; ++i) {
        const bool conv = ok[i].item<bool>();
        if (conv) status[i] = 1;
        if (!conv && status[i] == 1) status[i] = 0;  // recurrence said yes, truth says no
        if (!conv && status[i] != 3 && total_iters[i] < maxiter) again = true;
        if (!conv && status[i] == 0) status[i] = total_iters[i] >= maxiter ? 2 : 0;
      }
      if (!again || restart >= opt.max_restarts) break;
    }
  }
  DSLA_CUDA_CHECK(cudaEventRecord(ev, s));
  DSLA_CUDA_CHECK(cudaStreamWaitEvent(caller.stream(), ev, 0));
  DSLA_CUDA_CHECK(cudaEventDestroy(ev));
  // Every side-stream use ended before the last host read (`.cpu()` above synchronizes).
  res.x = x;
  res.iterations = at::tensor(total_iters, at::kLong);
  res.residual = rel;
  res.status = at::tensor(std::vector<int>(status.begin(), status.end()), at::kInt);
  return res;
}

}  // namespace dsla::cuda
