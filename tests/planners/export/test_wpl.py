"""WPL 110 files read back by pymavlink's MAVWPLoader (the loader behind MAVProxy's ``wp load``)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from pymavlink import mavwp

from agrifleet.core.implement import build_implement
from agrifleet.planners.export import ExportOptions, export_plans
from agrifleet.planners.export.mission import build_missions

from .plans import boustrophedon, random_plans


def _same(loaded: mavwp.MAVWPLoader, mission) -> None:
    items = mission.uploaded
    assert loaded.count() == len(items)
    for seq, it in enumerate(items):
        w = loaded.wp(seq)
        assert (w.seq, w.frame, w.command, w.current, w.autocontinue) == (
            seq, int(it.frame), int(it.command), 1 if seq == 0 else 0, 1)
        for got, want in zip((w.param1, w.param2, w.param3, w.param4), it.params):
            assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-8, abs=1e-9)
        assert (w.x, w.y) == pytest.approx((it.lat_deg, it.lon_deg), abs=1e-9)
        assert w.z == pytest.approx(it.alt_m, abs=1e-3)


def test_boustrophedon_reads_back_item_for_item(tmp_path: Path) -> None:
    plan = boustrophedon()
    out = tmp_path / "mission.waypoints"
    result = export_plans([plan], "wpl", out)
    assert result.files == [out]
    assert out.read_text().splitlines()[0] == "QGC WPL 110"
    loader = mavwp.MAVWPLoader()
    assert loader.load(str(out)) == result.details[0]["items"]
    (mission,), _ = build_missions(plan, build_implement(plan.implement), ExportOptions())
    _same(loader, mission)
    home = loader.wp(0)
    assert (home.frame, home.command, home.current) == (0, 16, 1)


def test_px4_files_have_no_home_item(tmp_path: Path) -> None:
    plan = boustrophedon(z_m=20.0, implement="camera:altitude_m=20")
    out = tmp_path / "px4.waypoints"
    export_plans([plan], "wpl", out, ExportOptions(firmware="px4"))
    loader = mavwp.MAVWPLoader()
    loader.load(str(out))
    assert loader.wp(0).command == 22 and loader.wp(0).z == pytest.approx(20.0)  # NAV_TAKEOFF first
    assert math.isnan(loader.wp(1).param4)  # PX4: keep the yaw mode
    assert loader.wp(loader.count() - 1).command == 20
    assert sum(1 for i in range(loader.count()) if loader.wp(i).command == 206) == 12  # camera on/off per swath


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(random_plans())
def test_random_plans_read_back_equal(tmp_path: Path, plan) -> None:
    out = tmp_path / "r.waypoints"
    options = ExportOptions(max_items=65535)
    export_plans([plan], "wpl", out, options)
    loader = mavwp.MAVWPLoader()
    loader.load(str(out))
    (mission,), _ = build_missions(plan, build_implement(plan.implement), options)
    _same(loader, mission)
