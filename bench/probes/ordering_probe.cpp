// Fill-reducing orderings compared through CHOLMOD's symbolic analysis (issue #3 / #4): time of
// the ordering, nnz(L) and flops for dsla's nested dissection (kernels/cpu/nested_dissection),
// CHOLMOD's AMD and METIS, on poisson2d:M or a Matrix Market file (symmetric). A measurement
// tool, not part of the library.
//
//   g++ -O2 -std=c++17 -fopenmp -Isrc bench/probes/ordering_probe.cpp
//       src/kernels/cpu/nested_dissection.cpp -I/usr/include/suitesparse -lcholmod -o /tmp/op
//   /tmp/op 1024 [threads]
// Without SuiteSparse (the GPU machine): add -DDSLA_PROBE_NO_CHOLMOD, drop -lcholmod; then only
// the ordering time is printed.
#ifndef DSLA_PROBE_NO_CHOLMOD
#include <cholmod.h>
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kernels/cpu/nested_dissection.h"

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
  const int64_t m = argc > 1 ? std::atoll(argv[1]) : 1024;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int64_t n = m * m;
  std::vector<int64_t> crow(n + 1), col;  // full symmetric pattern
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < m; ++c) {
      const int64_t i = r * m + c;
      crow[i] = static_cast<int64_t>(col.size());
      if (r > 0) col.push_back(i - m);
      if (c > 0) col.push_back(i - 1);
      col.push_back(i);
      if (c + 1 < m) col.push_back(i + 1);
      if (r + 1 < m) col.push_back(i + m);
    }
  crow[n] = static_cast<int64_t>(col.size());
#ifndef DSLA_PROBE_NO_CHOLMOD
  // Lower triangle (stype -1) by columns = upper triangle by rows of the CSR.
  std::vector<int64_t> p(n + 1, 0), ii;
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t q = crow[j]; q < crow[j + 1]; ++q)
      if (col[q] >= j) ii.push_back(col[q]);
    p[j + 1] = static_cast<int64_t>(ii.size());
  }
  cholmod_sparse A{};
  A.nrow = A.ncol = n;
  A.nzmax = ii.size();
  A.p = p.data();
  A.i = ii.data();
  A.stype = -1;
  A.itype = CHOLMOD_LONG;
  A.xtype = CHOLMOD_PATTERN;
  A.dtype = CHOLMOD_DOUBLE;
  A.sorted = 1;
  A.packed = 1;
  auto run = [&](const char* name, int ordering, const std::vector<int64_t>* perm, double t_order) {
    cholmod_common c;
    cholmod_l_start(&c);
    c.supernodal = CHOLMOD_SUPERNODAL;
    c.nmethods = 1;
    c.method[0].ordering = ordering;
    const double t0 = now();
    cholmod_factor* L =
        perm ? cholmod_l_analyze_p(&A, const_cast<int64_t*>(perm->data()), nullptr, 0, &c)
             : cholmod_l_analyze(&A, &c);
    const double t1 = now();
    std::printf(
        "{\"ordering\": \"%s\", \"order_s\": %.3f, \"analyze_s\": %.3f, \"lnz\": %.4g, "
        "\"flops\": %.4g}\n",
        name, t_order, t1 - t0, c.lnz, c.fl);
    std::fflush(stdout);
    cholmod_l_free_factor(&L, &c);
    cholmod_l_finish(&c);
  };
#endif
  for (int levels : {1, 10}) {
    const double t0 = now();
    auto nd = dsla::kernels::cpu::nested_dissection<int64_t>(
        n, crow.data(), col.data(), levels, 64, dsla::kernels::cpu::NdLayout::BottomUp, threads);
    const double t1 = now();
#ifndef DSLA_PROBE_NO_CHOLMOD
    run(levels == 1 ? "dsla nd (given)" : "dsla nd, 10 tree levels (given)", CHOLMOD_GIVEN,
        &nd.perm, t1 - t0);
#else
    std::printf("{\"ordering\": \"dsla nd, %d tree levels\", \"threads\": %d, \"order_s\": %.3f}\n",
                levels, threads, t1 - t0);
#endif
  }
#ifndef DSLA_PROBE_NO_CHOLMOD
  run("amd (order time inside analyze)", CHOLMOD_AMD, nullptr, 0);
  run("metis (order time inside analyze)", CHOLMOD_METIS, nullptr, 0);
#endif
  return 0;
}
