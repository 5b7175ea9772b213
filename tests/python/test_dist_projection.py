"""bench/dist_amg_projection.py's model: dsla's process grid, the busiest face, and the model's
arithmetic on given counts (the measured parts run in the benchmark itself)."""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "python"))
proj = pytest.importorskip("dist_amg_projection")


def test_process_grid_is_dslas():
    # detail::process_grid (src/dist/generators.cpp): smallest max / min, the first found.
    assert proj.process_grid(4, 3) == (1, 2, 2)
    assert proj.process_grid(2, 3) == (1, 1, 2)
    assert proj.process_grid(8, 3) == (2, 2, 2)
    assert proj.process_grid(6, 2) == (2, 3, 1)
    assert proj.process_grid(1, 3) == (1, 1, 1)


def test_busiest_face():
    # poisson3d:1000 over 4 ranks: 1000 x 500 x 500 boxes, faces of 1000 x 500 rows, two
    # neighbours.
    assert proj.busiest_face(1000, 4) == (500000, 2)
    assert proj.busiest_face(10, 1) == (0, 0)


def test_model_adds_counted_communication():
    share = dict(setup_s=1.0, s_per_iteration=0.1, iterations=10, levels=[1000, 100, 10])
    counts = dict(distributed_levels=2, iterations=10, n_side=20, ranks=4,
                  solve_messages=2 * 10 * 2 * 3,  # 3 exchanges per level per iteration
                  solve_collectives=20, setup_collectives=40, setup_messages=20,
                  setup_message_bytes=0)
    m = proj.model(share, counts, 20, 4, alpha=1e-3, beta=1e12, t_coll=2e-3, gather=0)
    assert m["distributed_levels"] == 3
    assert m["exchanges_per_level_per_iteration"] == pytest.approx(3.0)
    # 3 levels x 3 exchanges x alpha (bytes / beta negligible) + 2 collectives x t_coll.
    assert m["comm_per_iteration_s"] == pytest.approx(9e-3 + 4e-3, rel=1e-3)
    assert m["solve_s"] == pytest.approx(10 * (0.1 + 13e-3), rel=1e-3)
    # Setup: the counted collectives and messages per distributed level, times 3 levels.
    assert m["setup_comm_s"] == pytest.approx(60 * 2e-3 + 30 * 1e-3, rel=1e-6)
    r = proj.model(share, counts, 20, 4, 1e-3, 1e12, 2e-3, 0, overhead=(2.0, 3.0))
    assert r["setup_s"] == pytest.approx(2.0 + m["setup_comm_s"])
    assert r["solve_s"] == pytest.approx(10 * (0.3 + 13e-3), rel=1e-3)


setup_profile = pytest.importorskip("dist_amg_setup_profile")


def test_peak_blocks_replays_an_allocator_trace():
    # alloc a (100), alloc b (50), free a, alloc c (120): the peak is 170 with b and c alive.
    f = lambda name: [{"name": "at::empty", "filename": "x.cpp", "line": 1},  # noqa: E731
                      {"name": name, "filename": "src/dist/amg/dist_level.cpp", "line": 7}]
    trace = [dict(action="alloc", addr=1, size=100, frames=f("dsla::a")),
             dict(action="alloc", addr=2, size=50, frames=f("dsla::b")),
             dict(action="free_requested", addr=1, size=100, frames=[]),
             dict(action="free_completed", addr=1, size=100, frames=[]),
             dict(action="alloc", addr=3, size=120, frames=f("dsla::c")),
             dict(action="free_completed", addr=2, size=50, frames=[])]
    peak, by = setup_profile.peak_blocks(trace)
    assert peak == 170
    assert list(by.values()) == [120, 50]
    assert list(by)[0].startswith("dsla::c (dist_level.cpp:7)")
    # Without completions, the requests count as frees.
    trace2 = [e for e in trace if e["action"] != "free_completed"]
    trace2.append(dict(action="free_requested", addr=2, size=50, frames=[]))
    assert setup_profile.peak_blocks(trace2)[0] == 170
