// The solver presets of include/dsla/solve.h: one table, read by the Python package
// (dsla.presets, dsla.config) and the CLI (dsla solve --preset).
#include <dsla/errors.h>
#include <dsla/solve.h>

#include <sstream>

namespace dsla {

// Why these (bench/presets_bench.py, bench/results/presets-cpu-20261203-144915.json: CPU, one
// thread, rtol 1e-8, maxiter 5000; iterations / total seconds):
// - spd: CG + AMG had the fewest iterations on all 7 SPD problems (poisson2d:256 9 vs IC(0)
//   176, Jacobi 470; aniso2d:256:1e-3 7 vs 46, 1523) and is mesh-independent (bench/README:
//   5-557x fewer iterations than CG + Jacobi on every SPD matrix of shared/data); at 65k rows
//   its setup makes it up to 2x slower than IC(0) or Jacobi on the easiest problems, a cost
//   that shrinks with n. The same on CUDA, where AMG's setup and cycle run on the device
//   (bench/README: poisson2d:4096 in 0.28 s on an H100).
// - general: BiCGStab + ILU(0) converged on all 7 nonsymmetric matrices and was the fastest on
//   6 (young1c 146 iterations / 0.041 s vs GMRES(30) 999 / 0.58 s, GMRES(50) 320 / 0.28 s;
//   watt_2 is the exception, 0.021 s vs GMRES 0.004 s). On CUDA its fixed work per iteration
//   (two products, two triangular-solve pairs, four reductions) suits the device better than
//   GMRES's growing orthogonalization; Jacobi needed 5-30x more iterations.
// - indefinite: MINRES + "auto" (Jacobi where the diagonal is positive, else none: MINRES needs
//   a positive definite preconditioner) converged on all 5 (shifted Laplacians, sherman1,
//   bcsstk13 shifted into its spectrum, a Stokes-like saddle point); BiCGStab + ILU(0) failed
//   on 2 of them and GMRES(50) + ILU(0) on 4 (no convergence in 5000 iterations, or no
//   diagonal to factor), and plain Jacobi stops MINRES on a negative diagonal entry. Direct: LU,
//   not LDLᵀ: CHOLMOD's LDLᵀ does not pivot and stopped at the zero diagonal of the saddle point;
//   LU solved it.
// - convection: GMRES(50) + ILU(0): 4-10 iterations on convdiff2d:256 at Péclet 100 to 10^4
//   (BiCGStab + ILU(0) 2-7, slightly faster), but BiCGStab broke down or stagnated at Péclet
//   1000 and 10^4 with a weaker preconditioner where GMRES did not: the robust choice for
//   strongly nonsymmetric spectra, at most 2x slower here. Direct: LU.
// The gpu presets were chosen from these CPU iteration counts and the device costs above; they
// have not been timed on a GPU.
const std::vector<SolvePreset>& solve_presets() {
  static const std::vector<SolvePreset> table = {
      {"spd-cpu", "SPD: CG + smoothed-aggregation AMG", Method::CG, "amg", 30, "auto"},
      {"spd-gpu", "SPD on CUDA: CG + AMG (setup and cycle on the device)", Method::CG, "amg", 30,
       "auto"},
      {"spd-direct", "SPD: sparse Cholesky (CHOLMOD / cuDSS)", Method::Cholesky, "auto", 30,
       "auto"},
      {"general-cpu", "nonsymmetric: BiCGStab + ILU(0)", Method::BiCGStab, "ilu0", 30, "auto"},
      {"general-gpu", "nonsymmetric on CUDA: BiCGStab + ILU(0) (cuSPARSE)", Method::BiCGStab,
       "ilu0", 30, "auto"},
      {"general-direct", "nonsymmetric: sparse LU (UMFPACK / cuDSS)", Method::LU, "auto", 30,
       "auto"},
      {"indefinite-cpu", "symmetric indefinite: MINRES + Jacobi where the diagonal is positive",
       Method::MINRES, "auto", 30, "auto"},
      {"indefinite-gpu", "symmetric indefinite on CUDA: MINRES + Jacobi where positive",
       Method::MINRES, "auto", 30, "auto"},
      {"indefinite-direct", "symmetric indefinite: sparse LU (pivots through saddle points)",
       Method::LU, "auto", 30, "auto"},
      {"convection-cpu", "convection-dominated: GMRES(50) + ILU(0)", Method::GMRES, "ilu0", 50,
       "auto"},
      {"convection-gpu", "convection-dominated on CUDA: GMRES(50) + ILU(0) (cuSPARSE)",
       Method::GMRES, "ilu0", 50, "auto"},
      {"convection-direct", "convection-dominated: sparse LU (UMFPACK / cuDSS)", Method::LU, "auto",
       30, "auto"},
  };
  return table;
}

const SolvePreset& solve_preset(const std::string& name, const char* arg) {
  for (const auto& p : solve_presets())
    if (p.name == name) return p;
  std::ostringstream names;
  for (const auto& p : solve_presets()) names << (names.tellp() > 0 ? ", " : "") << p.name;
  DSLA_CHECK_ARG(false, arg, "unknown preset '", name, "'; use one of ", names.str());
  return solve_presets().front();  // not reached
}

SolveOptions with_preset(SolveOptions opt, const SolvePreset& preset) {
  opt.method = preset.method;
  opt.precond = preset.precond;
  opt.restart = preset.restart;
  opt.ordering = preset.ordering;
  return opt;
}

}  // namespace dsla
