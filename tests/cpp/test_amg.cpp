// Smoothed-aggregation AMG: hierarchy invariants, MIS-2 CPU kernel vs ATen formulation,
// convergence (PCG iterations bounded and not growing, stationary V-cycle factor), numeric
// update against a fresh setup, batches, near-nullspace blocks, the Preconditioner contract,
// real matrices and bad input.
#include <dsla/amg.h>
#include <dsla/generators.h>
#include <dsla/io.h>
#include <dsla/solve.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/products.h"
#include "solve/amg/amg_internal.h"
#include "solve/amg/amg_preconditioner.h"

namespace {

using dsla::SparseMatrix;
using dsla::amg::AmgHierarchy;
using dsla::amg::AmgOptions;

at::Tensor ones_rhs(const SparseMatrix& A) {
  return at::ones({A.rows()}, at::kDouble);
}

// CG with a preconditioner callback on [1, n, 1] vectors; true relative residual at exit.
template <class Prec>
int64_t pcg(const SparseMatrix& A, const at::Tensor& b, Prec M, double rtol, int64_t maxiter,
            double* res) {
  auto v = A.values().view({1, -1});
  auto bb = b.view({1, -1, 1});
  auto x = at::zeros_like(bb), r = bb.clone();
  at::Tensor p, rz;
  const double bn = bb.norm().item<double>();
  int64_t it = 0;
  while (it < maxiter) {
    auto z = M(r);
    auto rz_new = (r * z).sum();
    p = it == 0 ? z : z + (rz_new / rz) * p;
    rz = rz_new;
    auto q = dsla::detail::spmm(*A.pattern(), v, p);
    auto alpha = rz / (p * q).sum();
    x += alpha * p;
    r -= alpha * q;
    ++it;
    if (r.norm().item<double>() <= rtol * bn) {
      auto rt = bb - dsla::detail::spmm(*A.pattern(), v, x);
      if (rt.norm().item<double>() <= rtol * bn) break;
    }
  }
  *res = (bb - dsla::detail::spmm(*A.pattern(), v, x)).norm().item<double>() / bn;
  return it;
}

int64_t amg_pcg(const SparseMatrix& A, const AmgOptions& o, double* res) {
  auto H = AmgHierarchy::build(A, o);
  return pcg(
      A, ones_rhs(A), [&](const at::Tensor& r) { return H->apply(r); }, 1e-6, 500, res);
}

int64_t jacobi_pcg(const SparseMatrix& A, double* res) {
  auto dinv = (1.0 / A.diagonal()).view({1, -1, 1});
  return pcg(
      A, ones_rhs(A), [&](const at::Tensor& r) { return dinv * r; }, 1e-6, 20000, res);
}

TEST(Amg, TentativeProlongatorInvariants) {
  auto A = dsla::poisson2d(40);
  auto H = AmgHierarchy::build(A, {});
  ASSERT_GE(H->num_levels(), 2);
  for (int64_t l = 0; l + 1 < H->num_levels(); ++l) {
    auto T = H->tentative_prolongator(l).to_dense();
    auto agg = H->aggregates(l);
    auto B = H->near_nullspace(l), Bc = H->near_nullspace(l + 1);
    auto in = agg >= 0;
    // Each aggregated row in exactly one aggregate, unaggregated rows in none.
    auto per_row = (T != 0).sum(1);
    EXPECT_TRUE(at::equal(per_row, in.to(at::kLong))) << "level " << l;
    // Every column (aggregate) nonempty, T has orthonormal columns, and T Bc = B on its rows.
    EXPECT_TRUE(((T != 0).sum(0) > 0).all().item<bool>());
    auto I = at::eye(T.size(1), T.options());
    EXPECT_LT((T.t().mm(T) - I).abs().max().item<double>(), 1e-12);
    auto diff = (T.mm(Bc) - B).index({in});
    EXPECT_LT(diff.abs().max().item<double>(), 1e-12);
    // Aggregate ids match T's columns.
    auto cols = T.abs().argmax(1).index({in});
    EXPECT_TRUE(at::equal(cols, agg.index({in})));
  }
}

TEST(Amg, HierarchyShapesSymmetryGalerkin) {
  for (auto A : {dsla::poisson2d(48), dsla::poisson3d(12), dsla::aniso2d(48)}) {
    auto H = AmgHierarchy::build(A, {});
    EXPECT_TRUE(H->is_symmetric());
    const auto& s = H->stats();
    ASSERT_EQ(static_cast<int64_t>(s.levels.size()), H->num_levels());
    for (int64_t l = 0; l + 1 < H->num_levels(); ++l) {
      EXPECT_LT(s.levels[l + 1].rows, s.levels[l].rows);
      auto Al = H->level_matrix(l).to_dense(), Ac = H->level_matrix(l + 1).to_dense();
      auto P = H->prolongator(l).to_dense();
      EXPECT_LT((P.t().mm(Al).mm(P) - Ac).abs().max().item<double>(), 1e-10);
      EXPECT_LT((Ac - Ac.t()).abs().max().item<double>(), 1e-12);
    }
    EXPECT_GT(s.operator_complexity, 1.0);
    EXPECT_LT(s.operator_complexity, 5.0);
    EXPECT_EQ(s.coarse_solver, "cholesky");
  }
}

TEST(Amg, Mis2DeterministicAndComplete) {
  for (auto A : {dsla::poisson2d(37), dsla::poisson3d(9), dsla::aniso2d(30)}) {
    auto s = dsla::amg::detail::strength_graph(A.pattern(), A.values(), 0.08, true);
    for (uint64_t seed : {0ull, 7ull}) {
      at::Tensor a1, a2;
      const int threads = at::get_num_threads();
      at::set_num_threads(1);
      const int64_t n1 = dsla::amg::detail::aggregate(s, "mis2", seed, a1);
      at::set_num_threads(std::max(2, threads));
      const int64_t n2 = dsla::amg::detail::aggregate(s, "mis2", seed, a2);
      at::set_num_threads(threads);
      EXPECT_EQ(n1, n2);
      EXPECT_TRUE(at::equal(a1, a2));             // independent of the thread count
      EXPECT_TRUE((a1 >= 0).all().item<bool>());  // every row has a strong neighbour
      // Every aggregate is nonempty, and none is a singleton.
      auto counts = at::bincount(a1, {}, n1);
      EXPECT_TRUE((counts > 1).all().item<bool>());
    }
  }
}

TEST(Amg, Mis2CoarseningRatioNearGreedy) {
  // Phase 2 keeps the aggregates near the greedy ones (~5-6 rows on the 5-point stencil, ~9 on
  // its 9-point Galerkin operator), not the oversized ones of a single MIS-2 pass.
  AmgOptions o;
  o.aggregation = "mis2";
  auto H = AmgHierarchy::build(dsla::poisson2d(256), o);
  const auto& lv = H->stats().levels;
  ASSERT_GE(lv.size(), 3u);
  for (size_t l = 0; l + 2 < lv.size(); ++l) {
    const double ratio = double(lv[l].rows) / double(lv[l + 1].rows);
    std::printf("mis2 level %zu: %ld rows, ratio %.2f\n", l, long(lv[l].rows), ratio);
    EXPECT_GT(ratio, 3.5);
    EXPECT_LT(ratio, 11.0);
  }
}

TEST(Amg, GreedyAndMis2BothConverge) {
  auto A = dsla::poisson2d(96);
  for (const char* agg : {"greedy", "mis2"}) {
    AmgOptions o;
    o.aggregation = agg;
    double res = 0;
    const auto it = amg_pcg(A, o, &res);
    EXPECT_LE(it, 20) << agg;
    EXPECT_LE(res, 1e-6) << agg;
  }
}

TEST(Amg, Poisson2dPcgIterationsBoundedAndFlat) {
  std::vector<int64_t> its;
  for (int64_t n : {64, 128, 256, 512}) {
    double res = 0;
    its.push_back(amg_pcg(dsla::poisson2d(n), {}, &res));
    EXPECT_LE(res, 1e-6) << n;
    std::printf("poisson2d:%ld AMG-PCG %ld iterations, residual %.2e\n", long(n), long(its.back()),
                res);
  }
  for (auto it : its) EXPECT_LE(it, 20);
  EXPECT_LE(its.back() - its.front(), 3);  // not growing with the size (64x more rows)
}

TEST(Amg, Mis2PcgIterationsBoundedAndFlat) {
  // The GPU default: iterations as flat as greedy's (a single MIS-2 pass, and the lumped
  // filter on coarse levels, gave counts growing with the size).
  AmgOptions o;
  o.aggregation = "mis2";
  std::vector<int64_t> its;
  for (int64_t n : {64, 128, 256, 512}) {
    double res = 0;
    its.push_back(amg_pcg(dsla::poisson2d(n), o, &res));
    EXPECT_LE(res, 1e-6) << n;
    std::printf("poisson2d:%ld mis2 AMG-PCG %ld iterations\n", long(n), long(its.back()));
  }
  for (auto it : its) EXPECT_LE(it, 15);
  EXPECT_LE(its.back() - its.front(), 4);
}

TEST(Amg, Poisson3dPcgIterationsBoundedAndFlat) {
  std::vector<int64_t> its;
  for (int64_t n : {16, 32, 48}) {
    double res = 0;
    its.push_back(amg_pcg(dsla::poisson3d(n), {}, &res));
    EXPECT_LE(res, 1e-6) << n;
    std::printf("poisson3d:%ld AMG-PCG %ld iterations, residual %.2e\n", long(n), long(its.back()),
                res);
  }
  for (auto it : its) EXPECT_LE(it, 20);
  EXPECT_LE(its.back() - its.front(), 2);
}

TEST(Amg, StationaryVCycleFactor) {
  for (auto A : {dsla::poisson2d(128), dsla::poisson3d(24)}) {
    dsla::amg::AmgSolveInfo info;
    auto b = ones_rhs(A);
    auto x = dsla::amg::solve(A, b, {}, 1e-8, 100, "none", &info);
    EXPECT_TRUE(info.converged);
    EXPECT_LT(info.convergence_factor, 0.3);
    auto r =
        b -
        dsla::detail::spmm(*A.pattern(), A.values().view({1, -1}), x.view({1, -1, 1})).view({-1});
    EXPECT_LE(r.norm().item<double>() / b.norm().item<double>(), 1e-8);
    std::printf("stationary V-cycle: %ld rows, %ld cycles, factor %.3f\n", long(A.rows()),
                long(info.iterations), info.convergence_factor);
  }
}

TEST(Amg, AnisotropicFarFewerIterationsThanJacobi) {
  auto A = dsla::aniso2d(128);
  double r1 = 0, r2 = 0;
  const auto it_amg = amg_pcg(A, {}, &r1);
  const auto it_jac = jacobi_pcg(A, &r2);
  EXPECT_LE(r1, 1e-6);
  EXPECT_LE(it_amg, 20);
  EXPECT_LT(it_amg * 10, it_jac);
  std::printf("aniso2d:128 AMG-PCG %ld vs CG+Jacobi %ld iterations\n", long(it_amg), long(it_jac));
}

TEST(Amg, WCycleAndL1JacobiConverge) {
  auto A = dsla::poisson2d(64);
  AmgOptions w;
  w.cycle = "W";
  AmgOptions j;
  j.smoother = "l1_jacobi";
  double res = 0;
  EXPECT_LE(amg_pcg(A, w, &res), 20);
  EXPECT_LE(amg_pcg(A, j, &res), 30);
  EXPECT_LE(res, 1e-6);
}

// A with new values on the same pattern and the same strength graph (θ = 0 keeps every
// connection): update() must equal a fresh setup.
TEST(Amg, MixedPrecisionLevels) {
  // float32 levels inside a float64 CG: the cycle takes and returns float64, stays close to the
  // float64 cycle, and CG still reaches 1e-10 (the outer iteration corrects the inner rounding)
  // within two iterations of the float64 hierarchy; update() keeps the levels' dtype.
  for (const auto& A : {dsla::poisson2d(64), dsla::poisson3d(16)}) {
    AmgOptions o;
    auto H64 = AmgHierarchy::build(A, o);
    o.precond_dtype = at::kFloat;
    auto H32 = AmgHierarchy::build(A, o);
    EXPECT_EQ(H32->dtype(), at::kDouble);
    EXPECT_EQ(H32->level_dtype(), at::kFloat);
    EXPECT_EQ(H32->level_matrix(1).dtype(), at::kFloat);
    // A seeded draw: the float32 cycle's relative distance is 3e-6 to 1.02e-5 over 40 draws
    // (float32 rounding through the levels), so an unseeded bound of 1e-5 failed once in CI.
    at::manual_seed(7);
    auto r = at::randn({1, A.rows(), 2}, at::kDouble);
    auto z64 = H64->apply(r), z32 = H32->apply(r);
    EXPECT_EQ(z32.scalar_type(), at::kDouble);
    EXPECT_LT(((z32 - z64).norm() / z64.norm()).item<double>(), 3e-5);
    double res64 = 0, res32 = 0;
    auto b = ones_rhs(A);
    const auto it64 = pcg(
        A, b, [&](const at::Tensor& x) { return H64->apply(x); }, 1e-10, 500, &res64);
    const auto it32 = pcg(
        A, b, [&](const at::Tensor& x) { return H32->apply(x); }, 1e-10, 500, &res32);
    EXPECT_LE(res32, 1e-10);
    EXPECT_LE(it32, it64 + 2) << it64;
    // cycle() from a nonzero guess writes the caller's float64 x.
    auto x = at::zeros({1, A.rows(), 1}, at::kDouble);
    H32->cycle(b.view({1, -1, 1}), x, false);
    EXPECT_EQ(x.scalar_type(), at::kDouble);
    EXPECT_GT(x.abs().max().item<double>(), 0);
    H32->update(A.with_values(A.values() * 2));
    EXPECT_LT(((H32->apply(r) - z32 / 2).norm() / (z32 / 2).norm()).item<double>(), 1e-5);
    EXPECT_EQ(H32->level_matrix(1).dtype(), at::kFloat);
  }
  AmgOptions bad;
  bad.precond_dtype = at::kInt;
  EXPECT_THROW(AmgHierarchy::build(dsla::poisson2d(8), bad), c10::TypeError);
}

TEST(Amg, BlockSizeAggregatesNodes) {
  // kron(poisson2d, K) with 2 x 2 K: node aggregation keeps each node's unknowns together, the
  // default near-nullspace is one constant per component, the coarse levels are blocks of m = 2,
  // and PCG needs fewer iterations than scalar aggregation (the components differ in scale);
  // update() keeps the structure.
  const int64_t n = 48, N = n * n;
  auto L = dsla::poisson2d(n);
  auto row = L.row_indices().to(at::kLong), col = L.col_indices().to(at::kLong);
  std::vector<at::Tensor> rs, cs, vs;
  const double K[2][2] = {{4.0, 1.0}, {1.0, 1.0}};
  for (int p = 0; p < 2; ++p) {
    for (int q = 0; q < 2; ++q) {
      rs.push_back(row * 2 + p);
      cs.push_back(col * 2 + q);
      vs.push_back(L.values() * K[p][q]);
    }
  }
  auto A = SparseMatrix::from_coo(at::cat(rs), at::cat(cs), at::cat(vs), {2 * N, 2 * N});
  AmgOptions o;
  o.block_size = 2;
  auto H = AmgHierarchy::build(A, o);
  EXPECT_EQ(H->stats().near_nullspace_dim, 2);
  auto agg = H->aggregates(0).view({N, 2});
  EXPECT_TRUE(at::equal(agg.select(1, 0), agg.select(1, 1)));
  EXPECT_TRUE(at::equal(H->near_nullspace(0), at::eye(2, at::kDouble).repeat({N, 1})));
  ASSERT_GT(H->num_levels(), 2);
  auto agg1 = H->aggregates(1).view({-1, 2});  // coarse level: blocks of the m = 2 unknowns
  EXPECT_TRUE(at::equal(agg1.select(1, 0), agg1.select(1, 1)));
  double res_b = 0, res_s = 0;
  const auto it_b = amg_pcg(A, o, &res_b);
  const auto it_s = amg_pcg(A, AmgOptions{}, &res_s);
  EXPECT_LE(res_b, 1e-6);
  EXPECT_LT(it_b, it_s);
  EXPECT_LE(it_b, 15) << it_s;
  H->update(A.with_values(A.values() * 3));
  EXPECT_EQ(H->aggregates(0).numel(), 2 * N);
  // Rows that are not whole blocks, and a block size below 1, are refused by name.
  AmgOptions bad;
  bad.block_size = 2;
  EXPECT_THROW(AmgHierarchy::build(dsla::poisson2d(5), bad), c10::ValueError);
  bad.block_size = 0;
  EXPECT_THROW(AmgHierarchy::build(A, bad), c10::ValueError);
}

TEST(Amg, NumericUpdateEqualsFreshSetup) {
  auto A = dsla::poisson2d(200);
  AmgOptions o;
  o.strength_threshold = 0;
  auto H = AmgHierarchy::build(A, o);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  // Scale rows and columns symmetrically by a positive diagonal: SPD, same pattern.
  auto s = at::rand({A.rows()}, gen, at::kDouble) + 0.5;
  auto row = A.pattern()->row().to(at::kLong), col = A.pattern()->col().to(at::kLong);
  auto A2 = A.with_values(A.values() * s.index_select(0, row) * s.index_select(0, col));
  auto t0 = std::chrono::steady_clock::now();
  auto fresh = AmgHierarchy::build(A2, o);
  const double t_fresh =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t0 = std::chrono::steady_clock::now();
  H->update(A2);
  const double t_upd = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(H->num_levels(), fresh->num_levels());
  for (int64_t l = 0; l < H->num_levels(); ++l) {
    auto a = H->level_matrix(l), b = fresh->level_matrix(l);
    ASSERT_TRUE(at::equal(a.pattern()->crow(), b.pattern()->crow()) &&
                at::equal(a.pattern()->col(), b.pattern()->col()))
        << "level " << l;
    EXPECT_TRUE(at::allclose(a.values(), b.values(), 1e-12, 1e-12)) << "level " << l;
  }
  auto r = at::rand({1, A.rows(), 2}, gen, at::kDouble);
  EXPECT_TRUE(at::allclose(H->apply(r), fresh->apply(r), 1e-10, 1e-12));
  EXPECT_TRUE(H->stats().numeric_only);
  std::printf("poisson2d:200 fresh setup %.4f s, numeric update %.4f s\n", t_fresh, t_upd);
}

TEST(Amg, BatchedValuesShareAggregates) {
  auto A = dsla::poisson2d(50);
  auto v = A.values();
  auto d = (A.pattern()->row() == A.pattern()->col()).to(at::kDouble);
  auto Ab = A.with_values(at::stack({v, 2.0 * v + d}));  // two SPD members
  AmgOptions o;
  o.strength_threshold = 0;  // same aggregates for both members
  auto H = AmgHierarchy::build(Ab, o);
  EXPECT_EQ(H->batch_size(), 2);
  auto r = at::rand({2, A.rows(), 1}, at::kDouble);
  auto z = H->apply(r);
  for (int64_t b = 0; b < 2; ++b) {
    auto Hb = AmgHierarchy::build(A.with_values(Ab.values()[b]), o);
    EXPECT_TRUE(at::allclose(z[b], Hb->apply(r.narrow(0, b, 1))[0], 1e-10, 1e-12)) << b;
  }
  dsla::amg::AmgSolveInfo info;
  auto x = dsla::amg::solve(Ab, at::ones({2, A.rows()}, at::kDouble), o, 1e-8, 100, "cg", &info);
  EXPECT_TRUE(info.converged);
  EXPECT_EQ(x.sizes(), (at::IntArrayRef{2, A.rows()}));
}

TEST(Amg, NearNullspaceBlocks) {
  // Two decoupled Poisson problems interleaved (a 2-component vector PDE) with the two
  // component-wise constants as near-nullspace.
  const int64_t m = 32, n = m * m;
  auto P = dsla::poisson2d(m);
  auto row = P.pattern()->row().to(at::kLong), col = P.pattern()->col().to(at::kLong);
  auto r2 = at::cat({2 * row, 2 * row + 1}), c2 = at::cat({2 * col, 2 * col + 1});
  auto A = SparseMatrix::from_coo(r2, c2, at::cat({P.values(), P.values()}), {2 * n, 2 * n});
  auto B = at::zeros({2 * n, 2}, at::kDouble);
  B.index_put_({at::arange(0, 2 * n, 2), 0}, 1.0);
  B.index_put_({at::arange(1, 2 * n, 2), 1}, 1.0);
  AmgOptions o;
  o.near_nullspace = B;
  auto H = AmgHierarchy::build(A, o);
  EXPECT_EQ(H->stats().near_nullspace_dim, 2);
  auto T = H->tentative_prolongator(0).to_dense();
  auto in = H->aggregates(0) >= 0;
  EXPECT_LT((T.mm(H->near_nullspace(1)) - B).index({in}).abs().max().item<double>(), 1e-12);
  double res = 0;
  EXPECT_LE(amg_pcg(A, o, &res), 20);
  EXPECT_LE(res, 1e-6);
  // A random 3-vector near-nullspace: the QR reproduces it exactly on aggregated rows.
  o.near_nullspace = at::rand({2 * n, 3}, at::kDouble);
  auto H3 = AmgHierarchy::build(A, o);
  auto T3 = H3->tentative_prolongator(0).to_dense();
  auto in3 = H3->aggregates(0) >= 0;
  EXPECT_LT(
      (T3.mm(H3->near_nullspace(1)) - o.near_nullspace).index({in3}).abs().max().item<double>(),
      1e-10);
}

TEST(Amg, PreconditionerContract) {
  auto A = dsla::poisson2d(32);
  auto M = dsla::amg::make_amg_preconditioner(A);
  EXPECT_TRUE(M->is_symmetric());
  EXPECT_EQ(M->name(), "amg");
  EXPECT_EQ(M->adjoint().get(), M.get());  // the adjoint solve reuses the hierarchy
  auto x = at::rand({1, A.rows(), 1}, at::kDouble), y = at::empty_like(x);
  M->apply(x, y);
  // Symmetric: <M x, w> == <x, M w>.
  auto w = at::rand({1, A.rows(), 1}, at::kDouble), mw = at::empty_like(w);
  M->apply(w, mw);
  EXPECT_NEAR((y * w).sum().item<double>(), (x * mw).sum().item<double>(), 1e-10);
  // Nonsymmetric: AMG of Aᴴ as the adjoint.
  auto C = dsla::convdiff2d(32, 10.0);
  auto Mc = dsla::amg::make_amg_preconditioner(C);
  EXPECT_FALSE(Mc->is_symmetric());
  auto Ma = Mc->adjoint();
  EXPECT_NE(Ma.get(), Mc.get());
  auto z = at::empty_like(x);
  Ma->apply(x, z);
  EXPECT_TRUE(at::isfinite(z).all().item<bool>());
}

// Nonsymmetric A: l1-Jacobi smoothing (auto), PᵀAP, as a GMRES preconditioner.
TEST(Amg, NonsymmetricWithGmres) {
  auto C = dsla::convdiff2d(64, 10.0);
  dsla::SolveOptions so;
  so.method = dsla::Method::GMRES;
  so.rtol = 1e-6;
  so.M = dsla::amg::make_amg_preconditioner(C);
  dsla::SolveInfo with, without;
  dsla::solve(C, ones_rhs(C), so, &with);
  so.M = nullptr;
  so.precond = "jacobi";
  so.warn = false;
  dsla::solve(C, ones_rhs(C), so, &without);
  EXPECT_TRUE(with.converged);
  EXPECT_LE(with.iterations, 60);
  EXPECT_LT(with.iterations * 3, without.iterations);
  std::printf("convdiff2d:64:10 GMRES+AMG %ld it, GMRES+Jacobi %ld it\n", long(with.iterations),
              long(without.iterations));
}

TEST(Amg, RealMatrices) {
  const std::string dir = DSLA_DATA_DIR;
  if (!std::filesystem::exists(dir + "/gr_30_30.mtx")) GTEST_SKIP() << "no data in " << dir;
  auto G = dsla::read_mtx(dir + "/gr_30_30.mtx");
  double res = 0;
  const auto it = amg_pcg(G, {}, &res);
  EXPECT_LE(it, 20);
  EXPECT_LE(res, 1e-6);
  std::printf("gr_30_30 AMG-PCG %ld iterations\n", long(it));
  for (const char* name : {"bcsstk08", "bcsstk09", "bcsstk13", "bcsstk16"}) {
    const auto path = dir + "/" + name + ".mtx";
    if (!std::filesystem::exists(path)) continue;
    auto M = dsla::read_mtx(path);
    double r1 = 0, r2 = 0;
    const auto ia = amg_pcg(M, {}, &r1);
    const auto ij = jacobi_pcg(M, &r2);
    std::printf("%s: AMG-PCG %ld it (res %.1e), CG+Jacobi %ld it (res %.1e)\n", name, long(ia), r1,
                long(ij), r2);
    EXPECT_TRUE(std::isfinite(r1));
  }
}

TEST(Amg, BadInput) {
  auto A = dsla::poisson2d(8);
  auto expect_value_error = [](auto&& f) { EXPECT_THROW(f(), c10::ValueError); };
  expect_value_error([&] {
    AmgOptions o;
    o.aggregation = "bogus";
    AmgHierarchy::build(A, o);
  });
  expect_value_error([&] {
    AmgOptions o;
    o.strength_threshold = -1;
    AmgHierarchy::build(A, o);
  });
  expect_value_error([&] {
    AmgOptions o;
    o.near_nullspace = at::ones({3, 1}, at::kDouble);
    AmgHierarchy::build(A, o);
  });
  // Non-square.
  auto R = SparseMatrix::from_coo(at::tensor({0, 1}, at::kLong), at::tensor({0, 2}, at::kLong),
                                  at::ones({2}, at::kDouble), {2, 3});
  expect_value_error([&] { AmgHierarchy::build(R, {}); });
  // Missing diagonal (row 1).
  auto D = SparseMatrix::from_coo(at::tensor({0, 1}, at::kLong), at::tensor({0, 0}, at::kLong),
                                  at::ones({2}, at::kDouble), {2, 2});
  try {
    AmgHierarchy::build(D, {});
    FAIL() << "expected an error";
  } catch (const c10::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("row 1"), std::string::npos) << e.what();
  }
  // Update with another pattern.
  auto H = AmgHierarchy::build(A, {});
  expect_value_error([&] { H->update(dsla::poisson2d(9)); });
  expect_value_error([&] { dsla::amg::solve(A, ones_rhs(A), {}, -1.0); });
}

}  // namespace
