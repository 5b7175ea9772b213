"""Graph Laplacian eigenproblem: spectral bisection of a graph.

Reads the graph G51 (SuiteSparse Matrix Collection, shipped in data/), builds its Laplacian
L = D − W as a SparseTensor, computes the smallest eigenpairs with dsla.eigsh, splits the
vertices by the sign of the Fiedler vector and checks the eigenvalues against SciPy.

    python examples/graph_laplacian.py [--k 4] [--graph data/G51.mtx]
"""
import argparse
import pathlib

import numpy as np
import torch

import dsla

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", default=str(ROOT / "data" / "G51.mtx"))
    ap.add_argument("--k", type=int, default=4, help="eigenpairs")
    args = ap.parse_args()
    W = dsla.read_mtx(args.graph)  # pattern matrix: weights 1
    W = W.with_values(torch.ones_like(W.values))
    L = dsla.diag(W.sum(dim=1)) - W  # Laplacian D - W: rows sum to zero
    lam, U = dsla.eigsh(L, k=args.k, which="SA", tol=1e-10)
    fiedler = U[:, 1]
    part = fiedler > 0
    cut = int(((W.row[part[W.row.long()] != part[W.col.long()]]).numel()) // 2)
    print(f"n={L.shape[0]} edges={W.nnz // 2} smallest eigenvalues {lam.tolist()}")
    print(f"spectral bisection: {int(part.sum())} / {int((~part).sum())} vertices, cut {cut} edges")
    try:
        import scipy.sparse.linalg as spla

        ref = np.sort(spla.eigsh(L.to_scipy(), k=args.k, sigma=-1e-3, which="LM")[0])
        assert np.allclose(lam.numpy(), ref, rtol=1e-7, atol=1e-9), (lam, ref)
        print("matches SciPy's eigsh")
    except ImportError:
        pass
    assert abs(float(lam[0])) < 1e-8, "a Laplacian's smallest eigenvalue is 0"
    print("ok")


if __name__ == "__main__":
    main()
