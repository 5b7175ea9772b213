// A tiny program outside the dsla tree: built against the installed package only.
#include <dsla/dsla.h>

#include <iostream>

int main() {
  auto A = dsla::poisson2d(8);
  auto x = at::ones({A.cols()}, at::kDouble);
  auto y = dsla::matmul(A, x);
  // Row sums of the 5-point Laplacian: 0 inside, positive on the boundary.
  double s = y.sum().item<double>();
  std::cout << "consumer: n=" << A.rows() << " nnz=" << A.nnz() << " sum(Ax)=" << s << "\n";
  return s > 0 ? 0 : 1;
}
