// Structural CSR kernels: COO -> CSR, validation, transpose, row expansion.
#include "kernels/cpu/csr_kernels.h"

#include <omp.h>

#include <algorithm>
#include <vector>

namespace dsla::kernels::cpu {

int64_t find_bad_coo_index(int64_t nnz, const int64_t* row, const int64_t* col, int64_t rows,
                           int64_t cols, int nthreads) {
  int64_t bad = nnz;
#pragma omp parallel for num_threads(nthreads) reduction(min : bad) schedule(static)
  for (int64_t k = 0; k < nnz; ++k) {
    if (row[k] < 0 || row[k] >= rows || col[k] < 0 || col[k] >= cols) bad = std::min(bad, k);
  }
  return bad == nnz ? -1 : bad;
}

namespace {

// coo_to_csr for far fewer entries than rows (a huge declared shape, a few entries): a stable
// comparison sort of the entries, so the only array of length rows is crow itself (bucketing by
// row would add two int64 arrays of rows + 1, 16 bytes a row, to a 4-byte-a-row result).
template <class I>
int64_t coo_to_csr_by_sort(int64_t rows, int64_t nnz, const int64_t* row, const int64_t* col,
                           I* crow, I* col_out, int64_t* map) {
  std::vector<int64_t> order(static_cast<size_t>(nnz));
  for (int64_t k = 0; k < nnz; ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [row, col](int64_t u, int64_t v) {
    return row[u] != row[v] ? row[u] < row[v] : col[u] < col[v];
  });
  int64_t out = 0, next_row = 0;  // entries written; first row whose crow is not set yet
  for (int64_t p = 0; p < nnz; ++p) {
    const int64_t k = order[p];
    const bool repeat = p > 0 && row[k] == row[order[p - 1]] && col[k] == col[order[p - 1]];
    if (!repeat) {
      for (; next_row <= row[k]; ++next_row) crow[next_row] = static_cast<I>(out);
      col_out[out++] = static_cast<I>(col[k]);
    }
    map[k] = out - 1;
  }
  std::fill(crow + next_row, crow + rows + 1, static_cast<I>(out));
  return out;
}

}  // namespace

template <class I>
int64_t coo_to_csr(int64_t rows, int64_t nnz, const int64_t* row, const int64_t* col, I* crow,
                   I* col_out, int64_t* map, int nthreads) {
  if (rows > 8 * nnz + 1024) return coo_to_csr_by_sort(rows, nnz, row, col, crow, col_out, map);
  // 1. Bucket entries by row (counting sort keeps input order within a row).
  std::vector<int64_t> start(rows + 1, 0);
  for (int64_t k = 0; k < nnz; ++k) ++start[row[k] + 1];
  for (int64_t i = 0; i < rows; ++i) start[i + 1] += start[i];
  std::vector<int64_t> order(nnz);
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t k = 0; k < nnz; ++k) order[fill[row[k]]++] = k;
  }
  // 2. Sort each row by column (stable, so duplicates keep input order) and count unique columns.
  std::vector<int64_t> unique(rows + 1, 0);
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 256)
  for (int64_t i = 0; i < rows; ++i) {
    int64_t* b = order.data() + start[i];
    int64_t* e = order.data() + start[i + 1];
    bool sorted = true;
    for (int64_t* p = b; p + 1 < e; ++p) {
      if (col[p[1]] < col[p[0]]) {
        sorted = false;
        break;
      }
    }
    if (!sorted) std::stable_sort(b, e, [col](int64_t u, int64_t v) { return col[u] < col[v]; });
    int64_t u = 0;
    for (int64_t* p = b; p < e; ++p) u += (p == b || col[p[0]] != col[p[-1]]);
    unique[i + 1] = u;
  }
  for (int64_t i = 0; i < rows; ++i) unique[i + 1] += unique[i];
    // 3. Write the structure and the input -> output map.
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 256)
  for (int64_t i = 0; i < rows; ++i) {
    int64_t out = unique[i] - 1;
    crow[i] = static_cast<I>(unique[i]);
    for (int64_t p = start[i]; p < start[i + 1]; ++p) {
      const int64_t k = order[p];
      if (p == start[i] || col[k] != col[order[p - 1]]) {
        ++out;
        col_out[out] = static_cast<I>(col[k]);
      }
      map[k] = out;
    }
  }
  crow[rows] = static_cast<I>(unique[rows]);
  return unique[rows];
}

template <class I>
int validate_csr(int64_t rows, int64_t cols, int64_t nnz, const I* crow, const I* col,
                 int64_t* where, int nthreads) {
  if (crow[0] != 0) {
    *where = 0;
    return kCsrBadStart;
  }
  for (int64_t i = 0; i < rows; ++i) {
    if (crow[i + 1] < crow[i]) {
      *where = i;
      return kCsrDecreasing;
    }
  }
  if (static_cast<int64_t>(crow[rows]) != nnz) {
    *where = rows;
    return kCsrBadEnd;
  }
  int64_t bad_range = nnz, bad_order = nnz;
#pragma omp parallel for num_threads(nthreads) schedule(static) reduction(min \
                                                                          : bad_range, bad_order)
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t p = crow[i]; p < crow[i + 1]; ++p) {
      if (col[p] < 0 || col[p] >= cols) bad_range = std::min(bad_range, p);
      if (p > crow[i] && col[p] <= col[p - 1]) bad_order = std::min(bad_order, p);
    }
  }
  if (bad_range < nnz) {
    *where = bad_range;
    return kCsrColRange;
  }
  if (bad_order < nnz) {
    *where = bad_order;
    return kCsrUnsorted;
  }
  return kCsrOk;
}

template <class I>
void csr_transpose(int64_t rows, int64_t cols, const I* crow, const I* col, I* crow_t, I* col_t,
                   int64_t* perm, int nthreads) {
  const int64_t nnz = crow[rows];
  std::vector<int64_t> count(cols + 1, 0);
  for (int64_t p = 0; p < nnz; ++p) ++count[col[p] + 1];
  for (int64_t j = 0; j < cols; ++j) count[j + 1] += count[j];
  for (int64_t j = 0; j <= cols; ++j) crow_t[j] = static_cast<I>(count[j]);
  // Visiting rows in order makes the transpose's columns (our rows) come out sorted.
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t p = crow[i]; p < crow[i + 1]; ++p) {
      const int64_t q = count[col[p]]++;
      col_t[q] = static_cast<I>(i);
      perm[q] = p;
    }
  }
}

template <class I>
void csr_row_indices(int64_t rows, const I* crow, I* row, int nthreads) {
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t p = crow[i]; p < crow[i + 1]; ++p) row[p] = static_cast<I>(i);
  }
}

template <class I>
void csr_diag_positions(int64_t rows, int64_t cols, const I* crow, const I* col, int64_t* pos,
                        int nthreads) {
  const int64_t m = rows < cols ? rows : cols;
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    const I* lo = col + crow[i];
    const I* hi = col + crow[i + 1];
    const I* it = std::lower_bound(lo, hi, static_cast<I>(i));
    pos[i] = (it != hi && *it == static_cast<I>(i)) ? static_cast<int64_t>(it - col) : -1;
  }
}

#define DSLA_INSTANTIATE(I)                                                                    \
  template int64_t coo_to_csr<I>(int64_t, int64_t, const int64_t*, const int64_t*, I*, I*,     \
                                 int64_t*, int);                                               \
  template int validate_csr<I>(int64_t, int64_t, int64_t, const I*, const I*, int64_t*, int);  \
  template void csr_transpose<I>(int64_t, int64_t, const I*, const I*, I*, I*, int64_t*, int); \
  template void csr_row_indices<I>(int64_t, const I*, I*, int);                                \
  template void csr_diag_positions<I>(int64_t, int64_t, const I*, const I*, int64_t*, int);
DSLA_INSTANTIATE(int32_t)
DSLA_INSTANTIATE(int64_t)
#undef DSLA_INSTANTIATE

}  // namespace dsla::kernels::cpu
