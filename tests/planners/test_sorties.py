"""Sorties: tank and battery limits, exact coverage of the plan, fewest sorties, depots, and a sortie flown in
the simulator to show that what the planner calls feasible is."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from agrifleet.core.errors import PlanError
from agrifleet.core.field import Field
from agrifleet.core.plan import SegmentKind, segment_lengths
from agrifleet.planners._drone_energy import FlightModel
from agrifleet.planners.sorties import SortieParams, split_sorties
from agrifleet.planners.survey import plan_survey, survey_params, swath_from_implement
from agrifleet.sim.sortie_flight import fly_sortie
from agrifleet.sim.vehicles import EXAMPLE_DRONE
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon, box

SPRAYER = ("sprayer:platform=air,boom_width_m=7,n_sections=1,rate_l_per_ha={rate},tank_l=20,"
           "actuation=sprayer,nozzle_spacing_m=1.75,boom_offset_m=0,nozzle_max_flow_l_per_min=5")


def field(w: float = 300.0, h: float = 200.0, holes=()) -> Field:
    return Field("f", Polygon(box(0, 0, w, h).exterior, [list(b.exterior.coords) for b in holes]))


def spray_plan(fld: Field, rate: float = 15.0, **survey):
    spec = SPRAYER.format(rate=rate)
    params = survey_params(swath_from_implement(spec), EXAMPLE_DRONE, **survey)
    return plan_survey(fld, params, implement=spec), spec


def work_probe(path: np.ndarray, n: int = 400) -> tuple[float, np.ndarray]:
    """Total working length and the positions at ``n`` evenly spaced distances along the working stretches
    (in order): equal probes mean the same work in the same order."""
    on = path["sections"][:-1] != 0
    seg = segment_lengths(path)[on]
    a = np.column_stack([path["x"][:-1], path["y"][:-1]])[on]
    b = np.column_stack([path["x"][1:], path["y"][1:]])[on]
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = cum[-1] * (np.arange(n) + 0.5 * math.sqrt(2.0)) / (n + 1)   # clear of the joints between passes
    i = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1)
    f = np.where(seg[i] > 0, (s - cum[i]) / np.maximum(seg[i], 1e-12), 0.0)
    return float(cum[-1]), a[i] + (b[i] - a[i]) * f[:, None]


def exact_energy_wh(piece: np.ndarray, load_l: float, rate: float, width: float, model: FlightModel) -> float:
    """Energy of a sortie with the mass at every stretch (no chord), take-off and landing included."""
    t = model.stretch_times(piece)
    litres = rate / 1e4 * width * segment_lengths(piece) * (piece["sections"][:-1] != 0)
    left = load_l - np.concatenate([[0.0], np.cumsum(litres)[:-1]])
    mass = model.empty_kg + np.maximum(left, 0.0) * model.density_kg_per_l
    power = np.array([model.power_w(m, float(v)) for m, v in zip(mass, piece["speed"][:-1])])
    up, down = model.vertical_s(float(piece["z"][0]))
    end_mass = model.empty_kg + (load_l - litres.sum()) * model.density_kg_per_l
    vertical = up * model.power_w(mass[0], 0.0) + down * model.power_w(end_mass, 0.0)
    return float((t * power).sum() + vertical) / 3600


def check_sorties(plan, out, vehicle, params: SortieParams, rate: float) -> None:
    tank = vehicle.tank_l
    budget = vehicle.battery_wh * (1 - params.reserve)
    model = FlightModel(vehicle)
    assert out.sorties[0].start == 0 and out.sorties[-1].stop == len(out.path)
    for s, nxt in zip(out.sorties, out.sorties[1:]):
        assert s.stop == nxt.start
    depots = np.array(params.depots)
    for k, s in enumerate(out.sorties):
        piece = out.path[s.start:s.stop]
        assert s.payload_l <= tank + 1e-9, f"sortie {k} loads {s.payload_l} l into a {tank} l tank"
        assert s.energy_wh <= budget + 1e-9, f"sortie {k} plans {s.energy_wh} Wh of {budget}"
        assert exact_energy_wh(piece, s.payload_l, rate, plan.width_m, model) <= s.energy_wh + 1e-9
        sprayed = (rate / 1e4 * plan.width_m * segment_lengths(piece) * (piece["sections"][:-1] != 0)).sum()
        assert sprayed <= s.payload_l + 1e-9
        end = np.array([piece["x"][-1], piece["y"][-1]])
        assert np.min(np.hypot(*(depots - end).T)) < 1e-6 and tuple(end) == pytest.approx(s.depot_xy)
        service = piece["kind"][:-1] == SegmentKind.SERVICE
        assert np.all(piece["sections"][:-1][service] == 0)   # implement off in transit
        first_work = np.flatnonzero(piece["sections"][:-1] != 0)[0]
        assert (piece["x"][first_work], piece["y"][first_work]) == pytest.approx(s.resume_xy)
    total_a, probe_a = work_probe(plan.path)
    total_b, probe_b = work_probe(out.path)
    assert total_b == pytest.approx(total_a, rel=1e-9)
    assert np.allclose(probe_a, probe_b, atol=1e-6)   # the same work, in the same order, nothing more


@settings(max_examples=max(6, settings.default.max_examples // 2), deadline=None)
@given(w=st.floats(80, 400), h=st.floats(60, 300), rate=st.floats(8.0, 40.0), tank=st.floats(5.0, 40.0),
       battery=st.floats(500.0, 2500.0),
       depots=st.lists(st.tuples(st.floats(-100, 500), st.floats(-100, 400)), min_size=1, max_size=3),
       turnaround=st.sampled_from(["zero", "arc"]))
def test_no_sortie_exceeds_tank_or_battery_and_together_they_cover_exactly_the_plan(w, h, rate, tank, battery,
                                                                                     depots, turnaround):
    plan, _ = spray_plan(field(w, h), rate, turnaround=turnaround)
    vehicle = dataclasses.replace(EXAMPLE_DRONE, tank_l=tank, battery_wh=battery)
    params = SortieParams(tuple(depots))
    try:
        out = split_sorties(plan, vehicle, params)
    except PlanError as exc:   # a depot too far for this battery: the only reason allowed to refuse
        assert "no sortie" in str(exc)
        return
    check_sorties(plan, out, vehicle, params, rate)
    assert out.meta["n_sorties"] == len(out.sorties)
    assert out.metrics.service_length_m > 0


def test_fewest_sorties_when_the_tank_decides():
    plan, _ = spray_plan(field())          # 6 ha at 15 l/ha: 90 l
    params = SortieParams(((-5.0, -5.0),), payload_margin=0.02)
    out = split_sorties(plan, EXAMPLE_DRONE, params)
    need = sum(f["sprayed_l"] for f in out.meta["sorties"])
    assert need == pytest.approx(15.0 * plan.metrics.working_length_m * 7.0 / 1e4)
    assert len(out.sorties) == math.ceil(need * 1.02 / 20.0)
    assert out.meta["job_time_s"] == pytest.approx(out.meta["flight_time_s"] + 120.0 * (len(out.sorties) - 1))
    check_sorties(plan, out, EXAMPLE_DRONE, params, 15.0)


def test_the_battery_decides_for_a_camera_and_each_sortie_returns_to_the_nearest_depot():
    fld = field(600, 400)
    sw = swath_from_implement("camera:altitude_m=30")
    plan = plan_survey(fld, survey_params(sw, EXAMPLE_DRONE), implement="camera:altitude_m=30")
    drone = dataclasses.replace(EXAMPLE_DRONE, battery_wh=400.0)
    depots = ((-20.0, 200.0), (620.0, 200.0))
    params = SortieParams(depots)
    out = split_sorties(plan, drone, params)
    assert len(out.sorties) >= 2 and all(s.payload_l == 0.0 for s in out.sorties)
    for s, f in zip(out.sorties, out.meta["sorties"]):
        assert s.energy_wh <= 400.0 * 0.8 + 1e-9
        brk = np.array(f["break_xy"])
        nearest = min(depots, key=lambda d: math.hypot(*(brk - d)))
        assert s.depot_xy == pytest.approx(nearest)
    one = split_sorties(plan, drone, SortieParams(depots[:1]))
    assert out.meta["flight_time_s"] < one.meta["flight_time_s"]
    total_a, _ = work_probe(plan.path)
    assert work_probe(out.path)[0] == pytest.approx(total_a)


def test_legs_to_the_depot_go_round_obstacles_and_an_unreachable_depot_is_refused():
    hole = box(100, 40, 200, 160)
    plan, _ = spray_plan(field(holes=[hole]))
    out = split_sorties(plan, EXAMPLE_DRONE, SortieParams(((150.0, -30.0), (150.0, 230.0))))
    inside = hole.buffer(-0.01)
    xy = out.xy
    for seg in out.segments():
        if seg.kind == SegmentKind.SERVICE:
            crossing = LineString(xy[seg.start:seg.stop + 1]).intersection(inside)
            assert crossing.length == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(PlanError, match=r"no sortie of 'drone' reaches the work at .* within 960 Wh"):
        split_sorties(plan, EXAMPLE_DRONE, SortieParams(((20_000.0, 0.0),)))


def test_a_planned_sortie_is_feasible_in_the_simulator():
    """Fly the first and the last sortie with the simulated drone (its rotor power, drag, mass that drops
    as it sprays, guidance that stops at corners): it lands at the depot with energy and product to spare,
    having sprayed all it was meant to, in about the time planned."""
    plan, spec = spray_plan(field(300, 180))
    out = split_sorties(plan, EXAMPLE_DRONE, SortieParams(((-10.0, -10.0), (310.0, 190.0))))
    assert len(out.sorties) >= 2
    for k in (0, len(out.sorties) - 1):
        s, f = out.sorties[k], out.meta["sorties"][k]
        flight = fly_sortie(out, k, EXAMPLE_DRONE, spec)
        world, model = flight.world, flight.model
        st_ = world.state("d")
        assert flight.completed and st_.landed
        assert math.hypot(st_.x - s.depot_xy[0], st_.y - s.depot_xy[1]) < 1.0
        assert model.energy_used_wh <= s.energy_wh <= EXAMPLE_DRONE.battery_wh * 0.8
        assert model.energy_used_wh > 0.85 * s.energy_wh          # conservative, not wildly so
        sprayed = s.payload_l - st_.tank_l
        assert st_.tank_l > 0 and sprayed == pytest.approx(f["sprayed_l"], rel=0.02)
        assert world.t_s == pytest.approx(f["flight_s"], rel=0.15)
