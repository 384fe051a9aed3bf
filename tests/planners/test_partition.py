"""Partition: one job among tractors and drones; zones by suitability, finish times balanced."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import shapely
from agrifleet.core.errors import ConfigError
from agrifleet.core.field import Field, Zone
from agrifleet.core.field_files import load_fields, sample_farm_path
from agrifleet.core.plan import SegmentKind
from agrifleet.core.plugin import load
from agrifleet.planners.metrics import GRID_M, swept_areas
from agrifleet.planners.partition import JobParams, ground_unsuitable, plan_job
from agrifleet.sim.vehicles import EXAMPLE_DRONE, EXAMPLE_TRACTOR
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon, box

AIR = ("sprayer:platform=air,boom_width_m=7,n_sections=1,rate_l_per_ha=15,tank_l=20,actuation=sprayer,"
       "nozzle_spacing_m=1.75,boom_offset_m=0,nozzle_max_flow_l_per_min=5")
GROUND = "sprayer:boom_width_m=12,n_sections=4"


def tractors(n: int) -> list:
    return [dataclasses.replace(EXAMPLE_TRACTOR, name=f"t{k}") for k in range(1, n + 1)]


def drones(n: int, **changes) -> list:
    return [dataclasses.replace(EXAMPLE_DRONE, name=f"d{k}", **changes) for k in range(1, n + 1)]


def worked(plans) -> shapely.Geometry:
    return shapely.union_all([a for p in plans for a in swept_areas(p)], grid_size=GRID_M)


def test_tractors_keep_off_the_wet_zone_and_drones_work_it_finishing_together():
    pond = next(f for f in load_fields(sample_farm_path()) if f.name == "Pond field")
    (zone,) = pond.zones
    assert ground_unsuitable(zone)
    wet = zone.polygon.intersection(pond.boundary)
    job = plan_job(pond, tractors(1) + drones(2), JobParams(GROUND, AIR, depots=((0.0, 0.0), (450.0, 100.0))))
    assert set(job.plans) == {"t1", "d1", "d2"}
    assert {p.meta["role"] for p in job.plans.values()} == {"ground", "air"}
    t1 = job.plans["t1"]
    assert LineString(t1.xy).intersection(wet.buffer(-0.5)).length == pytest.approx(0.0, abs=1e-6)
    air = worked([job.plans["d1"], job.plans["d2"]])
    assert air.intersection(wet).area > 0.97 * wet.area
    everyone = worked(job.plans.values()).intersection(pond.boundary)
    assert everyone.area > 0.97 * pond.boundary.area
    assert job.spread <= 0.10
    finish = list(job.finish_s.values())
    assert max(finish) - min(finish) <= 0.10 * max(finish)
    for name in ("d1", "d2"):
        plan = job.plans[name]
        assert plan.sorties and all(s.payload_l <= 20.0 and s.energy_wh <= 960.0 for s in plan.sorties)
        assert plan.meta["finish_s"] == pytest.approx(plan.meta["job_time_s"])
    assert t1.meta["finish_s"] == pytest.approx(t1.metrics.duration_s)
    assert job.ground_area_m2 + job.air_area_m2 == pytest.approx(pond.boundary.area, rel=1e-6)


@pytest.mark.slow
@settings(max_examples=max(6, settings.default.max_examples // 10), deadline=None)
@given(w=st.floats(350, 700), h=st.floats(250, 450), n_t=st.integers(1, 2), n_d=st.integers(1, 3),
       zone_at=st.tuples(st.floats(0.05, 0.75), st.floats(0.05, 0.75)), tanks=st.lists(st.floats(10, 30),
                                                                                    min_size=3, max_size=3))
def test_finish_times_balance_within_ten_percent(w, h, n_t, n_d, zone_at, tanks):
    x0, y0 = zone_at[0] * w, zone_at[1] * h
    wet = box(x0, y0, x0 + 0.15 * w, y0 + 0.15 * h)
    fld = Field("random", box(0, 0, w, h), zones=(Zone("wet", wet, {"unsuitable_for": "ground"}),))
    fleet = tractors(n_t) + [dataclasses.replace(d, tank_l=t) for d, t in zip(drones(n_d), tanks)]
    job = plan_job(fld, fleet, JobParams(GROUND, AIR, depots=((-10.0, -10.0), (w + 10.0, h + 10.0))))
    assert set(job.plans) == {v.name for v in fleet}
    finish = np.array([job.finish_s[v.name] for v in fleet])
    assert np.all(finish > 0)
    assert (finish.max() - finish.min()) / finish.max() <= 0.10
    for t in tractors(n_t):
        inside = LineString(job.plans[t.name].xy).intersection(wet.buffer(-0.5))
        assert inside.length == pytest.approx(0, abs=1e-6)


def test_drones_alone_share_the_field_by_time():
    fld = Field("f", box(0, 0, 400, 250))
    fleet = drones(3)
    fleet[2] = dataclasses.replace(fleet[2], tank_l=30.0, battery_wh=1600.0, empty_mass_kg=30.0)
    job = plan_job(fld, fleet, JobParams(air_implement=AIR, depots=((-5.0, 125.0),)))
    assert job.spread <= 0.10 and job.ground_area_m2 == 0.0
    assert worked(job.plans.values()).intersection(fld.boundary).area > 0.97 * fld.boundary.area
    # the bigger tank sprays more between refills, so it takes a bigger share of the field
    sprayed = {k: sum(f["sprayed_l"] for f in p.meta["sorties"]) for k, p in job.plans.items()}
    assert sprayed["d3"] > max(sprayed["d1"], sprayed["d2"])


def test_tractors_alone_leave_the_wet_zone_unworked():
    wet = box(150, 100, 250, 160)
    fld = Field("f", box(0, 0, 400, 260), zones=(Zone("wet", wet, {"wet": True}),))
    job = plan_job(fld, tractors(2), JobParams(ground_implement=GROUND))
    assert job.unworked_area_m2 == pytest.approx(wet.area)
    assert job.spread <= 0.10
    for p in job.plans.values():
        assert LineString(p.xy).intersection(wet.buffer(-0.5)).length == pytest.approx(0.0, abs=1e-6)
        assert p.metrics.working_length_m > 0 and set(p.path["kind"]) <= {int(k) for k in SegmentKind}


def test_bad_jobs_are_refused_in_one_line():
    fld = Field("f", box(0, 0, 200, 100))
    with pytest.raises(ConfigError, match="tractors need a ground implement"):
        plan_job(fld, tractors(1), JobParams(air_implement=AIR))
    with pytest.raises(ConfigError, match=r"vehicle 'd1' cannot carry the camera: it lacks camera"):
        plan_job(fld, drones(1), JobParams(air_implement="camera"))
    with pytest.raises(ConfigError, match="names must differ"):
        plan_job(fld, drones(1) + drones(1), JobParams(air_implement=AIR))


def test_job_planner_plugin_gives_one_plan_per_vehicle_id():
    planner = load("agrifleet.planners", "job")()
    fld = Field("f", box(0, 0, 300, 200), zones=(Zone("wet", Polygon([(0, 0), (60, 0), (0, 60)]),
                                                      {"unsuitable_for": "ground"}),))
    plans = planner.plan_vehicles(fld, {"t9": EXAMPLE_TRACTOR, "d7": EXAMPLE_DRONE},
                                  {"ground_implement": GROUND, "air_implement": AIR, "depots": [[-5, -5]]})
    assert set(plans) == {"t9", "d7"}
    assert plans["t9"].vehicle == "t9" and plans["d7"].vehicle == "d7" and plans["d7"].sorties
    # one implement for both kinds, as the fleet's 'job submit --implement' gives it
    both = planner.plan_vehicles(fld, {"d1": EXAMPLE_DRONE, "d2": EXAMPLE_DRONE}, {"depots": [[-5, -5]]},
                                 implement=AIR)
    assert {p.meta["role"] for p in both.values()} == {"air"} and all(p.sorties for p in both.values())
