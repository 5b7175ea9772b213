// coo_to_csr: the row-bucketing path and the sorting path (far fewer entries than rows) give the
// same CSR, the same entry map and the same duplicate order.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/csr_kernels.h"

namespace kc = dsla::kernels::cpu;

TEST(CooToCsr, SortingPathMatchesBucketingPath) {
  std::mt19937_64 rng(5);
  for (const int64_t nnz : {0, 1, 7, 300}) {
    std::vector<int64_t> row(nnz), col(nnz);
    for (int64_t k = 0; k < nnz; ++k) {
      row[k] = static_cast<int64_t>(rng() % 20);  // many duplicates and empty rows
      col[k] = static_cast<int64_t>(rng() % 6);
    }
    // 20 rows: bucketing; 20 + 10^6 rows (far more than 8 * nnz + 1024): sorting.
    const int64_t small = 20, large = 20 + 1000000;
    std::vector<int32_t> crow_a(small + 1), col_a(nnz), crow_b(large + 1), col_b(nnz);
    std::vector<int64_t> map_a(nnz), map_b(nnz);
    const int64_t na = kc::coo_to_csr<int32_t>(small, nnz, row.data(), col.data(), crow_a.data(),
                                               col_a.data(), map_a.data(), 2);
    const int64_t nb = kc::coo_to_csr<int32_t>(large, nnz, row.data(), col.data(), crow_b.data(),
                                               col_b.data(), map_b.data(), 2);
    ASSERT_EQ(na, nb) << nnz;
    col_a.resize(na);
    col_b.resize(nb);
    EXPECT_EQ(col_a, col_b);
    EXPECT_EQ(map_a, map_b);
    for (int64_t i = 0; i <= small; ++i) ASSERT_EQ(crow_a[i], crow_b[i]) << i;
    for (int64_t i = small; i <= large; ++i) ASSERT_EQ(crow_b[i], na) << i;
  }
}
