// cuDSS phase timing probe (issue #4: Cholesky poisson2d:1024 analysis + factor + solve <= 0.5 s).
// Times cuDSS's reordering, symbolic factorization, factorization and solve separately on
// poisson2d:M (upper CSR, SPD), then reruns with user permutations: the one cuDSS itself chose,
// and a geometric nested dissection of the grid (both as "new -> old" and its inverse), to see
// what an ordering of our own could save. Not part of the library; a measurement tool.
//
//   g++ -O2 -std=c++17 bench/probes/cudss_phase_probe.cpp -I$CUDSS/include -I$CUDA/include
//       -L$CUDSS/lib -L$CUDA/lib64 -lcudss -lcudart -o /tmp/probe && /tmp/probe 1024
#include <cuda_runtime.h>
#include <cudss.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#define CK(x)                                                            \
  do {                                                                   \
    auto s_ = (x);                                                       \
    if (int(s_) != 0) {                                                  \
      std::printf("FAILED %s -> %d (line %d)\n", #x, int(s_), __LINE__); \
      std::exit(1);                                                      \
    }                                                                    \
  } while (0)

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Geometric nested dissection of the m x m grid: halves first, the separator line last.
static void nd(int m, int r0, int r1, int c0, int c1, std::vector<int>& out) {
  const int h = r1 - r0, w = c1 - c0;
  if (h <= 0 || w <= 0) return;
  if (h * w <= 64) {
    for (int r = r0; r < r1; ++r)
      for (int c = c0; c < c1; ++c) out.push_back(r * m + c);
    return;
  }
  if (h >= w) {
    const int s = r0 + h / 2;
    nd(m, r0, s, c0, c1, out);
    nd(m, s + 1, r1, c0, c1, out);
    for (int c = c0; c < c1; ++c) out.push_back(s * m + c);
  } else {
    const int s = c0 + w / 2;
    nd(m, r0, r1, c0, s, out);
    nd(m, r0, r1, s + 1, c1, out);
    for (int r = r0; r < r1; ++r) out.push_back(r * m + s);
  }
}

int main(int argc, char** argv) {
  const int m = argc > 1 ? std::atoi(argv[1]) : 1024;
  const int n = m * m;
  std::vector<int> rp(n + 1), ci;
  std::vector<double> va;
  for (int r = 0; r < m; ++r)
    for (int c = 0; c < m; ++c) {
      const int i = r * m + c;
      rp[i] = int(ci.size());
      ci.push_back(i), va.push_back(4.0);
      if (c + 1 < m) ci.push_back(i + 1), va.push_back(-1.0);
      if (r + 1 < m) ci.push_back(i + m), va.push_back(-1.0);
    }
  rp[n] = int(ci.size());
  const int nnz = rp[n];
  int *d_rp, *d_ci;
  double *d_va, *d_b, *d_x;
  CK(cudaMalloc(&d_rp, (n + 1) * sizeof(int)));
  CK(cudaMalloc(&d_ci, nnz * sizeof(int)));
  CK(cudaMalloc(&d_va, nnz * sizeof(double)));
  CK(cudaMalloc(&d_b, n * sizeof(double)));
  CK(cudaMalloc(&d_x, n * sizeof(double)));
  CK(cudaMemcpy(d_rp, rp.data(), (n + 1) * sizeof(int), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_ci, ci.data(), nnz * sizeof(int), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_va, va.data(), nnz * sizeof(double), cudaMemcpyHostToDevice));
  std::vector<double> ones(n, 1.0);
  CK(cudaMemcpy(d_b, ones.data(), n * sizeof(double), cudaMemcpyHostToDevice));

  cudssHandle_t h;
  CK(cudssCreate(&h));
  const bool mt = std::getenv("CUDSS_THREADING_LIB") != nullptr;
  if (mt) CK(cudssSetThreadingLayer(h, nullptr));
  cudssMatrix_t A, B, X;
  CK(cudssMatrixCreateCsr(&A, n, n, nnz, d_rp, nullptr, d_ci, d_va, CUDA_R_32I, CUDA_R_32I,
                          CUDA_R_64F, CUDSS_MTYPE_SPD, CUDSS_MVIEW_UPPER, CUDSS_BASE_ZERO));
  CK(cudssMatrixCreateDn(&B, n, 1, n, d_b, CUDA_R_64F, CUDSS_LAYOUT_COL_MAJOR));
  CK(cudssMatrixCreateDn(&X, n, 1, n, d_x, CUDA_R_64F, CUDSS_LAYOUT_COL_MAJOR));

  std::vector<int> chosen(n), tree;
  int levels = 0;
  auto run = [&](const char* label, const std::vector<int>* perm, int nthreads,
                 const std::vector<int>* user_tree = nullptr) {
    cudssConfig_t cfg;
    cudssData_t data;
    CK(cudssConfigCreate(&cfg));
    if (nthreads > 0) CK(cudssConfigSet(cfg, CUDSS_CONFIG_HOST_NTHREADS, &nthreads, sizeof(int)));
    CK(cudssDataCreate(h, &data));
    if (perm) CK(cudssDataSet(h, data, CUDSS_DATA_USER_PERM, perm->data(), n * sizeof(int)));
    if (user_tree) {
      // The recipe for a user ordering that keeps cuDSS's fast symbolic phase: ND reordering
      // algorithm, its level count, the permutation and the partition tree together.
      cudssReorderingAlg_t alg = CUDSS_REORDERING_ALG_NESTED_DISSECTION;
      CK(cudssConfigSet(cfg, CUDSS_CONFIG_REORDERING_ALG, &alg, sizeof(alg)));
      if (levels > 0) CK(cudssConfigSet(cfg, CUDSS_CONFIG_ND_NLEVELS, &levels, sizeof(int)));
      CK(cudssDataSet(h, data, CUDSS_DATA_USER_ND_PARTITION_TREE, user_tree->data(),
                      user_tree->size() * sizeof(int)));
    }
    double t[5];
    const int phases[4] = {CUDSS_PHASE_REORDERING, CUDSS_PHASE_SYMBOLIC_FACTORIZATION,
                           CUDSS_PHASE_FACTORIZATION, CUDSS_PHASE_SOLVE};
    t[0] = now();
    for (int p = 0; p < 4; ++p) {
      CK(cudssExecute(h, phases[p], cfg, data, A, X, B));
      CK(cudaDeviceSynchronize());
      t[p + 1] = now();
    }
    int64_t lnz = 0;
    double flops = 0;
    size_t w = 0;
    cudssDataGet(h, data, CUDSS_DATA_LU_NNZ, &lnz, sizeof(lnz), &w);
    cudssDataGet(h, data, CUDSS_DATA_FLOPS, &flops, sizeof(flops), &w);
    if (!perm) {
      CK(cudssDataGet(h, data, CUDSS_DATA_PERM_REORDER_ROW, chosen.data(), n * sizeof(int), &w));
      // The partition tree: print its length, sum and leading entries (its format is not in
      // the 1.0 headers).
      size_t bytes = 0;
      if (cudssDataGet(h, data, CUDSS_DATA_ND_PARTITION_TREE, nullptr, 0, &bytes) == 0 && bytes) {
        tree.assign(bytes / sizeof(int), 0);
        CK(cudssDataGet(h, data, CUDSS_DATA_ND_PARTITION_TREE, tree.data(), bytes, &w));
        long long sum = 0;
        for (int v : tree) sum += v;
        int nl = 0;
        cudssConfigGet(cfg, CUDSS_CONFIG_ND_NLEVELS, &nl, sizeof(int), &w);
        levels = nl;
        std::printf("partition tree: %zu entries (nd levels %d), sum %lld (n = %d):", tree.size(),
                    nl, sum, n);
        for (size_t k = 0; k < tree.size() && k < 40; ++k) std::printf(" %d", tree[k]);
        std::printf("\n");
      } else {
        std::printf("partition tree: not available\n");
      }
    }
    std::vector<double> x(n);
    CK(cudaMemcpy(x.data(), d_x, n * sizeof(double), cudaMemcpyDeviceToHost));
    // Residual of the 5-point system on the host.
    double rr = 0, bb = double(n);
    for (int r = 0; r < m; ++r)
      for (int c = 0; c < m; ++c) {
        const int i = r * m + c;
        double ax = 4 * x[i];
        if (c > 0) ax -= x[i - 1];
        if (c + 1 < m) ax -= x[i + 1];
        if (r > 0) ax -= x[i - m];
        if (r + 1 < m) ax -= x[i + m];
        rr += (1 - ax) * (1 - ax);
      }
    std::printf(
        "{\"run\": \"%s\", \"threads\": %d, \"reorder_s\": %.4f, \"symbolic_s\": %.4f, "
        "\"factor_s\": %.4f, \"solve_s\": %.4f, \"total_s\": %.4f, \"lu_nnz\": %lld, "
        "\"flops\": %.4g, \"rel_res\": %.2e}\n",
        label, nthreads, t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[4] - t[0],
        (long long)lnz, flops, std::sqrt(rr / bb));
    std::fflush(stdout);
    CK(cudssDataDestroy(h, data));
    CK(cudssConfigDestroy(cfg));
  };
  run("warm-up (default)", nullptr, 0);
  run("default", nullptr, 0);
  if (mt) run("default, host threads 16", nullptr, 16);
  std::vector<int> own = chosen, own_tree = tree;
  run("user perm = cuDSS's own", &own, 0);
  if (!own_tree.empty()) run("user perm + partition tree = cuDSS's own", &own, 0, &own_tree);
  std::vector<int> g;
  g.reserve(n);
  nd(m, 0, m, 0, m, g);
  run("user perm = grid ND (new->old)", &g, 0);
  // (Its inverse, tried once: 4.3e9 factor entries, 17 s: cuDSS takes perm[new] = old.)
  return 0;
}
