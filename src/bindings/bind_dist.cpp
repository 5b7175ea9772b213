// Bindings for distributed matrices (python/dsla/distributed.py): _C.DistComm built from a
// torch.distributed process group, _C.DistMatrix, the distributed solve.
//
// The group crosses as the Python ProcessGroup object itself: torch registers ProcessGroup with
// pybind11 (holder c10::intrusive_ptr), and this module is built against the same pybind11 as
// torch, so pybind11 casts it to c10::intrusive_ptr<c10d::ProcessGroup> (the casting needs the
// two modules to share pybind11's internals; tests/python/test_distributed.py checks it).
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include "bindings/registry.h"
#include "bindings/solve_options.h"

namespace dsla::bindings {
namespace {

using dist::Comm;
using dist::DistMatrix;

void bind(py::module_& m) {
  m.def(
      "comm_traffic",
      [](bool reset) {
        const auto t = Comm::traffic();
        if (reset) Comm::reset_traffic();
        py::dict d;
        d["collectives"] = t.collectives;
        d["collective_bytes"] = t.collective_bytes;
        d["messages"] = t.messages;
        d["message_bytes"] = t.message_bytes;
        return d;
      },
      py::arg("reset") = false,
      "What this process sent through dsla's distributed layer since the last reset: "
      "collectives (all-reduce, all-gather, broadcast) and point-to-point messages, counts and "
      "bytes (dist.h Comm::traffic).");
  py::class_<Comm>(m, "DistComm")
      .def(py::init([](const c10::intrusive_ptr<c10d::ProcessGroup>& group, double timeout_s) {
             return Comm(group, std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1e3)));
           }),
           py::arg("group"), py::arg("timeout") = 0.0)
      .def_property_readonly("rank", &Comm::rank)
      .def_property_readonly("size", &Comm::size)
      .def_property_readonly("backend", &Comm::backend)
      .def_property_readonly("timeout", [](const Comm& c) { return c.timeout().count() / 1000.0; })
      .def(
          "allreduce_sum_",
          [](const Comm& c, at::Tensor t) {
            py::gil_scoped_release nogil;
            c.allreduce_sum_(t);
          },
          py::arg("t"))
      .def(
          "allreduce_max_",
          [](const Comm& c, at::Tensor t) {
            py::gil_scoped_release nogil;
            c.allreduce_max_(t);
          },
          py::arg("t"))
      .def(
          "agree",
          [](const Comm& c, bool ok, const std::string& msg) {
            py::gil_scoped_release nogil;
            c.agree(ok, msg);
          },
          py::arg("ok"), py::arg("message"));

  py::class_<DistMatrix>(m, "DistMatrix")
      .def_static(
          "from_local_coo",
          [](const Comm& c, const at::Tensor& row, const at::Tensor& col, const at::Tensor& values,
             int64_t n, const at::Tensor& owned) {
            py::gil_scoped_release nogil;
            return DistMatrix::from_local_coo(c, row, col, values, {n, n}, owned);
          },
          py::arg("comm"), py::arg("row"), py::arg("col"), py::arg("values"), py::arg("n"),
          py::arg("owned"))
      .def_static(
          "generate",
          [](const Comm& c, const std::string& kind, int64_t n, double eps,
             const std::string& dtype) {
            py::gil_scoped_release nogil;
            return dist::generate(c, kind, n, eps, parse_dtype(dtype));
          },
          py::arg("comm"), py::arg("kind"), py::arg("n"), py::arg("epsilon"), py::arg("dtype"))
      .def_static(
          "twin",
          [](const Comm& c, const std::string& kind, int64_t n, int rank, int ranks,
             const std::string& dtype, const std::string& device, double eps) {
            const c10::Device dev(device);
            py::gil_scoped_release nogil;
            return DistMatrix::twin(c, kind, n, rank, ranks, parse_dtype(dtype), dev, eps);
          },
          py::arg("comm"), py::arg("kind"), py::arg("n"), py::arg("rank"), py::arg("ranks"),
          py::arg("dtype"), py::arg("device"), py::arg("epsilon"))
      .def_property_readonly("is_twin", &DistMatrix::is_twin)
      .def(
          "halo",
          [](const DistMatrix& A, const at::Tensor& x3) {
            py::gil_scoped_release nogil;
            return A.halo(x3);
          },
          py::arg("x3"))
      .def(
          "redistribute",
          [](const DistMatrix& A, const at::Tensor& parts) {
            py::gil_scoped_release nogil;
            return A.redistribute(parts);
          },
          py::arg("parts"))
      .def_static(
          "read_mtx",
          [](const Comm& c, const py::bytes& path, const std::string& dtype) {
            const at::ScalarType st = dtype.empty() ? at::kDouble : parse_dtype(dtype);
            const std::string p = path;  // the file system's bytes (python/dsla/io.py)
            py::gil_scoped_release nogil;
            return dist::read_mtx(c, p, st);
          },
          py::arg("comm"), py::arg("path"), py::arg("dtype") = "")
      .def_property_readonly("rows", &DistMatrix::rows)
      .def_property_readonly("nnz", &DistMatrix::nnz)
      .def_property_readonly("n_owned", &DistMatrix::n_owned)
      .def_property_readonly("n_interior", &DistMatrix::n_interior)
      .def_property_readonly("n_ghost", &DistMatrix::n_ghost)
      .def_property_readonly("n_neighbours", &DistMatrix::n_neighbours)
      .def_property_readonly("local_nnz", &DistMatrix::local_nnz)
      .def_property_readonly("owned", &DistMatrix::owned)
      .def_property_readonly("ghost", &DistMatrix::ghost)
      .def_property_readonly("diag", &DistMatrix::diag)
      .def_property_readonly("offd", &DistMatrix::offd)
      .def_property_readonly("values", &DistMatrix::values)
      .def_property_readonly("comm", &DistMatrix::comm)
      .def_property_readonly("batch_size", &DistMatrix::batch_size)
      .def_property_readonly("is_batched", &DistMatrix::is_batched)
      .def("plan_summary", &DistMatrix::plan_summary)
      .def("with_values", &DistMatrix::with_values, py::arg("values"))
      .def(
          "to_device",
          [](const DistMatrix& A, const std::string& d) { return A.to(c10::Device(d)); },
          py::arg("device"))
      .def(
          "matmul",
          [](const DistMatrix& A, const at::Tensor& x) {
            py::gil_scoped_release nogil;
            return A.matmul(x);
          },
          py::arg("x"))
      .def(
          "matmul_adjoint",
          [](const DistMatrix& A, const at::Tensor& x) {
            py::gil_scoped_release nogil;
            return A.matmul(x, /*adjoint=*/true);
          },
          py::arg("x"))
      .def(
          "values_grad",
          [](const DistMatrix& A, const at::Tensor& gy, const at::Tensor& x) {
            py::gil_scoped_release nogil;
            // Owned slices as matmul takes them -> [B, n_owned, k]; the gradient in values()'s
            // shape ([nnz_local] unbatched: summed over a broadcast batch of x).
            auto to3 = [&](const at::Tensor& t) {
              if (t.dim() == 1) return t.reshape({1, -1, 1});
              if (t.dim() == 2)
                return A.is_batched() && t.size(0) == A.batch_size() && t.size(1) == A.n_owned()
                           ? t.unsqueeze(-1)
                           : t.unsqueeze(0);
              return t;
            };
            auto g3 = to3(gy), x3 = to3(x);
            const int64_t B = std::max(g3.size(0), x3.size(0));
            g3 = g3.expand({B, g3.size(1), g3.size(2)}).contiguous();
            x3 = x3.expand({B, x3.size(1), x3.size(2)}).contiguous();
            auto g = A.values_grad(g3, x3);
            return A.is_batched() ? g : g.sum(0);
          },
          py::arg("gy"), py::arg("x"))
      .def(
          "gather",
          [](const DistMatrix& A, const at::Tensor& x) {
            py::gil_scoped_release nogil;
            return A.gather(x);
          },
          py::arg("x"))
      .def("gather_matrix", [](const DistMatrix& A) {
        py::gil_scoped_release nogil;
        return A.gather_matrix();
      });

  py::class_<dist::DistSolver>(m, "DistSolver")
      .def(py::init([](const DistMatrix& A, const py::dict& d) {
             SolveOptions o = solve_options_from(d);
             // M acts on this rank's owned slices (it may communicate: every rank calls it).
             add_python_preconditioner(o, d, A.n_owned(), A.dtype(), A.device());
             py::gil_scoped_release nogil;
             return dist::DistSolver(A, o);
           }),
           py::arg("A"), py::arg("options"))
      .def(
          "solve",
          [](const dist::DistSolver& s, const at::Tensor& b, bool adjoint) {
            SolveInfo info;
            at::Tensor x;
            {
              py::gil_scoped_release nogil;
              x = dist::solve(s, b, &info, adjoint);
            }
            return py::make_tuple(x, info);
          },
          py::arg("b"), py::arg("adjoint") = false)
      .def(
          "refactor",
          [](dist::DistSolver& s, const at::Tensor& v) {
            py::gil_scoped_release nogil;
            s.refactor(v);
          },
          py::arg("values"))
      .def_property_readonly("method",
                             [](const dist::DistSolver& s) { return to_string(s.method()); })
      .def_property_readonly("preconditioner", &dist::DistSolver::preconditioner)
      .def_property_readonly("setup_time", &dist::DistSolver::setup_time);

  m.def(
      "dist_solve",
      [](const DistMatrix& A, const at::Tensor& b, const py::dict& d) {
        SolveOptions o = solve_options_from(d);
        add_python_preconditioner(o, d, A.n_owned(), A.dtype(), A.device());
        SolveInfo info;
        at::Tensor x;
        {
          py::gil_scoped_release nogil;
          x = dist::solve(A, b, o, &info);
        }
        return py::make_tuple(x, info);
      },
      py::arg("A"), py::arg("b"), py::arg("options"));
  m.def(
      "metis_parts",
      [](const SparseMatrix& A, int parts, c10::optional<at::Tensor> weights) {
        return dist::metis_parts(A, parts, weights ? *weights : at::Tensor());
      },
      py::arg("A"), py::arg("parts"), py::arg("vertex_weights") = py::none());
  m.def("rcb_parts", &dist::rcb_parts, py::arg("coords"), py::arg("parts"),
        py::call_guard<py::gil_scoped_release>());
  m.def("hilbert_parts", &dist::hilbert_parts, py::arg("coords"), py::arg("parts"),
        py::call_guard<py::gil_scoped_release>());
  m.def("hilbert_order", &dist::hilbert_order, py::arg("coords"),
        py::call_guard<py::gil_scoped_release>());
}

DSLA_REGISTER_BINDINGS(dist, bind);

}  // namespace
}  // namespace dsla::bindings
