// Names of methods and statuses, and SolveInfo::summary.
#include <dsla/solve.h>

#include <algorithm>
#include <sstream>

namespace dsla {

std::string to_string(Method m) {
  switch (m) {
    case Method::Auto:
      return "auto";
    case Method::CG:
      return "cg";
    case Method::BiCGStab:
      return "bicgstab";
    case Method::GMRES:
      return "gmres";
    case Method::FGMRES:
      return "fgmres";
    case Method::MINRES:
      return "minres";
    case Method::LSQR:
      return "lsqr";
    case Method::LSMR:
      return "lsmr";
    case Method::Cholesky:
      return "cholesky";
    case Method::LDLT:
      return "ldlt";
    case Method::LU:
      return "lu";
  }
  return "?";
}

std::string to_string(Status s) {
  switch (s) {
    case Status::Converged:
      return "converged";
    case Status::MaxIterations:
      return "max_iterations";
    case Status::Breakdown:
      return "breakdown";
    case Status::Indefinite:
      return "indefinite";
    case Status::Singular:
      return "singular";
    case Status::NotFinite:
      return "not_finite";
    case Status::Stagnated:
      return "stagnated";
    case Status::Inaccurate:
      return "inaccurate";
  }
  return "?";
}

Method parse_method(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  for (Method m :
       {Method::Auto, Method::CG, Method::BiCGStab, Method::GMRES, Method::FGMRES, Method::MINRES,
        Method::LSQR, Method::LSMR, Method::Cholesky, Method::LDLT, Method::LU}) {
    if (to_string(m) == s) return m;
  }
  if (s == "chol" || s == "cholmod") return Method::Cholesky;
  if (s == "umfpack" || s == "spsolve" || s == "direct") return Method::LU;
  DSLA_CHECK_ARG(false, "method", "unknown method '", name,
                 "'; use auto, cg, bicgstab, gmres, fgmres, minres, lsqr, lsmr, cholesky, ldlt "
                 "or lu");
  return Method::Auto;
}

bool is_direct(Method m) {
  return m == Method::Cholesky || m == Method::LDLT || m == Method::LU;
}

std::string SolveInfo::summary() const {
  std::ostringstream o;
  o << to_string(method);
  if (!preconditioner.empty() && preconditioner != "none") o << " + " << preconditioner;
  o << ": " << to_string(status) << ", " << iterations << " iterations, relative residual "
    << residual << ", setup " << setup_time << " s, solve " << solve_time << " s";
  return o.str();
}

}  // namespace dsla
