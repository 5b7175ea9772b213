// Partitions of points by their coordinates (no torch): recursive coordinate bisection and
// Hilbert-curve order. Points are rows of a row-major [n, d] array of finite doubles; every
// result is a function of the coordinates and n only (ties broken by the point's index), so
// every process computing it gets the same partition.
#pragma once

#include <cstdint>

namespace dsla::kernels::cpu {

// part[i] in [0, parts) for n points in d dimensions (d >= 1). Each cut halves the part count
// (the left side gets floor(parts / 2)) and is perpendicular to the longest side of the current
// set's bounding box, at the point count proportional to the parts on each side: every part
// gets floor(n / parts) or ceil(n / parts) points. parts < 2^31.
void rcb_partition(int64_t n, int64_t d, const double* coords, int64_t parts, int64_t* part);

// Bits per dimension of hilbert_keys' grid for d dimensions: min(64 / d, 32) (d <= 64).
int hilbert_bits(int64_t d);

// Position of each point along a Hilbert curve (d dimensions, 1 <= d <= 64) through the grid of
// 2^hilbert_bits(d) cells per side laid over the points' bounding cube (the same cell size in
// every dimension, so the curve keeps the domain's aspect). Consecutive cells of the curve are
// grid neighbours.
// nthreads: OpenMP threads for the keys (the caller's setting, as every kernel here).
void hilbert_keys(int64_t n, int64_t d, const double* coords, uint64_t* key, int nthreads = 1);

// The Hilbert key of one grid point (x[0..d-1] < 2^bits each, d * bits <= 64): Skilling's
// transform of the axes to the curve's "transposed" index, then its bits interleaved.
uint64_t hilbert_key(uint64_t* x, int64_t d, int bits);

// The points in the order of the curve: order[k] = the point at position k (ties by index).
void hilbert_order(int64_t n, int64_t d, const double* coords, int64_t* order, int nthreads = 1);

// Points sorted along the Hilbert curve (ties by index) and cut into `parts` consecutive runs:
// part r gets sorted positions [n r / parts, n (r + 1) / parts). parts < 2^31.
void hilbert_partition(int64_t n, int64_t d, const double* coords, int64_t parts, int64_t* part,
                       int nthreads = 1);

}  // namespace dsla::kernels::cpu
