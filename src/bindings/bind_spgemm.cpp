// Python binding of the sparse x sparse product: dsla._C.spgemm(A, B) (SparseTensor.__matmul__
// calls it for two SparseTensors).
#include <dsla/ops.h>

#include "bindings/registry.h"

namespace dsla::bindings {
namespace {

void bind(py::module_& m) {
  m.def("spgemm", &spgemm, py::arg("A"), py::arg("B"),
        "Sparse x sparse product C = A B; differentiable in both values. The pattern of C is "
        "cached on A's pattern, so repeating the product with new values redoes only the "
        "numeric phase.");
}

DSLA_REGISTER_BINDINGS(spgemm, bind);

}  // namespace
}  // namespace dsla::bindings
