"""PDE-constrained inverse problem with gradients through a sparse solve.

Unknown: a reaction coefficient field k(x) > 0 in  -Δu + k u = f  on the unit square (5-point
Laplacian, Dirichlet boundary). Data: u observed (with noise) at every grid point. We fit
θ = log k by minimizing  ½‖u(θ) − u_obs‖² + ½ α‖∇θ‖²  with L-BFGS; each gradient of the misfit
costs one adjoint solve, which dsla.solve does in its backward pass.

    python examples/inverse_poisson.py [--n 48] [--iters 40]
"""
import argparse

import torch

import dsla


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=48, help="grid points per side")
    ap.add_argument("--iters", type=int, default=40, help="L-BFGS iterations")
    args = ap.parse_args()
    torch.manual_seed(0)
    n = args.n
    h = 1.0 / (n + 1)
    L = dsla.poisson2d(n) / h**2  # -Δ
    xs = torch.linspace(h, 1 - h, n, dtype=torch.float64)
    X, Y = torch.meshgrid(xs, xs, indexing="ij")
    k_true = (1.0 + 40.0 * torch.exp(-((X - 0.35) ** 2 + (Y - 0.6) ** 2) / 0.02)).reshape(-1)
    f = torch.full((n * n,), 100.0, dtype=torch.float64)

    def forward(theta):
        A = dsla.add(L, dsla.diag(torch.exp(theta)))  # differentiable in theta
        return dsla.solve(A, f, method="cholesky" if dsla.features["suitesparse"] else "cg",
                          rtol=1e-12)

    with torch.no_grad():
        u_true = forward(torch.log(k_true))
        u_obs = u_true + 1e-3 * u_true.abs().max() * torch.randn_like(u_true)

    # Smoothness regularization on the grid (differences of θ along both axes).
    def reg(theta):
        t = theta.reshape(n, n)
        return ((t[1:] - t[:-1]) ** 2).sum() + ((t[:, 1:] - t[:, :-1]) ** 2).sum()

    alpha = 1e-6
    theta = torch.zeros(n * n, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([theta], max_iter=args.iters, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = 0.5 * ((forward(theta) - u_obs) ** 2).sum() + 0.5 * alpha * reg(theta)
        loss.backward()
        return loss

    with torch.no_grad():
        first = float(0.5 * ((forward(theta) - u_obs) ** 2).sum())
    opt.step(closure)
    with torch.no_grad():
        misfit = float(0.5 * ((forward(theta) - u_obs) ** 2).sum())
        err = float((torch.exp(theta) - k_true).norm() / k_true.norm())
    print(f"misfit {first:.3e} -> {misfit:.3e}; relative error of k: {err:.3f}")
    assert misfit < 1e-2 * first, "the fit did not reduce the misfit 100-fold"
    print("ok")


if __name__ == "__main__":
    main()
