// CUDA kernels against the CPU kernels / ATen references (the oracle). Skips without a GPU.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <dsla/generators.h>
#include <dsla/io.h>
#include <dsla/sparse_matrix.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <string>

#include "core/products.h"
#include "core/products_cuda.h"
#include "kernels/cuda/csr_cuda.h"
#include "solve/krylov/cg_steps.h"
#include "solve/krylov/krylov.h"

namespace {

using dsla::SparseMatrix;

#define SKIP_WITHOUT_GPU() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

double tol_for(at::ScalarType t) {
  return (t == at::kFloat || t == at::kComplexFloat) ? 2e-4 : 1e-11;
}

void expect_close(const at::Tensor& got, const at::Tensor& want, double tol,
                  const std::string& what) {
  auto g = got.cpu().to(want.scalar_type());
  const double scale = std::max(1.0, want.abs().max().item<double>());
  const double err = (g - want).abs().max().item<double>();
  EXPECT_LE(err, tol * scale) << what << ": max error " << err << " (scale " << scale << ")";
}

// An irregular matrix: a few dense rows among short ones (exercises the merge-path kernel).
SparseMatrix irregular(int64_t n, at::ScalarType dtype) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  std::vector<int64_t> r, c;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = (i % 97 == 3) ? n / 2 : 1 + (i % 5);
    for (int64_t t = 0; t < len; ++t) {
      r.push_back(i);
      c.push_back((i * 31 + t * 17 + t * t) % n);
    }
  }
  auto row = at::tensor(r, at::kLong), col = at::tensor(c, at::kLong);
  auto vals = at::randn({int64_t(r.size())}, gen, at::TensorOptions().dtype(dtype));
  return SparseMatrix::from_coo(row, col, vals, {n, n});
}

std::vector<SparseMatrix> matrices(at::ScalarType dtype) {
  std::vector<SparseMatrix> out;
  dsla::GenOptions o;
  o.dtype = dtype;
  out.push_back(dsla::poisson2d(37, o));
  out.push_back(irregular(3000, dtype));   // small: a warp per row (csr_plan)
  out.push_back(irregular(20000, dtype));  // large and irregular: the merge-path kernel
  for (const char* name : {"bcsstk03", "orsirr_1", "gr_30_30"}) {
    const std::string path = std::string(DSLA_DATA_DIR) + "/" + name + ".mtx";
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      std::fclose(f);
      out.push_back(dsla::read_mtx(path, dtype));
    }
  }
  return out;
}

// csr_plan's choices (no device needed): small matrices get a warp per row, also when irregular
// (up to rows of 8192), larger irregular ones the merge path, regular ones lanes by mean length.
TEST(CudaPlan, SmallMatricesGetAWarpPerRowLargeIrregularOnesMerge) {
  namespace kc = dsla::kernels::cuda;
  const int sms = 132;
  auto p = kc::csr_plan(1157, 5399, 2000, sms);  // rajat19-like
  EXPECT_EQ(p.kind, kc::SpmvPlan::Vector);
  EXPECT_EQ(p.group, 32);
  p = kc::csr_plan(1647, 14754, 1500, sms);  // hangGlider_2-like: was merge
  EXPECT_EQ(p.kind, kc::SpmvPlan::Vector);
  p = kc::csr_plan(5000, 60000, 20000, sms);  // small, but a row too long for one warp
  EXPECT_EQ(p.kind, kc::SpmvPlan::Merge);
  p = kc::csr_plan(20000, 80000, 10000, sms);  // large irregular
  EXPECT_EQ(p.kind, kc::SpmvPlan::Merge);
  p = kc::csr_plan(1 << 20, 5 << 20, 5, sms);  // poisson2d:1024: short regular rows
  EXPECT_EQ(p.kind, kc::SpmvPlan::Vector);
  EXPECT_LE(p.group, 4);
}

class CudaProducts : public ::testing::TestWithParam<std::tuple<at::ScalarType, at::ScalarType>> {};

TEST_P(CudaProducts, SpmmAndSddmmMatchCpu) {
  SKIP_WITHOUT_GPU();
  const auto [dtype, itype] = GetParam();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  for (const auto& A0 : matrices(dtype)) {
    auto pat = A0.pattern()->with_index_dtype(itype);
    const auto& P = *pat;
    const auto opt = at::TensorOptions().dtype(dtype);
    auto Pg = pat->to(at::Device(at::kCUDA, 0));
    for (int64_t B : {1, 3}) {
      for (int64_t k : {1, 2, 5}) {
        auto vals = at::randn({B, P.nnz()}, gen, opt);
        auto x = at::randn({B, P.cols(), k}, gen, opt);
        auto want = dsla::detail::spmm(P, vals, x);
        auto got = dsla::detail::spmm(*Pg, vals.cuda(), x.cuda());
        expect_close(got, want, tol_for(dtype),
                     "spmm B=" + std::to_string(B) + " k=" + std::to_string(k));
        // broadcast values over a batch of x
        auto got1 = dsla::detail::spmm(*Pg, vals.slice(0, 0, 1).cuda(), x.cuda());
        expect_close(got1, dsla::detail::spmm(P, vals.slice(0, 0, 1), x), tol_for(dtype),
                     "spmm bcast");
        auto gy = at::randn({B, P.rows(), k}, gen, opt);
        expect_close(dsla::detail::sddmm(*Pg, gy.cuda(), x.cuda()), dsla::detail::sddmm(P, gy, x),
                     tol_for(dtype), "sddmm");
      }
    }
    // Every SpMV kernel variant, forced.
    auto vals = at::randn({1, P.nnz()}, gen, opt);
    auto x = at::randn({1, P.cols(), 1}, gen, opt);
    auto want = dsla::detail::spmm(P, vals, x);
    for (int kind : {0, 1}) {
      for (int g : {1, 2, 4, 8, 16, 32}) {
        if (kind == 1 && g > 1) break;
        dsla::cuda::set_spmv_override(kind, g);
        expect_close(dsla::detail::spmm(*Pg, vals.cuda(), x.cuda()), want, tol_for(dtype),
                     "kind " + std::to_string(kind) + " group " + std::to_string(g));
      }
    }
    dsla::cuda::set_spmv_override(-1, 4);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, CudaProducts,
                         ::testing::Combine(::testing::Values(at::kFloat, at::kDouble,
                                                              at::kComplexFloat,
                                                              at::kComplexDouble),
                                            ::testing::Values(at::kInt, at::kLong)));

TEST(CudaCgSteps, MatchAtenFormulas) {
  SKIP_WITHOUT_GPU();
  for (auto dtype : {at::kDouble, at::kComplexDouble, at::kFloat}) {
    dsla::GenOptions o;
    o.dtype = dtype;
    auto A = dsla::poisson2d(20, o);
    const int64_t n = A.rows(), B = 2, k = 3;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
    const auto opt = at::TensorOptions().dtype(dtype);
    const auto real = at::toRealValueType(dtype);
    const auto ropt = at::TensorOptions().dtype(real);
    auto Pg = A.pattern()->to(at::Device(at::kCUDA, 0));
    auto vals = A.values().unsqueeze(0);
    auto p = at::randn({B, n, k}, gen, opt), r = at::randn({B, n, k}, gen, opt);
    auto x = at::randn({B, n, k}, gen, opt);
    auto dinv = at::rand({1, n, 1}, gen, ropt) + 0.5;
    auto active = at::ones({B, 1, k}, ropt);
    active[1][0][2] = 0;
    auto redot = [](const at::Tensor& a, const at::Tensor& b) {
      auto d = (a.conj() * b).sum(1, true);
      return d.is_complex() ? at::real(d) : d;
    };
    // spmv_dot
    auto q_ref = dsla::detail::spmm(*A.pattern(), vals, p);
    auto pq_ref = redot(p, q_ref);
    auto pg = p.cuda(), qg = at::empty_like(pg), pqg = at::empty({B, 1, k}, ropt.device(at::kCUDA));
    dsla::krylov::cg_spmv_dot_stub.cuda()(*Pg, vals.cuda(), pg, qg, pqg);
    expect_close(qg, q_ref, tol_for(dtype), "q");
    expect_close(pqg, pq_ref, tol_for(dtype), "pq");
    // update
    auto rz = at::rand({B, 1, k}, gen, ropt) + 1;
    auto alpha = at::where(active != 0, rz / pq_ref, at::zeros_like(rz));
    auto x_ref = x + alpha * p, r_ref = r - alpha * q_ref;
    auto rzn_ref = redot(r_ref, dinv * r_ref), rr_ref = redot(r_ref, r_ref);
    auto xg = x.cuda(), rg = r.cuda(), rzn = at::empty_like(pqg), rr = at::empty_like(pqg);
    dsla::krylov::cg_update_stub.cuda()(xg, rg, pg, qg, dinv.cuda(), rz.cuda(), pqg, active.cuda(),
                                        rzn, rr);
    expect_close(xg, x_ref, tol_for(dtype), "x");
    expect_close(rg, r_ref, tol_for(dtype), "r");
    expect_close(rzn, rzn_ref, tol_for(dtype) * 10, "rz_new");
    expect_close(rr, rr_ref, tol_for(dtype) * 10, "rr");
    // direction
    auto beta = rzn_ref / rz;
    auto p_ref = at::where(active != 0, dinv * r_ref + beta * p, p);
    auto rzg = rz.cuda();
    dsla::krylov::cg_direction_stub.cuda()(pg, rg, at::Tensor(), dinv.cuda(), rzg, rzn,
                                           active.cuda());
    expect_close(pg, p_ref, tol_for(dtype) * 10, "p");
    expect_close(rzg, at::where(active != 0, rzn_ref, rz), tol_for(dtype) * 10, "rz");
  }
}

// CG through the one loop (cg.cpp) and driver with the CUDA fused steps; `checks` > 0 proves
// the fused device steps ran (the host-decided steps make no block reads).
dsla::SolveInfo run_cg(const dsla::SparseMatrix& A, const at::Tensor& b, const at::Tensor& dinv,
                       double rtol, bool graph, at::Tensor& x, int64_t& checks) {
  dsla::SolveOptions opt;
  opt.rtol = rtol;
  auto op = dsla::make_operator(A);
  dsla::krylov::Problem P;
  P.A = op.get();
  P.opt = &opt;
  P.x_is_zero = true;
  if (dinv.defined()) P.dinv = (dinv.dim() == 1 ? dinv.unsqueeze(0) : dinv).unsqueeze(-1);
  auto b3 = (b.dim() == 1 ? b.unsqueeze(0) : b).unsqueeze(-1);
  const int64_t B = std::max<int64_t>(b3.size(0), A.is_batched() ? A.values().size(0) : 1);
  x = at::zeros({B, A.rows(), 1}, b3.options());
  dsla::krylov::CgTuning tuning;
  tuning.graph = graph;
  dsla::SolveInfo info;
  {
    dsla::krylov::CgTuningScope scope(tuning);
    dsla::krylov::run(dsla::Method::CG, P, b3, x, info);
  }
  checks = tuning.host_checks;
  return info;
}

TEST(CudaCgFusedSteps, SolvesPoissonAndBatches) {
  SKIP_WITHOUT_GPU();
  dsla::GenOptions o;
  auto A = dsla::poisson2d(64, o).to(at::Device(at::kCUDA, 0));
  const int64_t n = A.rows();
  auto b = at::ones({n}, at::TensorOptions().dtype(at::kDouble).device(at::kCUDA));
  auto dinv = 1.0 / A.diagonal();
  for (bool graph : {true, false}) {
    at::Tensor x;
    int64_t checks = 0;
    auto info = run_cg(A, b, dinv, 1e-10, graph, x, checks);
    EXPECT_TRUE(info.converged) << info.message;
    EXPECT_GT(checks, 0);
    auto r =
        b.unsqueeze(0).unsqueeze(2) - dsla::detail::spmm(*A.pattern(), A.values().unsqueeze(0), x);
    EXPECT_LE((r.norm() / b.norm()).item<double>(), 1.1e-10);
    EXPECT_GT(info.iterations, 10);
  }
  // A batch of 3 matrices with different scalings: each system stops on its own.
  auto vals = at::stack({A.values(), 2 * A.values(), 0.5 * A.values()});
  auto Ab = A.with_values(vals);
  auto bb = at::randn({3, n}, at::TensorOptions().dtype(at::kDouble)).cuda();
  auto dinvb = 1.0 / Ab.diagonal();
  at::Tensor x;
  int64_t checks = 0;
  auto info = run_cg(Ab, bb, dinvb, 1e-6, true, x, checks);
  EXPECT_TRUE(info.converged) << info.message;
  EXPECT_LE(info.residuals.max().item<double>(), 1e-6);
  // fp32 and no preconditioner
  auto Af = A.to(at::kFloat);
  info = run_cg(Af, b.to(at::kFloat), at::Tensor(), 1e-4, true, x, checks);
  EXPECT_TRUE(info.converged) << info.message;
  EXPECT_LE(info.residual, 1e-4);
  EXPECT_GT(checks, 0);
}

}  // namespace
