/* The peer of dsla's CPU AMG-PCG (issue #17 item 7): hypre's BoomerAMG as the preconditioner
 * of hypre's PCG on poisson2d:n — the 5-point Laplacian of an n x n grid, Dirichlet, diagonal 4,
 * off-diagonals -1 (dsla.poisson2d), rows in lexicographic order split in contiguous blocks over
 * the MPI ranks — b = 1, x0 = 0, stopping on the relative residual 2-norm <= rtol. BoomerAMG
 * keeps hypre's defaults (HMIS coarsening, extended+i interpolation, l1-Gauss-Seidel
 * forward / backward: a symmetric cycle), one V-cycle per PCG iteration. Setup and solve are
 * timed separately (MPI_Wtime, the slowest rank); the median of `reps` repeats is printed as one
 * JSON line by rank 0.
 *
 *   mpicc -O2 boomeramg_pcg.c -I/usr/include/hypre -lHYPRE -o boomeramg_pcg
 *   mpirun -n 2 ./boomeramg_pcg 1024 1e-6 5
 */
#include <HYPRE.h>
#include <HYPRE_IJ_mv.h>
#include <HYPRE_parcsr_ls.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const HYPRE_BigInt n = argc > 1 ? atol(argv[1]) : 1024;
  const double rtol = argc > 2 ? atof(argv[2]) : 1e-6;
  const int reps = argc > 3 ? atoi(argv[3]) : 5;
  HYPRE_Init();
  const HYPRE_BigInt N = n * n;
  const HYPRE_BigInt lo = N * rank / size, hi = N * (rank + 1) / size - 1;

  HYPRE_IJMatrix Aij;
  HYPRE_IJMatrixCreate(MPI_COMM_WORLD, lo, hi, lo, hi, &Aij);
  HYPRE_IJMatrixSetObjectType(Aij, HYPRE_PARCSR);
  HYPRE_IJMatrixInitialize(Aij);
  for (HYPRE_BigInt r = lo; r <= hi; ++r) {
    HYPRE_BigInt cols[5];
    double vals[5];
    HYPRE_Int k = 0;
    const HYPRE_BigInt i = r / n, j = r % n;
    if (i > 0) { cols[k] = r - n; vals[k++] = -1.0; }
    if (j > 0) { cols[k] = r - 1; vals[k++] = -1.0; }
    cols[k] = r; vals[k++] = 4.0;
    if (j < n - 1) { cols[k] = r + 1; vals[k++] = -1.0; }
    if (i < n - 1) { cols[k] = r + n; vals[k++] = -1.0; }
    HYPRE_Int one = 1;
    HYPRE_IJMatrixSetValues(Aij, one, &k, &r, cols, vals);
  }
  HYPRE_IJMatrixAssemble(Aij);
  HYPRE_ParCSRMatrix A;
  HYPRE_IJMatrixGetObject(Aij, (void**)&A);

  HYPRE_IJVector bij, xij;
  const HYPRE_Int nloc = (HYPRE_Int)(hi - lo + 1);
  HYPRE_BigInt* idx = malloc(sizeof(HYPRE_BigInt) * nloc);
  double* ones = malloc(sizeof(double) * nloc);
  double* zeros = malloc(sizeof(double) * nloc);
  for (HYPRE_Int t = 0; t < nloc; ++t) { idx[t] = lo + t; ones[t] = 1.0; zeros[t] = 0.0; }
  HYPRE_IJVectorCreate(MPI_COMM_WORLD, lo, hi, &bij);
  HYPRE_IJVectorSetObjectType(bij, HYPRE_PARCSR);
  HYPRE_IJVectorInitialize(bij);
  HYPRE_IJVectorSetValues(bij, nloc, idx, ones);
  HYPRE_IJVectorAssemble(bij);
  HYPRE_IJVectorCreate(MPI_COMM_WORLD, lo, hi, &xij);
  HYPRE_IJVectorSetObjectType(xij, HYPRE_PARCSR);
  HYPRE_IJVectorInitialize(xij);
  HYPRE_IJVectorSetValues(xij, nloc, idx, zeros);
  HYPRE_IJVectorAssemble(xij);
  HYPRE_ParVector b, x;
  HYPRE_IJVectorGetObject(bij, (void**)&b);
  HYPRE_IJVectorGetObject(xij, (void**)&x);

  double* ts = malloc(sizeof(double) * reps);
  double* tv = malloc(sizeof(double) * reps);
  HYPRE_Int its = 0;
  double res = 0.0;
  for (int rep = 0; rep <= reps; ++rep) {  /* rep 0: warm-up */
    HYPRE_IJVectorSetValues(xij, nloc, idx, zeros);
    HYPRE_Solver pcg, amg;
    HYPRE_ParCSRPCGCreate(MPI_COMM_WORLD, &pcg);
    HYPRE_PCGSetTol(pcg, rtol);
    HYPRE_PCGSetTwoNorm(pcg, 1);
    HYPRE_PCGSetMaxIter(pcg, 1000);
    HYPRE_BoomerAMGCreate(&amg);
    HYPRE_BoomerAMGSetMaxIter(amg, 1);
    HYPRE_BoomerAMGSetTol(amg, 0.0);
    HYPRE_PCGSetPrecond(pcg, (HYPRE_PtrToSolverFcn)HYPRE_BoomerAMGSolve,
                        (HYPRE_PtrToSolverFcn)HYPRE_BoomerAMGSetup, amg);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    HYPRE_ParCSRPCGSetup(pcg, A, b, x);
    double t1 = MPI_Wtime();
    HYPRE_ParCSRPCGSolve(pcg, A, b, x);
    double t2 = MPI_Wtime();
    double loc[2] = {t1 - t0, t2 - t1}, glob[2];
    MPI_Allreduce(loc, glob, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rep > 0) { ts[rep - 1] = glob[0]; tv[rep - 1] = glob[1]; }
    HYPRE_PCGGetNumIterations(pcg, &its);
    HYPRE_PCGGetFinalRelativeResidualNorm(pcg, &res);
    HYPRE_BoomerAMGDestroy(amg);
    HYPRE_ParCSRPCGDestroy(pcg);
  }
  qsort(ts, reps, sizeof(double), cmp);
  qsort(tv, reps, sizeof(double), cmp);
  if (rank == 0)
    printf("{\"solver\": \"hypre BoomerAMG + PCG\", \"ranks\": %d, \"n\": %lld, \"setup_s\": %.6f, "
           "\"solve_s\": %.6f, \"total_s\": %.6f, \"iterations\": %d, \"residual\": %.3e}\n",
           size, (long long)N, ts[reps / 2], tv[reps / 2], ts[reps / 2] + tv[reps / 2], (int)its,
           res);
  HYPRE_IJMatrixDestroy(Aij);
  HYPRE_IJVectorDestroy(bij);
  HYPRE_IJVectorDestroy(xij);
  HYPRE_Finalize();
  MPI_Finalize();
  return 0;
}
