"""SciPy reference for bench/cpp/bench_spgemm.cpp: A @ A and P.T @ (A @ P) on poisson2d:1024 (fp64,
3x3 block aggregation P). SciPy's SpGEMM is single-threaded. Median of 7 runs.

    PYTHONPATH=python /usr/bin/python3 bench/spgemm_scipy.py [n]
"""
import sys
import time

import numpy as np
import scipy.sparse as sp


def poisson2d(n):
    T = sp.diags([-1.0, 4.0, -1.0], [-1, 0, 1], shape=(n, n))
    E = sp.diags([-1.0, -1.0], [-1, 1], shape=(n, n))
    I = sp.identity(n)
    return (sp.kron(I, T) + sp.kron(E, I)).tocsr()


def aggregation(n):
    m = (n + 2) // 3
    idx = np.arange(n * n)
    agg = (idx // n) // 3 * m + (idx % n) // 3
    return sp.csr_matrix((np.ones(n * n), (idx, agg)), shape=(n * n, m * m))


def median_time(f, reps=7):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    A = poisson2d(n)
    P = aggregation(n)
    Pt = P.T.tocsr()
    C = A @ A
    print(f"poisson2d:{n}  N={A.shape[0]} nnz(A)={A.nnz} nnz(A@A)={C.nnz}")
    print(f"scipy A @ A           : {median_time(lambda: A @ A) * 1e3:8.2f} ms")
    print(f"scipy Pt @ (A @ P)    : {median_time(lambda: Pt @ (A @ P)) * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
