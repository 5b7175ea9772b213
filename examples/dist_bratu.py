"""Nonlinear Bratu problem  −Δu = λ eᵘ  across processes (2-D or 3-D, u = 0 on the boundary):
Newton with a distributed Jacobian, then Jacobian-free Newton–Krylov, then du/dλ through the
implicit adjoint (one distributed transpose solve), each checked against the one-process solve.

Each rank builds only its box of the grid (dsla.distributed.poisson2d / poisson3d); F acts on
this rank's owned slice of u (``A @ u`` exchanges the halo); the Jacobian J = −Δ − λ diag(eᵘ) is
``A.add_diag(-λ eᵘ)`` (the same distribution, so the DistSolver is only refactored per step).

    python examples/dist_bratu.py [--ranks 2] [--n 32] [--dim 2] [--lam 5.0]   (spawns Gloo ranks)
    torchrun --standalone --nproc_per_node=2 examples/dist_bratu.py            (under a launcher)
"""
import argparse
import datetime
import os
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import dsla


def run(rank, world, init, args):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=120))
    n, lam0 = args.n, args.lam
    h = 1.0 / (n + 1)
    gen = dsla.distributed.poisson3d if args.dim == 3 else dsla.distributed.poisson2d
    A0 = gen(n)
    A = A0.with_values(A0.values / h**2)  # −Δ on this rank's box

    def F(u, lam):
        return A @ u - lam * torch.exp(u)

    def J(u, lam):
        return A.add_diag(-lam * torch.exp(u))  # same distribution: the solver refactors

    u0 = torch.zeros(A.n_owned, dtype=torch.float64)
    lam = torch.tensor(lam0, dtype=torch.float64, requires_grad=True)
    u, info = dsla.nonlinear_solve(F, u0, lam, jacobian=J, dist=A, rtol=1e-12, return_info=True)
    u_free, info_free = dsla.nonlinear_solve(F, u0, lam0, dist=A, rtol=1e-10, return_info=True)
    # du/dλ summed with weights w: the implicit adjoint (one distributed transpose solve).
    w = torch.sin(A.owned.to(torch.float64))
    dsla.distributed.global_sum(w * u).backward()
    g = lam.grad.clone()
    dist.all_reduce(g)
    ug, ufg = A.gather(u.detach()), A.gather(u_free)
    if rank == 0:
        # The same problem on one process.
        L = (dsla.poisson3d(n) if args.dim == 3 else dsla.poisson2d(n)) / h**2
        N = L.shape[0]
        lam1 = torch.tensor(lam0, dtype=torch.float64, requires_grad=True)
        u1 = dsla.nonlinear_solve(lambda v, q: L @ v - q * torch.exp(v),
                                  torch.zeros(N, dtype=torch.float64), lam1,
                                  jacobian=lambda v, q: L - dsla.diag(q * torch.exp(v)),
                                  rtol=1e-12)
        (torch.sin(torch.arange(N, dtype=torch.float64)) * u1).sum().backward()
        err = float((ug - u1.detach()).abs().max())
        print(f"{world} ranks, {args.dim}-D n={n}: Newton {info.iterations} steps "
              f"({info.linear_solver}), JFNK {info_free.iterations} steps, max u = "
              f"{float(ug.max()):.6f}, |u - one process| = {err:.1e}")
        print(f"d(w·u)/dλ = {float(g):.6f} (one process {float(lam1.grad):.6f})")
        assert err < 1e-9 and float((ufg - u1.detach()).abs().max()) < 1e-6
        assert abs(float(g) - float(lam1.grad)) <= 1e-7 * abs(float(lam1.grad))
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, default=2, help="Gloo processes to spawn")
    ap.add_argument("--n", type=int, default=32, help="grid points per side")
    ap.add_argument("--dim", type=int, default=2, choices=[2, 3])
    ap.add_argument("--lam", type=float, default=5.0, help="λ (2-D fold near 6.8)")
    args = ap.parse_args()
    if "RANK" in os.environ:  # under torchrun
        run(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), "env://", args)
        if int(os.environ["RANK"]) == 0:
            print("ok")
        return
    d = tempfile.mkdtemp()
    mp.spawn(run, args=(args.ranks, "file://" + os.path.join(d, "init"), args),
             nprocs=args.ranks, join=True)
    print("ok")


if __name__ == "__main__":
    main()
