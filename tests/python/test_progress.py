"""Long work shows progress (issue #16, item 9, Python side): summaries at INFO on logger
"dsla", convergence checks at DEBUG, and verbose=True (a tqdm bar when tqdm is importable, log
lines otherwise)."""
import logging
import sys
import types

import torch

import dsla


def test_summaries_at_info_and_checks_at_debug(caplog):
    A = dsla.poisson2d(12)
    b = torch.ones(144, dtype=torch.float64)
    with caplog.at_level(logging.INFO, logger="dsla"):
        dsla.solve(A, b, method="cg", rtol=1e-10)
        dsla.eigsh(A, 2, which="SA")
        dsla.amg(A)
        S = dsla.Solver(A, method="cg")
        S.solve(b)
    text = caplog.text
    for what in ("solve: ", "eigsh: ", "amg setup: AMG(", "Solver setup: cg", "Solver: "):
        assert what in text, (what, text)
    assert "solve: iteration " not in text  # per-check lines are DEBUG
    caplog.clear()
    seen = []
    with caplog.at_level(logging.DEBUG, logger="dsla"):
        dsla.solve(A, b, method="cg", rtol=1e-10, monitor=lambda it, r: seen.append(it))
    assert "solve: iteration" in caplog.text and seen  # the user's monitor still runs


def test_quiet_solve_installs_no_hook():
    from dsla import _progress
    assert _progress.Progress("solve", False, None).callback is None


def test_verbose_without_tqdm_logs_each_check(caplog, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # "not installed"
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    A = dsla.poisson2d(12)
    with caplog.at_level(logging.INFO, logger="dsla"):
        dsla.solve(A, torch.ones(144, dtype=torch.float64), method="cg", verbose=True,
                   check_every=1)
    assert caplog.text.count("solve: iteration") >= 3


def test_verbose_uses_tqdm_when_installed(monkeypatch):
    bars = []

    class FakeBar:
        def __init__(self, total=None, desc=None, unit=None, leave=None):
            self.n, self.closed, self.desc = 0, False, desc
            bars.append(self)

        def update(self, k):
            self.n += k

        def set_postfix(self, **kw):
            self.postfix = kw

        def close(self):
            self.closed = True

    fake = types.ModuleType("tqdm.auto")
    fake.tqdm = FakeBar
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", fake)
    x, info = dsla.solve(dsla.poisson2d(12), torch.ones(144, dtype=torch.float64), method="cg",
                         verbose=True, check_every=1, return_info=True)
    assert len(bars) == 1 and bars[0].closed and bars[0].desc == "dsla solve"
    assert bars[0].n == info.iterations and "residual" in bars[0].postfix
