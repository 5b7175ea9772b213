// Recursive coordinate bisection and Hilbert-curve partitions of points.
#include "kernels/cpu/coord_partition.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
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

namespace {

// Skilling's transform of the axes x[0..d-1] (bits each) to the curve's "transposed" index, in
// place. D > 0: the dimension known at compile time (unrolled, kept in registers); D = 0: d.
template <int D>
inline void axes_to_transpose(uint64_t* x, int64_t d, int bits) {
  const int64_t dims = D > 0 ? D : d;
  const uint64_t top = uint64_t{1} << (bits - 1);
  // Highest bit first: at each level a point in the upper half of axis i reflects axis 0 (below
  // this bit), a point in the lower half exchanges those bits of axes 0 and i. This undoes the
  // rotations and reflections of the sub-cubes. Branch-free: the bits are data.
  for (uint64_t q = top; q > 1; q >>= 1) {
    const uint64_t below = q - 1;
    for (int64_t i = 0; i < dims; ++i) {
      const uint64_t upper = uint64_t{0} - static_cast<uint64_t>((x[i] & q) != 0);
      const uint64_t t = (x[0] ^ x[i]) & below & ~upper;
      x[0] ^= (below & upper) | t;
      x[i] ^= t;
    }
  }
  // Gray code along the axes, then the correction that makes the code continuous.
  for (int64_t i = 1; i < dims; ++i) x[i] ^= x[i - 1];
  uint64_t t = 0;
  for (uint64_t q = top; q > 1; q >>= 1)
    t ^= (q - 1) & (uint64_t{0} - static_cast<uint64_t>((x[dims - 1] & q) != 0));
  for (int64_t i = 0; i < dims; ++i) x[i] ^= t;
}

// The low 32 bits of v spread to the even bits (bit k -> bit 2k).
inline uint64_t spread2(uint64_t v) {
  v &= 0xffffffffULL;
  v = (v | (v << 16)) & 0x0000ffff0000ffffULL;
  v = (v | (v << 8)) & 0x00ff00ff00ff00ffULL;
  v = (v | (v << 4)) & 0x0f0f0f0f0f0f0f0fULL;
  v = (v | (v << 2)) & 0x3333333333333333ULL;
  return (v | (v << 1)) & 0x5555555555555555ULL;
}

// The low 21 bits of v spread to every third bit (bit k -> bit 3k).
inline uint64_t spread3(uint64_t v) {
  v &= 0x1fffffULL;
  v = (v | (v << 32)) & 0x001f00000000ffffULL;
  v = (v | (v << 16)) & 0x001f0000ff0000ffULL;
  v = (v | (v << 8)) & 0x100f00f00f00f00fULL;
  v = (v | (v << 4)) & 0x10c30c30c30c30c3ULL;
  return (v | (v << 2)) & 0x1249249249249249ULL;
}

}  // namespace

uint64_t hilbert_key(uint64_t* x, int64_t d, int bits) {
  if (bits <= 0) return 0;
  if (d == 1) return x[0];  // the curve of one dimension is the axis
  // Interleave the transposed index: bit b of axis 0, of axis 1, ..., of axis d-1, for b from
  // the top down (axis 0 the most significant of each group).
  if (d == 2 && bits == 32) {
    axes_to_transpose<2>(x, 2, bits);
    return (spread2(x[0]) << 1) | spread2(x[1]);
  }
  if (d == 3 && bits == 21) {
    axes_to_transpose<3>(x, 3, bits);
    return (spread3(x[0]) << 2) | (spread3(x[1]) << 1) | spread3(x[2]);
  }
  axes_to_transpose<0>(x, d, bits);
  uint64_t key = 0;
  for (int b = bits - 1; b >= 0; --b) {
    for (int64_t i = 0; i < d; ++i) key = (key << 1) | ((x[i] >> b) & 1u);
  }
  return key;
}

void hilbert_keys(int64_t n, int64_t d, const double* coords, uint64_t* key, int nthreads) {
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
#pragma omp parallel num_threads(nthreads)
  {
    std::vector<uint64_t> g(static_cast<size_t>(d));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < d; ++j) {
        const double c = std::floor((coords[i * d + j] - lo[j]) * scale);
        g[j] = c <= 0 ? 0 : std::min(static_cast<uint64_t>(c), last);
      }
      key[i] = hilbert_key(g.data(), d, bits);
    }
  }
}

void hilbert_order(int64_t n, int64_t d, const double* coords, int64_t* order, int nthreads) {
  std::vector<uint64_t> key(static_cast<size_t>(n));
  hilbert_keys(n, d, coords, key.data(), nthreads);
  // Sort (key, index) pairs: contiguous, and the pair order is the tie rule.
  std::vector<std::pair<uint64_t, int64_t>> kp(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) kp[i] = {key[i], i};
  std::sort(kp.begin(), kp.end());
  for (int64_t p = 0; p < n; ++p) order[p] = kp[p].second;
}

void hilbert_partition(int64_t n, int64_t d, const double* coords, int64_t parts, int64_t* part,
                       int nthreads) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  hilbert_order(n, d, coords, order.data(), nthreads);
  for (int64_t r = 0; r < parts; ++r) {
    for (int64_t p = scaled(n, r, parts); p < scaled(n, r + 1, parts); ++p) part[order[p]] = r;
  }
}

}  // namespace dsla::kernels::cpu
