"""Mixed-precision Jacobi-CG: float32 matrix values, float64 vectors and sums.

A matrix stored in torch.float32 solved with a torch.float64 right-hand side reads half the
matrix bytes per iteration and still reaches float64 accuracy, because every product and sum is
done in float64 (the system solved is exactly the float32 matrix). Compared here with the
float64 solve of the same matrix and with an all-float32 solve, which stalls; then a gradient
through the mixed solve (the values' gradient comes back in float32).

    python examples/mixed_precision_cg.py [--n 512] [--device cuda]
"""
import argparse
import time
import warnings

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
    A32 = dsla.poisson2d(args.n, dtype=torch.float32, device=dev)  # exact in float32
    A64 = dsla.poisson2d(args.n, device=dev)
    b = torch.ones(A32.shape[0], dtype=torch.float64, device=dev)
    rtol = 1e-10
    print(f"{dev}: {A32.shape[0]} unknowns, matrix values {A32.values.numel() * 4 / 1e6:.1f} MB "
          f"in float32 ({A64.values.numel() * 8 / 1e6:.1f} MB in float64)")
    runs = {}
    for name, A, rhs in (("float64", A64, b), ("mixed", A32, b), ("float32", A32, b.float())):
        t = time.perf_counter()
        with warnings.catch_warnings():  # the float32 run stalls and says so: expected here
            warnings.simplefilter("ignore", dsla.SolveWarning)
            x, info = dsla.solve(A, rhs, method="cg", precond="jacobi", rtol=rtol,
                                 maxiter=16 * args.n, return_info=True)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        res = float((b - A64 @ x.double()).norm() / b.norm())
        runs[name] = (x, info.iterations, res)
        print(f"{name:8s}: x {str(x.dtype):14s} {info.iterations:5d} iterations, "
              f"{time.perf_counter() - t:.3f} s, true residual {res:.1e}")
    x64, it64, res64 = runs["float64"]
    xm, itm, resm = runs["mixed"]
    assert xm.dtype == torch.float64 and itm == it64 and resm < 10 * rtol, runs["mixed"][1:]
    assert torch.allclose(xm, x64, rtol=1e-12, atol=0), "the float32 stencil is exact"
    assert runs["float32"][2] > 1e3 * rtol, "float32 vectors cannot reach rtol 1e-10"
    v = A32.values.clone().requires_grad_()
    x = dsla.solve(A32.with_values(v), b, method="cg", precond="jacobi", rtol=rtol)
    (gv,) = torch.autograd.grad(x.sum(), v)
    print(f"gradient of sum(x) w.r.t. the float32 values: {gv.dtype}, |g| = {float(gv.norm()):.4e}")
    assert gv.dtype == torch.float32 and torch.isfinite(gv).all()
    print("ok")


if __name__ == "__main__":
    main()
