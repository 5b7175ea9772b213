// See supernodal_cholesky.h. Built with SuiteSparse only: it links the same BLAS / LAPACK.
#include <dsla/config.h>

#if DSLA_HAVE_SUITESPARSE

#include "kernels/cpu/supernodal_cholesky.h"

#include <algorithm>
#include <cstring>
#include <vector>

// BLAS / LAPACK (Fortran interface, 32-bit integers: Debian's reference and OpenBLAS builds).
extern "C" {
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dtrsm_(const char* side, const char* uplo, const char* ta, const char* diag, const int* m,
            const int* n, const double* alpha, const double* a, const int* lda, double* b,
            const int* ldb);
}

namespace dsla::kernels::cpu {

int64_t supernodal_cholesky(const SupernodalPattern& L, const int64_t* Ap, const int64_t* Ai,
                            const double* Ax, double* x, int64_t nfactor) {
  const int64_t n = L.n, ns = L.nsuper;
  const int64_t *super = L.super, *pi = L.pi, *px = L.px, *Ls = L.s;
  // fcols[k]: the eliminated columns of supernode k (all of them below nfactor, none above);
  // only those update later supernodes.
  std::vector<int64_t> super_of(n), map(n), head(ns, -1), next(ns, -1), lpos(ns, 0), fcols(ns);
  for (int64_t k = 0; k < ns; ++k) {
    for (int64_t j = super[k]; j < super[k + 1]; ++j) super_of[j] = k;
    fcols[k] = std::clamp<int64_t>(nfactor - super[k], 0, super[k + 1] - super[k]);
  }
  std::vector<double> C;
  const double one = 1.0, zero = 0.0;
  for (int64_t k = 0; k < ns; ++k) {
    const int64_t k1 = super[k], k2 = super[k + 1], nscol = k2 - k1;
    const int64_t psi = pi[k], nsrow = pi[k + 1] - psi;
    double* Lk = x + px[k];
    for (int64_t t = 0; t < nsrow; ++t) map[Ls[psi + t]] = t;
    std::memset(Lk, 0, sizeof(double) * static_cast<size_t>(nscol * nsrow));
    for (int64_t j = k1; j < k2; ++j) {
      double* col = Lk + (j - k1) * nsrow;
      for (int64_t q = Ap[j]; q < Ap[j + 1]; ++q) col[map[Ai[q]]] += Ax[q];
    }
    // Updates from the descendants whose next rows fall in columns k1..k2-1.
    int64_t d = head[k];
    head[k] = -1;
    while (d >= 0) {
      const int64_t dnext = next[d];
      const int64_t pdi = pi[d], pdend = pi[d + 1], ndrow = pdend - pdi;
      const int64_t ndcol = fcols[d];
      const int64_t p1 = pdi + lpos[d];
      int64_t p2 = p1;
      while (p2 < pdend && Ls[p2] < k2) ++p2;
      const int64_t ndrow1 = p2 - p1, ndrow2 = pdend - p1, ndrow3 = ndrow2 - ndrow1;
      const double* Ld = x + px[d] + (p1 - pdi);
      if (C.size() < static_cast<size_t>(ndrow1 * ndrow2))
        C.resize(static_cast<size_t>(ndrow1 * ndrow2));
      const int m1 = static_cast<int>(ndrow1), m2 = static_cast<int>(ndrow2),
                m3 = static_cast<int>(ndrow3), kc = static_cast<int>(ndcol),
                ld = static_cast<int>(ndrow);
      dsyrk_("L", "N", &m1, &kc, &one, Ld, &ld, &zero, C.data(), &m2);
      if (m3 > 0)
        dgemm_("N", "T", &m3, &m1, &kc, &one, Ld + ndrow1, &ld, Ld, &ld, &zero, C.data() + ndrow1,
               &m2);
      for (int64_t jj = 0; jj < ndrow1; ++jj) {
        double* col = Lk + (Ls[p1 + jj] - k1) * nsrow;
        const double* c = C.data() + jj * ndrow2;
        for (int64_t ii = jj; ii < ndrow2; ++ii) col[map[Ls[p1 + ii]]] -= c[ii];
      }
      lpos[d] = p2 - pdi;
      if (p2 < pdend) {
        const int64_t t = super_of[Ls[p2]];
        next[d] = head[t];
        head[t] = d;
      }
      d = dnext;
    }
    // Eliminate the first fc columns: potrf of their diagonal block, trsm of the rows below.
    const int64_t fc = fcols[k];
    if (fc == 0) continue;  // a Schur-complement supernode: assembled and updated only
    const int nf = static_cast<int>(fc), lda = static_cast<int>(nsrow);
    int info = 0;
    dpotrf_("L", &nf, Lk, &lda, &info);
    if (info != 0) return info > 0 ? k1 + info - 1 : k1;
    if (nsrow > fc) {
      const int mr = static_cast<int>(nsrow - fc);
      dtrsm_("R", "L", "T", "N", &mr, &nf, &one, Lk, &lda, Lk + fc, &lda);
    }
    if (fc < nscol) {
      // Columns fc.. of this supernode are not eliminated: subtract L21 L21ᵀ from them (the
      // Schur complement within the supernode).
      const int nt = static_cast<int>(nscol - fc), nb = static_cast<int>(nsrow - nscol);
      const double minus = -1.0;
      double* T = Lk + fc * nsrow + fc;
      dsyrk_("L", "N", &nt, &nf, &minus, Lk + fc, &lda, &one, T, &lda);
      if (nb > 0)
        dgemm_("N", "T", &nb, &nt, &nf, &minus, Lk + nscol, &lda, Lk + fc, &lda, &one, T + nt,
               &lda);
    }
    if (nsrow > nscol) {
      const int64_t t = super_of[Ls[psi + nscol]];
      lpos[k] = nscol;
      next[k] = head[t];
      head[t] = k;
    }
  }
  return n;
}

}  // namespace dsla::kernels::cpu

#endif  // DSLA_HAVE_SUITESPARSE
