"""Coverage accounting: ratios, overlap, skips, rates and the picture, on made-up and driven tracks."""
from __future__ import annotations

import math

import numpy as np
import pytest
from agrifleet.core.errors import ConfigError
from agrifleet.core.implement import build_implement
from agrifleet.sim.coverage import CoverageMap, CoverageRecorder, section_edges
from agrifleet.sim.energy import Payload
from shapely.geometry import Polygon, box

FIELD = box(0.0, 0.0, 100.0, 24.0)


def straight(x0: float, x1: float, y: float, n: int = 201) -> np.ndarray:
    xs = np.linspace(x0, x1, n)
    heading = 0.0 if x1 > x0 else math.pi
    return np.column_stack([xs, np.full(n, y), np.full(n, heading)])


def paint_pass(cmap: CoverageMap, poses: np.ndarray, edges: np.ndarray, sections: int | np.ndarray,
               rate: float = 100.0) -> None:
    sec = np.broadcast_to(np.asarray(sections), (len(poses),)).copy()
    run = cmap.new_run()
    cmap.paint(poses, sec, np.full(len(poses), run), edges, rate)


@pytest.mark.parametrize("reference", [False, True])
def test_two_adjacent_passes_cover_the_field_without_overlap(reference):
    cmap = CoverageMap(FIELD, cell_m=0.1, reference=reference)
    edges = section_edges((12.0, 4))
    paint_pass(cmap, straight(-1, 101, 6.0), edges, 0b1111)
    paint_pass(cmap, straight(101, -1, 18.0), edges, 0b1111)
    r = cmap.report(nominal_rate=100.0)
    assert r.target_area_m2 == pytest.approx(2400.0, rel=1e-6)
    assert r.coverage_ratio == pytest.approx(1.0)
    assert r.overlap_m2 == 0.0 and r.skipped == ()
    assert r.outside_m2 == pytest.approx(2 * 2 * 12.0, rel=0.01)  # 1 m beyond each end of each pass
    assert (r.rate_mean, r.rate_std, r.within_10pct) == (pytest.approx(100.0), pytest.approx(0.0), 1.0)


def test_overlapping_passes_count_twice_and_double_the_rate():
    cmap = CoverageMap(FIELD, cell_m=0.1)
    edges = section_edges((12.0, 4))
    paint_pass(cmap, straight(0, 100, 6.0), edges, 0b1111)
    paint_pass(cmap, straight(100, 0, 17.0), edges, 0b1111)  # 1 m overlap, 1 m left at the far edge
    r = cmap.report(nominal_rate=100.0)
    assert r.overlap_m2 == pytest.approx(100.0, rel=0.01)
    assert r.overlap_ratio == pytest.approx(100.0 / 2400.0, rel=0.01)
    assert r.covered_m2 == pytest.approx(2300.0, rel=1e-3)
    assert len(r.skipped) == 1 and r.skipped[0].area == pytest.approx(100.0, rel=0.01)
    assert r.skipped[0].bounds == pytest.approx((0.0, 23.0, 100.0, 24.0), abs=0.11)
    assert r.rate_p5 == pytest.approx(100.0) and cmap.applied.max() == pytest.approx(200.0)
    assert r.within_10pct == pytest.approx(2200.0 / 2300.0, rel=1e-3)


def test_sections_switched_off_leave_a_skip_where_they_were():
    cmap = CoverageMap(FIELD, cell_m=0.1)
    edges = section_edges(Payload.uniform(12.0, 4, 100.0))
    poses = straight(0, 100, 6.0)
    sections = np.where((poses[:, 0] > 40) & (poses[:, 0] <= 60), 0b0111, 0b1111)  # leftmost stays on
    paint_pass(cmap, poses, edges, sections)
    paint_pass(cmap, straight(100, 0, 18.0), edges, 0b1111)
    r = cmap.report()
    assert len(r.skipped) == 1
    # section 3 (bit 3) is the rightmost strip: lateral -6..-3 m from y = 6 -> y in 0..3
    assert r.skipped[0].bounds == pytest.approx((40.0, 0.0, 60.0, 3.0), abs=0.3)
    assert r.skipped_area_m2 == pytest.approx(60.0, rel=0.03)


def test_a_curving_pass_is_not_overlap_with_itself_but_a_second_pass_is():
    target = box(-20, -20, 20, 20)
    cmap = CoverageMap(target, cell_m=0.1)
    edges = section_edges((6.0, 2))
    th = np.linspace(0, math.pi, 200)
    arc = np.column_stack([8 * np.cos(th), 8 * np.sin(th), th + math.pi / 2])
    paint_pass(cmap, arc, edges, 0b11)
    r1 = cmap.report()
    ring_half = math.pi * (11 ** 2 - 5 ** 2) / 2
    assert r1.covered_m2 == pytest.approx(ring_half, rel=0.01)
    assert r1.overlap_m2 == 0.0
    paint_pass(cmap, arc, edges, 0b11)
    assert cmap.report().overlap_m2 == pytest.approx(ring_half, rel=0.01)


def test_obstacles_are_not_target_and_holes_report_as_outside():
    field = Polygon([(0, 0), (100, 0), (100, 24), (0, 24)], [[(40, 4), (60, 4), (60, 8), (40, 8)]])
    cmap = CoverageMap(field, cell_m=0.1)
    paint_pass(cmap, straight(0, 100, 6.0), section_edges((12.0, 1)), 1)
    r = cmap.report()
    assert r.target_area_m2 == pytest.approx(2400.0 - 80.0, rel=1e-6)
    assert r.outside_m2 == pytest.approx(80.0, rel=0.01)
    assert r.covered_m2 == pytest.approx(1200.0 - 80.0, rel=1e-3)


def test_implement_plugin_sections_and_rate_and_the_picture(tmp_path):
    sprayer = build_implement("sprayer:boom_width_m=24,n_sections=8")
    edges = section_edges(sprayer)
    assert edges[0] == pytest.approx([12.0, 9.0]) and edges[-1] == pytest.approx([-9.0, -12.0])
    cmap = CoverageMap(FIELD, cell_m=0.2)
    rec = CoverageRecorder(cmap)
    rec.track("s", sprayer)
    assert rec._tracks["s"].rate == sprayer.consumable.rate_per_ha
    paint_pass(cmap, straight(0, 100, 12.0), edges, sprayer.all_on_mask, rate=150.0)
    out = tmp_path / "applied.png"
    cmap.save_png(str(out), max_pixels=200)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = cmap.picture()
    assert set(np.unique(img)) == {0, 3}
    with pytest.raises(ConfigError, match="too many"):
        CoverageMap(box(0, 0, 1e5, 1e5), cell_m=0.01)
    with pytest.raises(ConfigError, match="cannot take sections"):
        section_edges("sprayer")


def test_a_simulated_tractor_covers_its_plan_with_the_towed_boom():
    from agrifleet.core.plan import Plan, SegmentKind, make_path
    from agrifleet.drivers.base import MissionState
    from agrifleet.drivers.sim import SimDriver
    from agrifleet.sim.world import World

    a = make_path([(0, 0), (100, 0)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=0b111, swath=0)
    th = np.linspace(-math.pi / 2, math.pi / 2, 40)[1:-1]
    turn = make_path(np.column_stack([100 + 6 * np.cos(th), 6 + 6 * np.sin(th)]), kind=SegmentKind.TURN,
                     speed_mps=1.5)
    b = make_path([(100, 12), (0, 12)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=0b111, swath=1)
    plan = Plan(np.concatenate([a, turn, b]))
    payload = Payload.uniform(12.0, 3, rate_per_ha=150.0)
    world = World(rng=np.random.default_rng(4), dt_s=0.05)
    drv = SimDriver("t", world=world, spec="tractor", payload=payload, clock=world.now)
    drv.connect()
    cmap = CoverageMap(box(0, -6, 100, 18), cell_m=0.1)
    rec = CoverageRecorder(cmap).attach(world, [("t", payload)])
    drv.upload(plan)
    drv.start()
    world.run(300.0, until=lambda w: drv.mission_state is MissionState.COMPLETE)
    rec.flush()
    r = cmap.report(nominal_rate=150.0)
    assert drv.mission_state is MissionState.COMPLETE
    assert r.coverage_ratio > 0.98 and r.overlap_ratio < 0.01
    assert r.rate_mean == pytest.approx(150.0, rel=0.01)
    assert r.skipped_area_m2 < 0.02 * r.target_area_m2


def test_recorder_waits_for_vehicles_that_are_not_in_the_world_yet():
    from agrifleet.core.vehicle import GroundControl
    from agrifleet.sim.vehicles import EXAMPLE_TRACTOR, TractorModel
    from agrifleet.sim.world import World

    world = World(rng=np.random.default_rng(0), dt_s=0.1)
    cmap = CoverageMap(box(0, -10, 100, 10), cell_m=0.2)
    rec = CoverageRecorder(cmap).attach(world, [("late", (6.0, 1))])
    world.run(2.0)  # nothing to record, nothing raised
    t = TractorModel(EXAMPLE_TRACTOR, towed=False)
    t.place(10.0, 0.0, 0.0, world)
    t.arm()
    world.add_vehicle("late", t)
    world.set_control("late", GroundControl(speed_mps=2.0, sections=1))
    world.run(10.0)
    world.remove_vehicle("late")
    world.run(2.0)
    rec.flush()
    painted = cmap.report().covered_m2
    driven = t.state.implement_x - (10.0 - 4.2)  # the mounted implement starts 4.2 m behind x = 10
    assert painted == pytest.approx(6.0 * driven, rel=0.03)
