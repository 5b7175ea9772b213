"""Distributed AMG in a training loop: fit a reaction coefficient c ≥ 0 in  −Δu + c u = 1  on a
2-D or 3-D grid split over processes, so that u matches a target, with AMG-preconditioned CG
across the ranks.

Each rank builds only its box (dsla.distributed.poisson2d / poisson3d). The hierarchy is built
once (``dsla.amg(A)``: distributed levels while large, the coarse level gathered and replicated)
and, as c changes, only updated (``H.update(A_new)``: values and value exchanges). The gradient
of the loss reaches c through one distributed adjoint solve. The first gradient is checked
against the same loss on one process.

    python examples/dist_amg.py [--ranks 2] [--n 32] [--dim 2] [--steps 5]   (spawns Gloo ranks)
    torchrun --standalone --nproc_per_node=2 examples/dist_amg.py            (under a launcher)
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
    gen = dsla.distributed.poisson3d if args.dim == 3 else dsla.distributed.poisson2d
    A0 = gen(args.n)
    N = A0.shape[0]
    ids = A0.owned.to(torch.float64)
    target = 0.05 * torch.sin(ids * 0.01) + 0.1              # this rank's rows of the target
    b = torch.ones(A0.n_owned, dtype=torch.float64)
    theta = torch.zeros(A0.n_owned, dtype=torch.float64, requires_grad=True)  # c = softplus(θ)
    # Distributed levels down to N / 16 rows (a real run keeps the default, 200000).
    H = dsla.amg(A0.add_diag(torch.nn.functional.softplus(theta.detach())),
                 gather_size=max(50, N // 16))
    if rank == 0:
        print(H)
    opt = torch.optim.Adam([theta], lr=0.5)
    losses, grads = [], []
    for step in range(args.steps):
        A = A0.add_diag(torch.nn.functional.softplus(theta))
        if step > 0:
            H.update(A)                                       # numeric re-setup only
        u, info = dsla.solve(A, b, method="cg", M=H, rtol=1e-10, return_info=True)
        loss = dsla.distributed.global_sum((u - target) ** 2)
        opt.zero_grad()
        loss.backward()                                       # collective: one adjoint solve
        if step == 0:
            grads.append(A0.gather(theta.grad.clone()))
        opt.step()
        losses.append(float(loss))
        if rank == 0:
            print(f"step {step}: loss {float(loss):.6e}, CG+AMG {info.iterations} iterations")
    if rank == 0:
        # The first gradient on one process (the same matrix, a sparse direct solve).
        G = dsla.poisson3d(args.n) if args.dim == 3 else dsla.poisson2d(args.n)
        th = torch.zeros(N, dtype=torch.float64, requires_grad=True)
        L = G + dsla.diag(torch.nn.functional.softplus(th))
        gid = torch.arange(N, dtype=torch.float64)
        u1 = dsla.solve(L, torch.ones(N, dtype=torch.float64))
        ((u1 - (0.05 * torch.sin(gid * 0.01) + 0.1)) ** 2).sum().backward()
        err = float((grads[0] - th.grad).abs().max() / th.grad.abs().max())
        print(f"first gradient vs one process: relative error {err:.1e}")
        assert err < 1e-6, err
        assert losses[-1] < losses[0], losses
        print("ok")
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--dim", type=int, default=2, choices=[2, 3])
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # under torchrun
        run(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), "env://", args)
        return
    d = tempfile.mkdtemp()
    mp.spawn(run, args=(args.ranks, "file://" + os.path.join(d, "init"), args),
             nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
