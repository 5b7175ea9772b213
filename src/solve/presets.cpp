// The solver presets of include/dsla/solve.h: one table, read by the Python package
// (dsla.presets, dsla.config) and the CLI (dsla solve --preset).
#include <dsla/errors.h>
#include <dsla/solve.h>

#include <sstream>

namespace dsla {

const std::vector<SolvePreset>& solve_presets() {
  // name, description, method, precond, restart, ordering. PROVISIONAL: measured below.
  static const std::vector<SolvePreset> table = {
      {"spd-cpu", "SPD: CG + smoothed-aggregation AMG", Method::CG, "amg", 30, "auto"},
      {"spd-gpu", "SPD on CUDA: CG + AMG (device setup and cycle)", Method::CG, "amg", 30, "auto"},
      {"spd-direct", "SPD: sparse Cholesky (CHOLMOD / cuDSS)", Method::Cholesky, "auto", 30,
       "auto"},
      {"general-cpu", "nonsymmetric: GMRES(50) + ILU(0)", Method::GMRES, "ilu0", 50, "auto"},
      {"general-gpu", "nonsymmetric on CUDA: BiCGStab + ILU(0) (cuSPARSE)", Method::BiCGStab,
       "ilu0", 30, "auto"},
      {"general-direct", "nonsymmetric: sparse LU (UMFPACK / cuDSS)", Method::LU, "auto", 30,
       "auto"},
      {"indefinite-cpu", "symmetric indefinite: MINRES + Jacobi", Method::MINRES, "jacobi", 30,
       "auto"},
      {"indefinite-gpu", "symmetric indefinite on CUDA: MINRES + Jacobi", Method::MINRES, "jacobi",
       30, "auto"},
      {"indefinite-direct", "symmetric indefinite: sparse LDLᵀ", Method::LDLT, "auto", 30, "auto"},
      {"convection-cpu", "convection-dominated: GMRES(100) + ILU(0)", Method::GMRES, "ilu0", 100,
       "auto"},
      {"convection-gpu", "convection-dominated on CUDA: BiCGStab + ILU(0)", Method::BiCGStab,
       "ilu0", 30, "auto"},
      {"convection-direct", "convection-dominated: sparse LU", Method::LU, "auto", 30, "auto"},
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
