// The box decomposition of the structured generators (generators.cpp): the process grid and the
// stencils, shared by dist::generate and the weak-scaling twin (twin.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dsla::dist::detail {

// px * py * pz = P (pz = 1 in 2-D) minimizing the largest side ratio.
std::array<int, 3> process_grid(int P, int dims);

// A stencil: offsets (dx, dy, dz) and their values, in ascending column order for a row.
struct Stencil {
  std::vector<std::array<int64_t, 3>> off;
  std::vector<double> val;
};
Stencil stencil_of(const std::string& kind, double eps);

}  // namespace dsla::dist::detail
