"""Nonlinear Bratu problem  −Δu = λ eᵘ  (unit square, u = 0 on the boundary) by Newton.

Solves it twice, with an assembled sparse Jacobian J = −Δ − λ diag(eᵘ) and Jacobian-free
(JFNK), then differentiates the solution with respect to λ through the implicit function
theorem (dsla.nonlinear_solve's backward: one adjoint solve) and checks du/dλ against a finite
difference.

    python examples/bratu.py [--n 32] [--lam 5.0]
"""
import argparse

import torch

import dsla


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32, help="grid points per side")
    ap.add_argument("--lam", type=float, default=5.0, help="λ (the fold is near 6.8)")
    args = ap.parse_args()
    n = args.n
    h = 1.0 / (n + 1)
    L = dsla.poisson2d(n) / h**2

    def F(u, lam):
        return L @ u - lam * torch.exp(u)

    def J(u, lam):
        return L - dsla.diag(lam * torch.exp(u))

    u0 = torch.zeros(n * n, dtype=torch.float64)
    lam = torch.tensor(args.lam, dtype=torch.float64, requires_grad=True)
    u, info = dsla.nonlinear_solve(F, u0, lam, method="newton", jacobian=J, return_info=True,
                                   rtol=1e-12)
    u_jfnk = dsla.nonlinear_solve(F, u0, lam.detach(), method="newton", rtol=1e-12)
    print(f"Newton (assembled J): {info.iterations} iterations, max u = {float(u.max()):.6f}")
    diff = float((u.detach() - u_jfnk).abs().max())
    print(f"JFNK agrees to {diff:.1e}")
    assert diff < 1e-6

    # d(sum u)/dλ by the implicit-function adjoint, against a central difference.
    (g,) = torch.autograd.grad(u.sum(), lam)
    eps = 1e-5
    up = dsla.nonlinear_solve(F, u0, lam.detach() + eps, jacobian=J, rtol=1e-13)
    um = dsla.nonlinear_solve(F, u0, lam.detach() - eps, jacobian=J, rtol=1e-13)
    fd = float((up.sum() - um.sum()) / (2 * eps))
    print(f"d(sum u)/dλ: adjoint {float(g):.8f}, finite difference {fd:.8f}")
    assert abs(float(g) - fd) < 1e-5 * abs(fd)
    print("ok")


if __name__ == "__main__":
    main()
