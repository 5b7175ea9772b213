// Each binding file registers a function that adds its names to dsla._C; module.cpp calls them
// all at import. New modules add a file here and never edit a shared list.
//
//   namespace dsla::bindings { namespace {
//   void bind(pybind11::module_& m) { m.def(...); }
//   DSLA_REGISTER_BINDINGS(io, bind);
//   }}
#pragma once

#include <torch/csrc/utils/pybind.h>

#include <memory>
#include <string>

namespace dsla::bindings {

namespace py = pybind11;
using BindFn = void (*)(py::module_&);

struct Registrar {
  // order: lower runs first (core types are 0 so every later signature can name them).
  Registrar(const char* name, BindFn fn, int order = 100);
};
void bind_all(py::module_& m);

// Python strings for dtypes and devices ("float64", "cuda:0"): the Python layer converts
// torch.dtype / torch.device to these, which works the same on every LibTorch version.
at::ScalarType parse_dtype(const std::string& s);
c10::Device parse_device(const std::string& s);

// A Python object kept by C++ code that may drop it without the GIL (torch frees autograd graphs,
// which can hold Solvers and their callables, with the GIL released): the deleter takes the GIL.
inline std::shared_ptr<py::object> hold(py::object o) {
  return std::shared_ptr<py::object>(new py::object(std::move(o)), [](py::object* p) {
    py::gil_scoped_acquire gil;
    delete p;
  });
}

}  // namespace dsla::bindings

#define DSLA_REGISTER_BINDINGS_ORDERED(name, fn, order) \
  static const ::dsla::bindings::Registrar dsla_registrar_##name(#name, fn, order)
#define DSLA_REGISTER_BINDINGS(name, fn) DSLA_REGISTER_BINDINGS_ORDERED(name, fn, 100)
