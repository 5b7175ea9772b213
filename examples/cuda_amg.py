"""AMG-preconditioned CG on the GPU (on the CPU when there is none).

A 2-D Poisson problem on the device, solved with CG and dsla's smoothed-aggregation AMG as the
preconditioner (set up on the device), compared with Jacobi-preconditioned CG; then the same
solve differentiated with respect to the right-hand side.

    python examples/cuda_amg.py [--n 512] [--device cuda]
"""
import argparse
import time

import torch

import dsla


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=512, help="grid points per side")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    dev = torch.device(args.device)
    if dev.type == "cuda" and not dsla.features["cuda"]:
        raise SystemExit("this dsla build has no CUDA (dsla.features['cuda'] is False)")
    A = dsla.poisson2d(args.n).to(dev)
    b = torch.ones(A.shape[0], dtype=torch.float64, device=dev)
    print(f"{dev}: {A}")
    results = {}
    for name, kw in (("amg", dict(precond="amg")), ("jacobi", dict(precond="jacobi"))):
        t = time.perf_counter()
        x, info = dsla.solve(A, b, method="cg", rtol=1e-8, return_info=True, **kw)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        results[name] = info.iterations
        res = float((A @ x - b).norm() / b.norm())
        print(f"CG + {name:6s}: {info.iterations:5d} iterations, {time.perf_counter() - t:.3f} s,"
              f" residual {res:.1e}")
        assert info.converged and res < 1e-7
    assert results["amg"] < results["jacobi"], results
    bb = b.clone().requires_grad_()
    x = dsla.solve(A, bb, method="cg", precond="amg", rtol=1e-10)
    (g,) = torch.autograd.grad(x.sum(), bb)  # = A⁻ᵀ 1: one more preconditioned solve
    print(f"gradient through the solve: |g| = {float(g.norm()):.4e}")
    print("ok")


if __name__ == "__main__":
    main()
