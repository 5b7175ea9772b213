// Distributed AMG (dist::DistAmg) on P threads as P ranks: the replicated hierarchy alone equals
// the one-process hierarchy of the gathered matrix; every distributed level's restriction is the
// adjoint of its prolongation and its next level is the Galerkin product (checked through the
// operators, independently of the sparse products that built it); AMG-PCG iterations within the
// one-process count + 3 on poisson2d / poisson3d / aniso2d for P = 2, 3, 4 (contiguous, random
// and empty-rank partitions); one rank equals one process; a numeric update keeps the Galerkin
// property and is reversible; errors raise on every rank.
#include <dsla/amg.h>
#include <dsla/dist.h>
#include <dsla/generators.h>
#include <dsla/linear_operator.h>
#include <dsla/solve.h>

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include "dist_harness.h"

namespace {

using dsla::SparseMatrix;
using dsla::amg::AmgOptions;
using dsla::dist::Comm;
using dsla::dist::DistAmg;
using dsla::dist::DistMatrix;
using dsla_test::from_global;
using dsla_test::run_ranks;

at::Tensor contiguous_parts(int64_t n, int P) {
  return at::div(at::arange(n, at::kLong) * P, n, "floor");
}
at::Tensor random_parts(int64_t n, int P, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(P, {n}, g, at::TensorOptions().dtype(at::kLong));
}
// Rank 1 owns nothing.
at::Tensor parts_with_empty_rank(int64_t n) {
  auto p = contiguous_parts(n, 2);
  return p * 2;  // parts 0 and 2 of 3
}

double global_dot(const Comm& c, const at::Tensor& a, const at::Tensor& b) {
  auto s = (a * b).sum().to(at::kDouble).view({1});
  c.allreduce_sum_(s);
  return s.item<double>();
}

// Every distributed level: ⟨Pᵀ r, xc⟩ = ⟨r, P xc⟩ and A_{l+1} xc = Pᵀ A_l P xc (through the
// operators only: independent of the sparse products that built A_{l+1}).
void expect_galerkin(const Comm& c, const DistAmg& H) {
  const DistAmg* h = &H;
  at::manual_seed(c.rank() + 11);
  for (int64_t l = 0; l < h->num_distributed_levels(); ++l) {
    auto Af = h->level_matrix(l), Ac = h->level_matrix(l + 1);
    auto xc = at::randn({1, Ac.n_owned(), 2}, at::kDouble);
    auto rf = at::randn({1, Af.n_owned(), 2}, at::kDouble);
    auto Pxc = h->prolong(l, xc);
    auto Rr = h->restrict_to_coarse(l, rf);
    const double lhs = global_dot(c, Rr, xc), rhs = global_dot(c, rf, Pxc);
    EXPECT_NEAR(lhs, rhs, 1e-10 * std::abs(rhs) + 1e-12);
    // A_c xc = Pᵀ A P xc
    auto y = at::empty_like(Pxc);
    Af.apply(Pxc, y);
    auto galerkin = h->restrict_to_coarse(l, y);
    auto direct = at::empty_like(xc);
    Ac.apply(xc, direct);
    const double err = std::sqrt(global_dot(c, galerkin - direct, galerkin - direct));
    const double ref = std::sqrt(global_dot(c, direct, direct));
    EXPECT_LT(err, 1e-11 * ref);
  }
}

TEST(DistAmg, GatheredAloneEqualsTheOneProcessHierarchy) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto G = dsla::poisson2d(20);
  const int64_t N = G.rows();
  auto r = at::randn({1, N, 2}, at::kDouble);
  AmgOptions o;
  o.symmetric = "yes";
  auto ref = dsla::amg::AmgHierarchy::build(G, o)->apply(r);
  for (int P : {2, 3}) {
    auto parts = random_parts(N, P, 7 + P);
    run_ranks(P, [&](const Comm& c) {
      auto A = from_global(c, G, parts);
      auto h = DistAmg::build(A, o);  // N = 400 <= gather_size: all replicated
      EXPECT_EQ(h->num_distributed_levels(), 0);
      auto z = h->apply(r.index_select(1, A.owned()));
      EXPECT_TRUE(at::allclose(z, ref.index_select(1, A.owned()), 1e-12, 1e-12));
    });
  }
}

TEST(DistAmg, OneRankEqualsTheOneProcessHierarchy) {
  DSLA_SKIP_WITHOUT_GLOO();
  // One rank owns every row in order: the same aggregates, prolongators, spectral estimates and
  // Galerkin products as one process, through the distributed code (levels distributed down to
  // coarse_size, then the gathered coarsest level; aniso2d: the filtered smoothing operator).
  for (const auto& G : {dsla::poisson2d(32), dsla::poisson3d(10), dsla::aniso2d(32)}) {
    const int64_t N = G.rows();
    AmgOptions o;
    o.symmetric = "yes";
    o.coarse_size = 60;
    auto H = dsla::amg::AmgHierarchy::build(G, o);
    auto r = at::randn({1, N, 1}, at::kDouble);
    auto ref = H->apply(r);
    // Gathered at the coarsest level, or higher up (the replicated part goes on coarsening with
    // the levels' strength thresholds).
    for (int64_t gather : {int64_t(60), int64_t(400)}) {
      o.gather_size = gather;
      run_ranks(1, [&](const Comm& c) {
        auto A = from_global(c, G, at::zeros({N}, at::kLong));
        auto h = DistAmg::build(A, o);
        EXPECT_EQ(h->num_levels(), H->num_levels());
        EXPECT_GE(h->num_distributed_levels(), 1);
        for (int64_t l = 0; l < h->num_levels(); ++l)
          EXPECT_EQ(h->stats().levels[l].nnz, H->stats().levels[l].nnz);
        EXPECT_TRUE(at::allclose(h->apply(r), ref, 1e-9, 1e-12))
            << (h->apply(r) - ref).abs().max().item<double>();
      });
    }
  }
}

TEST(DistAmg, TransfersAreAdjointAndTheCoarseLevelIsGalerkin) {
  DSLA_SKIP_WITHOUT_GLOO();
  for (const auto& G : {dsla::poisson2d(24), dsla::poisson3d(8), dsla::aniso2d(24)}) {
    const int64_t N = G.rows();
    for (int P : {2, 3, 4}) {
      SCOPED_TRACE("N=" + std::to_string(N) + " P=" + std::to_string(P));
      auto parts = P == 3 ? random_parts(N, P, 3) : contiguous_parts(N, P);
      run_ranks(P, [&](const Comm& c) {
        auto A = from_global(c, G, parts);
        AmgOptions o;
        o.gather_size = 20;
        auto h = DistAmg::build(A, o);
        ASSERT_GE(h->num_distributed_levels(), 1);
        expect_galerkin(c, *h);
        // The hierarchy's global sizes shrink, the same on every rank.
        const auto& s = h->stats();
        for (size_t l = 1; l < s.levels.size(); ++l)
          EXPECT_LT(s.levels[l].rows, s.levels[l - 1].rows);
      });
    }
  }
}

// CG + AMG iterations: distributed (distributed levels forced by a small gather_size) against
// one process.
void expect_pcg(const SparseMatrix& G, const at::Tensor& parts, int P, int64_t gather_size) {
  const int64_t N = G.rows();
  auto b = at::ones({N}, at::kDouble);
  dsla::SolveOptions so;
  so.method = dsla::Method::CG;
  so.precond = "amg";
  so.rtol = 1e-8;
  dsla::SolveInfo ref;
  auto x_ref = dsla::solve(G, b, so, &ref);
  ASSERT_TRUE(ref.converged);
  std::vector<int64_t> its(P);
  run_ranks(P, [&](const Comm& c) {
    auto A = from_global(c, G, parts);
    AmgOptions o;
    o.gather_size = gather_size;
    auto h = DistAmg::build(A, o);
    EXPECT_GE(h->num_distributed_levels(), 1);
    dsla::SolveOptions d = so;
    d.precond = "none";
    d.M = h->as_operator();
    dsla::SolveInfo info;
    auto x = dsla::dist::solve(A, b.index_select(0, A.owned()), d, &info);
    EXPECT_TRUE(info.converged) << info.message;
    EXPECT_EQ(info.preconditioner, "amg");
    its[c.rank()] = info.iterations;
    EXPECT_TRUE(at::allclose(x, x_ref.index_select(0, A.owned()), 1e-6, 1e-6));
  });
  for (int r = 1; r < P; ++r) EXPECT_EQ(its[r], its[0]);
  EXPECT_LE(its[0], ref.iterations + 3) << "one process: " << ref.iterations;
}

TEST(DistAmg, PcgIterationsWithinThreeOfOneProcess) {
  DSLA_SKIP_WITHOUT_GLOO();
  for (const auto& [name, G] :
       std::vector<std::pair<std::string, SparseMatrix>>{{"poisson2d:64", dsla::poisson2d(64)},
                                                         {"poisson3d:16", dsla::poisson3d(16)},
                                                         {"aniso2d:64", dsla::aniso2d(64)}}) {
    const int64_t N = G.rows();
    for (int P : {2, 3, 4}) {
      SCOPED_TRACE(name + " P=" + std::to_string(P));
      // Decoupled aggregation assumes subdomains (here: row blocks); a random partition makes
      // every row a boundary row and is a correctness case only (TransfersAreAdjoint...).
      expect_pcg(G, contiguous_parts(N, P), P, 100);
    }
  }
}

TEST(DistAmg, NonsymmetricWithGmres) {
  DSLA_SKIP_WITHOUT_GLOO();
  // Convection–diffusion: l1-Jacobi smoothing on the distributed levels ("auto" for a
  // nonsymmetric A), GMRES; the one-process GMRES + AMG coarsened as far as the reference.
  auto G = dsla::convdiff2d(48, 20.0);
  const int64_t N = G.rows();
  auto b = at::ones({N}, at::kDouble);
  AmgOptions o;
  o.coarse_size = 100;
  dsla::SolveOptions so;
  so.method = dsla::Method::GMRES;
  so.rtol = 1e-8;
  auto H = dsla::amg::AmgHierarchy::build(G, o);
  so.M = dsla::make_operator(N, N, at::kDouble, at::kCPU,
                             [H](const at::Tensor& x, at::Tensor& y) { y.copy_(H->apply(x)); });
  dsla::SolveInfo ref;
  dsla::solve(G, b, so, &ref);
  ASSERT_TRUE(ref.converged);
  for (int P : {2, 3}) {
    run_ranks(P, [&](const Comm& c) {
      auto A = from_global(c, G, contiguous_parts(N, P));
      AmgOptions d = o;
      d.gather_size = 100;
      auto h = DistAmg::build(A, d);
      EXPECT_FALSE(h->is_symmetric());
      EXPECT_GE(h->num_distributed_levels(), 1);
      dsla::SolveOptions ds = so;
      ds.M = h->as_operator();
      dsla::SolveInfo info;
      auto x = dsla::dist::solve(A, b.index_select(0, A.owned()), ds, &info);
      EXPECT_TRUE(info.converged) << info.message;
      EXPECT_LE(info.iterations, ref.iterations + 3) << "one process: " << ref.iterations;
      auto r = at::empty({1, A.n_owned(), 1}, at::kDouble);
      A.apply(x.view({1, -1, 1}).contiguous(), r);
      EXPECT_LT((r.view(-1) - 1.0).norm().item<double>(), 1e-7 * std::sqrt(double(N)));
    });
  }
}

TEST(DistAmg, EmptyRankAndThePreconditionerKind) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto G = dsla::poisson2d(32);
  const int64_t N = G.rows();
  expect_pcg(G, parts_with_empty_rank(N), 3, 50);
  // precond="amg" builds the hierarchy inside the solver (default options: gathered here).
  run_ranks(2, [&](const Comm& c) {
    auto A = from_global(c, G, contiguous_parts(N, 2));
    dsla::SolveOptions so;
    so.method = dsla::Method::CG;
    so.precond = "amg";
    dsla::dist::DistSolver S(A, so);
    EXPECT_EQ(S.preconditioner(), "amg");
    dsla::SolveInfo info;
    auto b3 = at::ones({1, A.n_owned(), 1}, at::kDouble);
    S.solve3(b3, false, &info);
    EXPECT_TRUE(info.converged);
    EXPECT_LT(info.iterations, 20);
    // refactor: new values, the hierarchy updated (iterations as before).
    S.refactor(A.values() * 3.0);
    dsla::SolveInfo info2;
    auto x = S.solve3(b3, false, &info2);
    EXPECT_EQ(info2.iterations, info.iterations);
  });
}

TEST(DistAmg, UpdateIsGalerkinAndReversible) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto G = dsla::poisson2d(24);
  const int64_t N = G.rows();
  auto parts = random_parts(N, 3, 9);
  at::manual_seed(0);
  auto shift_seed = at::rand({1});
  run_ranks(3, [&](const Comm& c) {
    auto A = from_global(c, G, parts);
    AmgOptions o;
    o.gather_size = 30;
    auto h = DistAmg::build(A, o);
    ASSERT_GE(h->num_distributed_levels(), 2);
    // New values on the same pattern: a different SPD operator (a random positive diagonal
    // shift, so smoother bounds, prolongator and Galerkin values all change).
    auto row = G.row_indices().to(at::kLong), col = G.col_indices().to(at::kLong);
    auto shift = (at::arange(N, at::kDouble) * 0.37 + shift_seed.item<double>()).sin().abs() * 0.5;
    auto G2 = G.with_values(G.values() + (row == col).to(at::kDouble) * shift.index_select(0, row));
    auto A2 = from_global(c, G2, parts);
    auto r = at::randn({1, A.n_owned(), 1}, at::kDouble);
    auto z = h->apply(r);
    // The update keeps the aggregates (a fresh build would aggregate the new values afresh):
    // its levels are the Galerkin products of the new values, and going back restores the
    // original hierarchy exactly.
    h->update(A2);
    EXPECT_TRUE(h->stats().numeric_only);
    expect_galerkin(c, *h);
    auto z2 = h->apply(r);
    EXPECT_GT((z2 - z).abs().max().item<double>(), 1e-6);
    h->update(A);
    EXPECT_TRUE(at::allclose(h->apply(r), z, 1e-12, 1e-14));
  });
}

TEST(DistAmg, BatchedAndFloat32Values) {
  DSLA_SKIP_WITHOUT_GLOO();
  // Two members sharing the pattern (aggregates from member 0, as one process): member 1 = 2 x
  // member 0, so its cycle is half of member 0's; and member 0 alone gives member 0's cycle.
  auto G = dsla::poisson2d(24);
  const int64_t N = G.rows();
  auto parts = contiguous_parts(N, 2);
  run_ranks(2, [&](const Comm& c) {
    auto A1 = from_global(c, G, parts);
    auto v = A1.values();
    auto A2 = A1.with_values(at::stack({v, v * 2.0}));
    AmgOptions o;
    o.gather_size = 60;
    auto h1 = DistAmg::build(A1, o);
    auto h2 = DistAmg::build(A2, o);
    ASSERT_GE(h2->num_distributed_levels(), 1);
    auto r = at::randn({1, A1.n_owned(), 2}, at::kDouble);
    auto z1 = h1->apply(r);
    auto z2 = h2->apply(r);
    ASSERT_EQ(z2.size(0), 2);
    EXPECT_TRUE(at::allclose(z2[0], z1[0], 1e-10, 1e-13));
    EXPECT_TRUE(at::allclose(z2[1], z1[0] / 2, 1e-10, 1e-13));
  });
  // float32 values: a float32 hierarchy, CG to float32's reach.
  auto Gf = G.to(at::kFloat);
  run_ranks(2, [&](const Comm& c) {
    auto A = from_global(c, Gf, parts);
    AmgOptions o;
    o.gather_size = 60;
    auto h = DistAmg::build(A, o);
    dsla::SolveOptions so;
    so.method = dsla::Method::CG;
    so.rtol = 1e-5;
    so.M = h->as_operator();
    dsla::SolveInfo info;
    auto x = dsla::dist::solve(A, at::ones({A.n_owned()}, at::kFloat), so, &info);
    EXPECT_EQ(x.scalar_type(), at::kFloat);
    EXPECT_TRUE(info.converged) << info.message;
    EXPECT_LT(info.iterations, 20);
  });
}

TEST(DistAmg, ErrorsRaiseOnEveryRank) {
  DSLA_SKIP_WITHOUT_GLOO();
  auto G = dsla::poisson2d(16);
  const int64_t N = G.rows();
  auto msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, G, contiguous_parts(N, 2));
    AmgOptions o;
    o.gather_size = 10;
    o.smoother = "mc_sgs";
    DistAmg::build(A, o);
  });
  for (const auto& m : msg)
    EXPECT_NE(m.find("distributed levels smooth with"), std::string::npos) << m;
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, G, contiguous_parts(N, 2));
    AmgOptions o;
    // A wrong shape on rank 1 only: every rank raises.
    o.near_nullspace = at::ones({A.n_owned() + c.rank(), 1}, at::kDouble);
    DistAmg::build(A, o);
  });
  for (const auto& m : msg) EXPECT_NE(m.find("near_nullspace"), std::string::npos) << m;
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, G, contiguous_parts(N, 2));
    AmgOptions o;
    o.block_size = 2;  // node aggregation is one process's for now
    DistAmg::build(A, o);
  });
  for (const auto& m : msg) EXPECT_NE(m.find("block_size"), std::string::npos) << m;
  msg = dsla_test::run_ranks_errors(2, [&](const Comm& c) {
    auto A = from_global(c, G, contiguous_parts(N, 2));
    auto h = DistAmg::build(A);
    h->apply(at::ones({1, A.n_owned() + c.rank(), 1}, at::kDouble));
  });
  for (const auto& m : msg) EXPECT_NE(m.find("argument 'b'"), std::string::npos) << m;
}

}  // namespace
