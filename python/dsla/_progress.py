"""Progress of long work: Python ``logging`` (logger ``"dsla"``) and, with ``verbose=True``, a
tqdm bar when tqdm is installed.

- Every solve, eigensolve, nonlinear solve and AMG setup logs its summary at INFO when it ends.
- Iterative solves (``dsla.solve``, ``dsla.Solver``) log ``(iteration, residual)`` at every
  convergence check at DEBUG, through the same hook as ``callback``: the hook is installed only
  when DEBUG is enabled for ``"dsla"`` or ``verbose=True``, so a quiet solve pays nothing.
- ``verbose=True``: a tqdm bar over the iterations when tqdm is importable, else the checks at
  INFO on stderr (a stderr handler is added to ``"dsla"`` when neither it nor the root logger
  has one, as ``logging.basicConfig`` would).
"""
import logging
import sys

logger = logging.getLogger("dsla")


def _ensure_handler():
    if not logger.handlers and not logging.getLogger().handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logger.addHandler(h)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


def _tqdm_bar(what, total):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"dsla {what}", unit="it", leave=False)


class Progress:
    """One solve's progress: ``callback`` is what to hand to C++ (None when nothing listens)."""

    def __init__(self, what, verbose, callback, total=None, bar=True):
        self.what = what
        self.verbose = bool(verbose)
        self.user = callback
        self.debug = logger.isEnabledFor(logging.DEBUG)
        if self.verbose:
            _ensure_handler()
        self.bar = _tqdm_bar(what, total) if self.verbose and bar else None
        listening = self.verbose or self.debug
        self.callback = self._check if listening else callback

    def _check(self, iteration, residual):
        if self.bar is not None:
            self.bar.update(max(0, int(iteration) - self.bar.n))
            self.bar.set_postfix(residual=f"{residual:.2e}", refresh=False)
        if self.debug:
            logger.debug("%s: iteration %d, relative residual %.3e", self.what, iteration, residual)
        elif self.verbose and self.bar is None:
            logger.info("%s: iteration %d, relative residual %.3e", self.what, iteration, residual)
        if self.user is not None:
            self.user(iteration, residual)

    def done(self, info):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        report(self.what, info)


def report(what, info):
    """The INFO line at the end of a long operation (info: a SolveInfo/EigenInfo/... or text)."""
    if logger.isEnabledFor(logging.INFO):
        text = info.summary() if hasattr(info, "summary") else str(info)
        logger.info("%s: %s", what, text)
