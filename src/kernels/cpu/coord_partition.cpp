// Recursive coordinate bisection and Hilbert-curve partitions of points.
#include "kernels/cpu/coord_partition.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace dsla::kernels::cpu {
namespace {

// floor(m * num / den) without overflow, for 0 <= num <= den < 2^31 and m >= 0.
int64_t scaled(int64_t m, int64_t num, int64_t den) {
  return (m / den) * num + (m % den) * num / den;
}

struct Rcb {
  int64_t d;
  const double* x;
  int64_t* part;

  void split(int64_t* idx, int64_t m, int64_t first, int64_t parts) const {
    if (m == 0) return;
    if (parts == 1) {
      for (int64_t t = 0; t < m; ++t) part[idx[t]] = first;
      return;
    }
    // The longest side of the bounding box (the first dimension among equals).
    int64_t k = 0;
    double widest = -1.0;
    for (int64_t j = 0; j < d; ++j) {
      double lo = x[idx[0] * d + j], hi = lo;
      for (int64_t t = 1; t < m; ++t) {
        const double v = x[idx[t] * d + j];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      if (hi - lo > widest) {
        widest = hi - lo;
        k = j;
      }
    }
    const int64_t left_parts = parts / 2;
    const int64_t cut = scaled(m, left_parts, parts);
    const double* xs = x;
    const int64_t dd = d;
    std::nth_element(idx, idx + cut, idx + m, [xs, dd, k](int64_t a, int64_t b) {
      const double va = xs[a * dd + k], vb = xs[b * dd + k];
      return va != vb ? va < vb : a < b;
    });
    split(idx, cut, first, left_parts);
    split(idx + cut, m - cut, first + left_parts, parts - left_parts);
  }
};

}  // namespace

void rcb_partition(int64_t n, int64_t d, const double* coords, int64_t parts, int64_t* part) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  Rcb{d, coords, part}.split(idx.data(), n, 0, parts);
}

int hilbert_bits(int64_t d) {
  return static_cast<int>(std::min<int64_t>(64 / d, 32));
}

uint64_t hilbert_key(uint64_t* x, int64_t d, int bits) {
  if (bits <= 0) return 0;
  if (d == 1) return x[0];  // the curve of one dimension is the axis
  const uint64_t top = uint64_t{1} << (bits - 1);
  // From the axes to the transposed index, highest bit first: at each level a point in the
  // upper half of axis i reflects axis 0 (below this bit), a point in the lower half exchanges
  // those bits of axes 0 and i. This undoes the rotations and reflections of the sub-cubes.
  for (uint64_t q = top; q > 1; q >>= 1) {
    const uint64_t below = q - 1;
    for (int64_t i = 0; i < d; ++i) {
      if (x[i] & q) {
        x[0] ^= below;
      } else {
        const uint64_t t = (x[0] ^ x[i]) & below;
        x[0] ^= t;
        x[i] ^= t;
      }
    }
  }
  // Gray code along the axes, then the correction that makes the code continuous.
  for (int64_t i = 1; i < d; ++i) x[i] ^= x[i - 1];
  uint64_t t = 0;
  for (uint64_t q = top; q > 1; q >>= 1) {
    if (x[d - 1] & q) t ^= q - 1;
  }
  for (int64_t i = 0; i < d; ++i) x[i] ^= t;
  // Interleave: bit b of axis 0, of axis 1, ..., of axis d-1, for b from the top down.
  uint64_t key = 0;
  for (int b = bits - 1; b >= 0; --b) {
    for (int64_t i = 0; i < d; ++i) key = (key << 1) | ((x[i] >> b) & 1u);
  }
  return key;
}

void hilbert_keys(int64_t n, int64_t d, const double* coords, uint64_t* key) {
  if (n == 0) return;
  const int bits = hilbert_bits(d);
  std::vector<double> lo(static_cast<size_t>(d)), hi(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) lo[j] = hi[j] = coords[j];
  for (int64_t i = 1; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      lo[j] = std::min(lo[j], coords[i * d + j]);
      hi[j] = std::max(hi[j], coords[i * d + j]);
    }
  }
  double extent = 0.0;
  for (int64_t j = 0; j < d; ++j) extent = std::max(extent, hi[j] - lo[j]);
  // Cells of one size in every dimension: 2^bits cells over the widest side.
  const double cells = std::ldexp(1.0, bits);
  const double scale = extent > 0 ? cells / extent : 0.0;
  const uint64_t last = static_cast<uint64_t>(cells - 1);
  std::vector<uint64_t> g(static_cast<size_t>(d));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const double c = std::floor((coords[i * d + j] - lo[j]) * scale);
      g[j] = c <= 0 ? 0 : std::min(static_cast<uint64_t>(c), last);
    }
    key[i] = hilbert_key(g.data(), d, bits);
  }
}

void hilbert_order(int64_t n, int64_t d, const double* coords, int64_t* order) {
  std::vector<uint64_t> key(static_cast<size_t>(n));
  hilbert_keys(n, d, coords, key.data());
  std::iota(order, order + n, int64_t{0});
  std::sort(order, order + n,
            [&key](int64_t a, int64_t b) { return key[a] != key[b] ? key[a] < key[b] : a < b; });
}

void hilbert_partition(int64_t n, int64_t d, const double* coords, int64_t parts, int64_t* part) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  hilbert_order(n, d, coords, order.data());
  for (int64_t r = 0; r < parts; ++r) {
    for (int64_t p = scaled(n, r, parts); p < scaled(n, r + 1, parts); ++p) part[order[p]] = r;
  }
}

}  // namespace dsla::kernels::cpu
