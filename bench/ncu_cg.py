"""A few CG iterations on poisson2d:N for Nsight Compute (bench/NOTES-gpu.md)."""
import sys

import torch

import dsla
from dsla import _C

m = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
A = dsla.poisson2d(m)
dinv = (1.0 / A.diagonal()).cuda()
Ag = dsla.SparseTensor.from_csr(A.crow.cuda(), A.col.cuda(), A.values.cuda(), A.shape, check=False)
b = torch.ones(A.shape[0], dtype=torch.float64, device="cuda")
_C._cuda_cg(Ag._m, b, dinv, rtol=1e-6, graph=False, maxiter=4, check_every=2)
x = torch.rand(A.shape[0], dtype=torch.float64, device="cuda")
y = Ag @ x
torch.cuda.synchronize()
