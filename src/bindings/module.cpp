// dsla._C: the Python extension. Runs every registered binding function and maps C++ errors to
// Python exception types (ValueError, TypeError, IndexError, dsla.SolveError, ...).
#include <dsla/config.h>
#include <dsla/errors.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "bindings/registry.h"
#include "core/device_stub.h"
#include "core/dtype_names.h"
#include "solve/direct/factorization.h"

namespace dsla::bindings {
namespace {

std::vector<std::tuple<int, std::string, BindFn>>& registry() {
  static std::vector<std::tuple<int, std::string, BindFn>> r;
  return r;
}

}  // namespace

Registrar::Registrar(const char* name, BindFn fn, int order) {
  registry().emplace_back(order, name, fn);
}

void bind_all(py::module_& m) {
  auto& r = registry();
  std::stable_sort(r.begin(), r.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  for (auto& e : r) std::get<2>(e)(m);
}

at::ScalarType parse_dtype(const std::string& s) {
  if (s == "float32" || s == "float") return at::kFloat;
  if (s == "float64" || s == "double") return at::kDouble;
  if (s == "complex64" || s == "cfloat") return at::kComplexFloat;
  if (s == "complex128" || s == "cdouble") return at::kComplexDouble;
  if (s == "int32" || s == "int") return at::kInt;
  if (s == "int64" || s == "long") return at::kLong;
  TORCH_CHECK_TYPE(false, "dsla: argument 'dtype': unsupported dtype '", s,
                   "'; use float32, float64, complex64 or complex128");
  return at::kDouble;
}

c10::Device parse_device(const std::string& s) {
  return c10::Device(s);
}

}  // namespace dsla::bindings

PYBIND11_MODULE(_C, m) {
  namespace py = pybind11;
  m.doc() = "dsla native extension (use the dsla package, not this module directly)";
  static py::exception<dsla::SolveError> solve_error(m, "SolveError", PyExc_RuntimeError);
  static py::exception<dsla::SingularMatrixError> singular_error(m, "SingularMatrixError",
                                                                 solve_error.ptr());
  // Messages reach Python users with torch's dtype names ("torch.float64", not c10's "Double").
  py::register_exception_translator([](std::exception_ptr p) {
    auto msg = [](const char* what) { return dsla::with_torch_dtype_names(what); };
    try {
      if (p) std::rethrow_exception(p);
    } catch (const dsla::SingularMatrixError& e) {
      // An instance carrying the pivot, so Python code can report where factorization failed.
      py::object exc = py::reinterpret_borrow<py::object>(singular_error.ptr())(msg(e.what()));
      exc.attr("pivot") = e.pivot();
      PyErr_SetObject(singular_error.ptr(), exc.ptr());
    } catch (const dsla::SolveError& e) {
      PyErr_SetString(solve_error.ptr(), msg(e.what()).c_str());
    } catch (const c10::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, msg(e.what_without_backtrace()).c_str());
    } catch (const c10::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, msg(e.what_without_backtrace()).c_str());
    } catch (const c10::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, msg(e.what_without_backtrace()).c_str());
    } catch (const c10::NotImplementedError& e) {
      PyErr_SetString(PyExc_NotImplementedError, msg(e.what_without_backtrace()).c_str());
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, msg(e.what_without_backtrace()).c_str());
    }
  });
  m.attr("__version__") = DSLA_VERSION;
  py::dict features;
  features["cuda"] = dsla::device::cuda_registered();
  features["cudss"] = bool(DSLA_HAVE_CUDSS);
  features["suitesparse"] = bool(DSLA_HAVE_SUITESPARSE);
  features["metis"] = bool(DSLA_HAVE_METIS);
  features["gloo"] = bool(DSLA_HAVE_GLOO);
  // SuiteSparse is the only GPL code a build can link (CHOLMOD Supernodal, UMFPACK): redistributors
  // check this (README, "License"; cmake -DDSLA_WITH_GPL=OFF leaves it out).
  features["gpl"] = bool(DSLA_HAVE_SUITESPARSE);
  m.attr("features") = features;
  // Why each optional backend is on or off, as CMake's summary said (and cuDSS's run-time version).
  py::dict build_info;
  build_info["cudss"] = std::string(DSLA_CUDSS_WHY);
  build_info["gloo"] = std::string(DSLA_GLOO_WHY);
  build_info["cudss_version"] = dsla::direct::cudss_version();
  m.attr("build_info") = build_info;
  m.def("direct_analysis_count", &dsla::direct::analysis_count,
        "Symbolic analyses (CHOLMOD, UMFPACK, cuDSS) run by this process: tests use it to prove "
        "that analysis is reused when only values change");
  dsla::bindings::bind_all(m);
}
