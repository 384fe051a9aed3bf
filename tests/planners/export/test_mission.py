"""Mission items from plans: waypoints, speed, reverse, implement switching with lead and lag, limits."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from agrifleet.core.errors import ConfigError
from agrifleet.core.implement import build_implement
from agrifleet.core.plan import SegmentKind, make_path
from agrifleet.planners.export._common import ExportOptions
from agrifleet.planners.export._decimate import point_segment_distance
from agrifleet.planners.export.mission import MissionCmd, build_missions

from .plans import boustrophedon, random_plans, with_sorties

RELAY, SERVO, SPRAY = 181, 183, 216


def _missions(plan, **opts):
    options = ExportOptions(**opts)
    spec = options.implement if options.implement is not None else plan.implement
    impl = build_implement(spec) if spec and spec != "none" else None
    return build_missions(plan, impl, options)


def _local(plan, item) -> np.ndarray:
    return plan.frame.to_local(np.array([item.lon_deg, item.lat_deg]))


def _relays_after(mission) -> dict[int, float]:
    relays: dict[int, float] = {}
    for x in mission.items:
        if x.command == RELAY:
            relays[int(x.params[0])] = x.params[1]
    return relays


def test_boustrophedon_items_in_order() -> None:
    plan = boustrophedon()
    (m,), warnings = _missions(plan)
    assert warnings == []
    it = m.items
    assert it[0].command == MissionCmd.NAV_WAYPOINT and it[0].sample == 0
    assert (it[1].command, it[1].params[1]) == (MissionCmd.DO_CHANGE_SPEED, 2.5)
    # sections open first (relays 2, 3, 4), then the master output (relay 0)
    assert [(x.command, x.params[0], x.params[1]) for x in it[2:6]] == [
        (RELAY, 2.0, 1.0), (RELAY, 3.0, 1.0), (RELAY, 4.0, 1.0), (RELAY, 0.0, 1.0)]
    assert it[6].command == MissionCmd.NAV_WAYPOINT
    master = [x.params[1] for x in it if x.command == RELAY and x.params[0] == 0.0]
    assert master == [1.0, 0.0] * 6  # on and off once per swath
    speeds = [x.params[1] for x in it if x.command == MissionCmd.DO_CHANGE_SPEED]
    assert speeds == [2.5, 1.5] * 5 + [2.5]
    assert m.home == pytest.approx((52.0, 5.0, 0.0))
    assert m.uploaded[0].frame == 0 and len(m.uploaded) == len(it) + 1
    assert m.first_sample == 0 and m.last_sample == len(plan.path) - 1
    assert all(x.alt_m == 0.0 for x in it if x.is_nav)


def test_switch_points_move_ahead_by_lead_and_lag() -> None:
    plan = boustrophedon()  # sprayer: on_lead 0.4 s, off_lag 0.2 s; swaths 2.5 m/s, turns 1.5 m/s
    (m,), _ = _missions(plan)
    wps = [(i, x) for i, x in enumerate(m.items) if x.command == MissionCmd.NAV_WAYPOINT]
    # the master relay of swath 1 goes on at the inserted waypoint 0.4 s * 1.5 m/s before the swath starts
    on_idx = [i for i, x in enumerate(m.items) if x.command == RELAY and x.params == (0.0, 1.0, 0, 0)][1]
    wp_before = max(i for i, _ in wps if i < on_idx)
    start_swath1 = np.array([plan.path["x"][plan.path["swath"] == 1][0], plan.path["y"][plan.path["swath"] == 1][0]])
    p = _local(plan, m.items[wp_before])
    assert m.items[wp_before].sample == -1
    assert float(np.hypot(*(p - start_swath1))) == pytest.approx(0.6, abs=0.01)
    # off: 0.2 s * 2.5 m/s = 0.5 m before the first turn sample (the swath's last stretch ends there)
    off_idx = [i for i, x in enumerate(m.items) if x.command == RELAY and x.params == (0.0, 0.0, 0, 0)][0]
    wp_off = max(i for i, _ in wps if i < off_idx)
    first_turn = np.flatnonzero(plan.path["kind"] == SegmentKind.TURN)[0]
    turn_xy = np.array([plan.path["x"][first_turn], plan.path["y"][first_turn]])
    end_xy = np.array([plan.path["x"][first_turn - 1], plan.path["y"][first_turn - 1]])
    leg = float(np.hypot(*(turn_xy - end_xy)))
    q = _local(plan, m.items[wp_off])
    assert float(np.hypot(*(q - end_xy))) == pytest.approx(leg - 0.5, abs=0.01)


def test_zero_lead_switches_at_the_change_sample() -> None:
    plan = boustrophedon()
    (m,), _ = _missions(plan, implement="sprayer:boom_width_m=6,n_sections=1,on_lead_s=0,off_lag_s=0")
    inserted = [x for x in m.items if x.command == MissionCmd.NAV_WAYPOINT and x.sample < 0]
    assert inserted == []
    on_wps = []
    for k, x in enumerate(m.items):
        if x.command == RELAY and x.params[1] == 1.0:
            on_wps.append(max(j for j in range(k) if m.items[j].command == MissionCmd.NAV_WAYPOINT))
    swath_starts = [int(np.flatnonzero(plan.path["swath"] == k)[0]) for k in range(6)]
    assert [m.items[j].sample for j in on_wps] == swath_starts


def test_reverse_and_speed_for_ground_vehicles() -> None:
    fwd = make_path(np.column_stack([np.linspace(0, 20, 11), np.zeros(11)]), kind=SegmentKind.SWATH,
                    speed_mps=2.0, sections=1, swath=0)
    back = make_path(np.column_stack([np.linspace(18, 10, 5), np.zeros(5)]), kind=SegmentKind.TURN,
                     speed_mps=0.8, direction=-1)
    plan = boustrophedon().with_(path=np.concatenate([fwd, back]), boundary=None)
    (m,), _ = _missions(plan, implement="mower")
    cmds = [(x.command, x.params[:2]) for x in m.items if not x.is_nav]
    assert (MissionCmd.DO_SET_REVERSE, (1.0, 0.0)) in cmds
    assert [c for c in cmds if c[0] == MissionCmd.DO_CHANGE_SPEED] == [
        (MissionCmd.DO_CHANGE_SPEED, (1.0, 2.0)), (MissionCmd.DO_CHANGE_SPEED, (1.0, 0.8))]
    assert cmds[-1] == (SERVO, (10.0, 1100.0))  # PTO off at the end of the plan


def test_drone_takeoff_heights_and_rtl_or_land_per_sortie() -> None:
    plan = boustrophedon(z_m=15.0, speed_mps=5.0, implement="sprayer:boom_width_m=6,n_sections=1,"
                         "platform=air,actuation=sprayer")
    (m,), _ = _missions(plan)
    assert m.air
    assert (m.items[0].command, m.items[0].alt_m) == (MissionCmd.NAV_TAKEOFF, 15.0)
    assert m.items[-1].command == MissionCmd.NAV_RETURN_TO_LAUNCH
    assert {x.alt_m for x in m.items if x.command == MissionCmd.NAV_WAYPOINT} == {15.0}
    assert not any(x.command == MissionCmd.DO_SET_REVERSE for x in m.items)
    assert sum(1 for x in m.items if x.command == SPRAY and x.params[0] == 1.0) == 6
    cut = int(np.flatnonzero(plan.path["swath"] == 3)[0])
    missions, _ = _missions(with_sorties(plan, [cut]))
    assert len(missions) == 2
    assert [x.items[0].command for x in missions] == [MissionCmd.NAV_TAKEOFF] * 2
    assert [x.items[-1].command for x in missions] == [MissionCmd.NAV_LAND] * 2
    assert missions[1].first_sample == cut and missions[0].last_sample == cut - 1
    px4, _ = _missions(plan, firmware="px4")
    assert math.isnan(px4[0].items[0].params[3]) and px4[0].uploaded == px4[0].items


def test_split_at_the_item_limit_prefers_turns_and_restores_state() -> None:
    plan = boustrophedon()
    (whole,), _ = _missions(plan)
    parts, warnings = _missions(plan, max_items=60)
    assert warnings == [] and len(parts) >= 3
    assert all(len(p.uploaded) <= 60 for p in parts)
    assert [p.part for p in parts] == list(range(len(parts))) and {p.n_parts for p in parts} == {len(parts)}
    for prev, nxt in zip(parts[:-1], parts[1:]):
        last_wp = [x for x in prev.items if x.command == MissionCmd.NAV_WAYPOINT][-1]
        assert (nxt.items[0].lat_deg, nxt.items[0].lon_deg) == (last_wp.lat_deg, last_wp.lon_deg)
        assert nxt.items[1].command == MissionCmd.DO_CHANGE_SPEED
        # split where the implement is off: every part ends with all outputs already off
        tail = prev.items[prev.items.index(last_wp) + 1:]
        assert not any(x.command == RELAY for x in tail)
        assert _relays_after(prev) == {} or set(_relays_after(prev).values()) == {0.0}
    # together the parts visit the same waypoints as the whole mission
    def wps(ms):
        return [(x.lat_deg, x.lon_deg) for m in ms for x in m.items if x.command == MissionCmd.NAV_WAYPOINT]
    joined = wps(parts[:1]) + [w for p in parts[1:] for w in wps([p])[1:]]
    assert joined == wps([whole])
    one, warnings = _missions(plan, max_items=60, on_limit="warn")
    assert len(one) == 1 and "exceeds the 60-item limit" in warnings[0]
    with pytest.raises(ConfigError, match="exceeds the 60-item limit"):
        _missions(plan, max_items=60, on_limit="error")


def test_plan_without_implement_warns_and_carries_no_actuation() -> None:
    (m,), warnings = _missions(boustrophedon(implement=""))
    assert "names no implement" in warnings[0]
    assert not any(x.command in (RELAY, SERVO, SPRAY) for x in m.items)


@settings(max_examples=40)
@given(random_plans())
def test_random_plans_route_within_tolerance_and_implement_ends_off(plan) -> None:
    tol = 0.1
    missions, _ = _missions(plan, tolerance_m=tol, max_items=65535)
    (m,) = missions
    wps = np.array([_local(plan, x) for x in m.items if x.command == MissionCmd.NAV_WAYPOINT])
    pts = plan.xy
    # every plan sample lies within the tolerance of the route through the waypoints
    d = np.full(len(pts), np.inf)
    for a, b in zip(wps[:-1], wps[1:]):
        d = np.minimum(d, point_segment_distance(pts, a, b))
    assert d.max() <= tol + 1e-6
    assert set(_relays_after(m).values()) <= {0.0}
    assert sum(1 for x in m.items if x.command == RELAY and x.params == (0.0, 1.0, 0, 0)) == \
        sum(1 for x in m.items if x.command == RELAY and x.params == (0.0, 0.0, 0, 0))


def test_stretches_outside_sorties_are_not_lost() -> None:
    from agrifleet.core.plan import Sortie

    plan = boustrophedon(z_m=10.0, implement="none")
    n = len(plan.path)
    plan = plan.with_(sorties=(Sortie(100, 200), Sortie(200, 300)))
    missions, _ = _missions(plan)
    assert [(m.first_sample, m.last_sample) for m in missions] == [(0, 99), (100, 199), (200, 299), (300, n - 1)]
    (whole,), _ = _missions(plan, per_sortie=False)
    assert (whole.first_sample, whole.last_sample) == (0, n - 1)
    assert whole.items[-1].command == MissionCmd.NAV_RETURN_TO_LAUNCH
