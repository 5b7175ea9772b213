"""cuDSS's once-per-process set-up, paid ahead of the first direct solve.

A first ``method="cholesky" | "ldlt" | "lu"`` solve of a CUDA matrix in a fresh process costs
seconds more than later ones (poisson2d:1024 on an H200: 2.9 s, then 0.44 s for a new
pattern). ``DSLA_CUDSS_TRACE=1`` and ``bench/cudss_first_call.py`` place it: cuDSS's own
set-up is small (handle 3 ms, a 2 x 2 factorization 0.08 s); 2.2 s is the first use of the
torch kernels and libraries of the solve path around it. :func:`cudss_prepare` pays all of it
with direct solves of a 4 x 4 problem through dsla.solve (cuDSS's set-up comes with them) — by
default in a background thread, so it overlaps whatever the program does before its first solve
(reading or assembling the matrix).
A solve that starts while it runs waits for it rather than doing the work twice.

``DSLA_CUDSS_PREPARE=1`` in the environment starts it at ``import dsla`` (on the current CUDA
device); it is off by default because it creates a CUDA context in every process that imports
dsla.
"""
import os
import threading

import torch

from . import _C

_threads = {}
_lock = threading.Lock()


def cudss_prepare(device=None, background=True):
    """Pay cuDSS's one-time set-up on ``device`` (a CUDA device, index or ``torch.device``;
    default the current one) now.

    background=True (the default) runs it in a daemon thread and returns that thread
    (``.join()`` waits; an error there is not raised in the thread: the first direct solve meets
    the same error and reports it); background=False returns when it is done and raises what
    it meets. Repeated calls for one device
    return the same thread; the work is done once per process.
    """
    if not dict(_C.features).get("cudss", False):
        raise NotImplementedError(
            "dsla.cudss_prepare: this build has no cuDSS (dsla.features['cudss'] is False); "
            "build with CUDSS_ROOT set to an unpacked nvidia-cudss wheel")
    if not torch.cuda.is_available():
        raise RuntimeError("dsla.cudss_prepare: no CUDA device is available")
    if device is None:
        index = torch.cuda.current_device()
    else:
        d = torch.device(device) if not isinstance(device, int) else torch.device("cuda", device)
        if d.type != "cuda":
            raise ValueError(f"dsla.cudss_prepare: argument 'device': expected a CUDA device, "
                             f"got {d}; pass e.g. device='cuda:0'")
        index = d.index if d.index is not None else torch.cuda.current_device()
    if not 0 <= index < torch.cuda.device_count():
        raise ValueError(f"dsla.cudss_prepare: argument 'device': CUDA device {index} does not "
                         f"exist ({torch.cuda.device_count()} visible); pass one of 0 .. "
                         f"{torch.cuda.device_count() - 1}")
    if not background:
        _prepare(index)
        return None
    with _lock:
        t = _threads.get(index)
        if t is None:
            t = threading.Thread(target=_run, args=(index,), name=f"dsla-cudss-prepare-{index}",
                                 daemon=True)
            _threads[index] = t
            t.start()
    return t


def _prepare(index):
    """Tiny direct solves (cholesky, lu) through dsla.solve: cuDSS's own set-up and the first use
    of every torch kernel and library the solve path runs (its CSR view, checks and residual),
    the larger part on an H200 (DSLA_CUDSS_TRACE, bench/cudss_first_call.py: of a 2.9 s first
    call, 0.7 s was the factorization's own work; a cuDSS-only 2 x 2 factorization first did
    not shorten it)."""
    from .generators import poisson2d  # here: generators and solve import this module's users
    from .solve import solve
    dev = torch.device("cuda", index)
    with torch.cuda.device(dev):
        A = poisson2d(2, device=dev)
        b = torch.ones(A.shape[0], dtype=torch.float64, device=dev)
        for method in ("cholesky", "lu"):
            solve(A, b, method=method)
        torch.cuda.synchronize(dev)


def _run(index):
    try:
        _prepare(index)
    except Exception:  # noqa: BLE001 - the first solve meets the same error and reports it
        pass


def _prepare_from_environment():
    if os.environ.get("DSLA_CUDSS_PREPARE", "0") not in ("", "0") and \
            dict(_C.features).get("cudss", False) and torch.cuda.is_available():
        cudss_prepare()
