"""``agrifleet demo``: the whole system end to end, and its parts (planning chain, ledger, report page)."""
from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import math
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from agrifleet.core.cli import main
from agrifleet.core.errors import ScenarioError
from agrifleet.core.field_files import sample_farm_path
from agrifleet.core.implement import build_implement
from agrifleet.core.plan import PATH_DTYPE, Plan, SegmentKind, Sortie, make_path
from agrifleet.core.store import JobState, Store
from agrifleet.core.vehicle import GroundControl
from agrifleet.sim._demo_html import PICTURES, render_html
from agrifleet.sim._demo_plan import _prefixed, _road, plan_farm
from agrifleet.sim._demo_world import Ledger, PlanCursor
from agrifleet.sim._metrics import PlanView
from agrifleet.sim.coverage import section_edges
from agrifleet.sim.demo import demo_scenario_path
from agrifleet.sim.energy import payload_from_implement
from agrifleet.sim.runner import start_poses
from agrifleet.sim.scenario import load_scenario
from agrifleet.sim.vehicles import EXAMPLE_TRACTOR, TractorModel
from agrifleet.sim.world import World

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _children_of(out: Path) -> list[str]:
    """Processes still running for the demo in ``out`` (their command lines name its key folder)."""
    ps = subprocess.run(["ps", "-ww", "-eo", "stat=,args="], capture_output=True, text=True, check=False)
    return [line for line in ps.stdout.splitlines()
            if str(out / "keys") in line and not line.lstrip().startswith("Z")]


# --- end to end -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_default_demo_works_the_whole_farm_through_the_real_fleet(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "agrifleet.core.cli", "demo", "--out", str(out), "--json",
                           "--no-open"], capture_output=True, text=True, timeout=300, check=False)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["completed"] and line["passed"], (line["criteria"], proc.stderr[-3000:])
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "agrifleet.demo.report" and report["completed"]

    # every field done, well covered; the wet corner and the obstacles are part of the farm
    fields = {f["name"]: f for f in report["fields"]}
    assert set(fields) == {"Creek field", "Pond field", "North field"}
    assert sum(f["area_ha"] for f in fields.values()) == pytest.approx(27.12, abs=0.05)
    for f in fields.values():
        assert f["state"] == "complete" and f["coverage"] >= 0.95 and f["overlap"] < 0.25
        assert f["fleet_coverage"] == pytest.approx(1.0)
    assert fields["Pond field"]["zones"] == ["Wet corner"] and fields["North field"]["obstacles"] == 1

    # each machine through its own driver and agent; areas add up to the farm, overlap included
    v = report["vehicles"]
    assert (v["t1"]["driver"], v["d1"]["driver"], v["d2"]["driver"]) == ("tractor", "mavlink", "mavlink")
    applied = sum(x["applied_area_m2"] for x in v.values())
    s = report["summary"]
    assert applied == pytest.approx(s["area_ha"] * 1e4 * (s["coverage"] + s["overlap"]), rel=0.05)
    for vid, x in v.items():
        assert x["applied_area_m2"] > 2e4 and x["distance_m"] > x["working_distance_m"] > 2000
        assert x["product_used_l"] > 0 and x["missions_complete"] == len(x["missions"]) == 3
        assert x["cross_track"]["rms_m"] < 0.1, vid
        assert x["agent"].startswith(f"agrifleet agent --vehicle {vid} --driver {x['driver']}")
    assert v["t1"]["product_used_l"] == pytest.approx(v["t1"]["applied_area_m2"] / 1e4 * 100, rel=0.05)
    for d in ("d1", "d2"):     # several tanks per drone: the crew refilled them at the depots
        assert v[d]["sorties_planned"] >= 2 and v[d]["depot_services"] >= 2
        assert v[d]["product_used_l"] > 20.0 and v[d]["min_battery_pct"] > 20.0
    assert s["done_at_s"] > s["work_started_s"] and s["achieved_speed_factor"] > 0
    assert report["fleet"]["agent_exit_codes"] == {"t1": 0, "d1": 0, "d2": 0}

    # the CURVE keys and the dispatcher's SQLite store are in the output folder
    keys = out / "keys"
    assert (keys / "server.key").is_file() and (keys / "operators" / "operator.key").is_file()
    for vid in v:
        secret = keys / "vehicles" / f"{vid}.key_secret"
        assert secret.is_file() and stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert "(CURVE)" in (out / "logs" / f"{vid}.log").read_text()
    assert report["fleet"]["dispatcher_stats"]["bus"]["unauthorised"] == 0
    store = Store(out / "fleet.db")
    try:
        jobs = store.jobs()
        assert [j.name for j in jobs] == ["spray Creek field", "spray Pond field", "spray North field"]
        assert all(j.state == JobState.COMPLETE for j in jobs)
        for job in jobs:
            missions = store.missions(job_id=job.id)
            assert sorted(m.vehicle for m in missions) == ["d1", "d2", "t1"]
            assert all(m.phase.name == "COMPLETE" and m.done_m > 0 for m in missions)
            for m in missions:
                assert len(store.plan(m.plan_id)) == m.acked_index + 1    # driven to the last sample
        for vid, x in v.items():                    # ... and really there: each machine ended its last plan
            end = store.plan(store.missions(vehicle=vid)[-1].plan_id).path[-1]
            assert np.hypot(x["final_xy"][0] - end["x"], x["final_xy"][1] - end["y"]) < 5.0, vid
        assert {r["id"]: r["driver"] for r in store.vehicles()} == {"t1": "tractor", "d1": "mavlink",
                                                                    "d2": "mavlink"}
        assert store.telemetry_count() > 30
    finally:
        store.close()

    # one self-contained page: three pictures inline, nothing fetched from elsewhere
    page = (out / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(PICTURES) == 3
    assert all(base64.b64decode(b).startswith(PNG_MAGIC) for b in images)
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page
    for vid in v:
        assert f"<b>{vid}</b>" in page
    assert not _children_of(out)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ps and SIGKILL semantics of Linux")
def test_interrupting_the_demo_stops_every_process_it_started(tmp_path):
    out = tmp_path / "demo"
    argv = [sys.executable, "-m", "agrifleet.core.cli", "demo", "--out", str(out), "--no-open"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(_children_of(out)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_children_of(out)) == 3, "the three agents never started"
    os.killpg(proc.pid, signal.SIGINT)            # Ctrl-C at a terminal reaches the whole process group
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and b"interrupted" in output
    assert not _children_of(out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux only")
def test_a_child_of_the_demo_ends_when_its_parent_is_killed(tmp_path):
    script = ("import os, subprocess, sys, time\n"
              "p = subprocess.Popen([sys.executable, '-m', 'agrifleet.sim._demo_child', str(os.getpid()),"
              " 'sim', 'vehicle', '--home', '45.0,10.0', '--mavlink', 'udpin:127.0.0.1:0'])\n"
              "print(p.pid, flush=True)\n"
              "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    status = Path(f"/proc/{child}/status")
    deadline = time.monotonic() + 20
    while b"sim vehicle" not in Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ") \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)                                # it runs (imports done, the vehicle is up)
    assert status.exists()
    parent.kill()
    parent.wait()
    gone = False
    while time.monotonic() < deadline and not gone:
        gone = not status.exists() or "\nState:\tZ" in status.read_text()
        time.sleep(0.05)
    assert gone, "the child outlived its parent"


def test_the_child_wrapper_runs_the_command_only_under_its_parent():
    from agrifleet.sim._demo_child import main as child

    assert child([]) == 2 and child(["x"]) == 2                      # usage (no prctl on the test process)
    wrapper = [sys.executable, "-m", "agrifleet.sim._demo_child"]
    stranger = subprocess.run([*wrapper, "1", "plugins"], capture_output=True, text=True, timeout=60,
                              check=False)
    assert stranger.returncode == 0 and not stranger.stdout                 # not its parent: nothing ran
    parent = ("import os, subprocess, sys\n"
              f"sys.exit(subprocess.run({wrapper!r} + [str(os.getpid()), 'plugins']).returncode)\n")
    proc = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and "agrifleet.commands" in proc.stdout and "demo" in proc.stdout


# --- command line errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--speed-factor", "0"], "--speed-factor"),
    (["--speed-factor", "fast"], "--speed-factor"),
])
def test_bad_options_are_one_line_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--no-open", *argv])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_bad_seed_scenario_or_driver_is_one_line_exit_2(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "o"), "--seed", "-1"]) == 2
    assert "--seed -1" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path / "o"), "--scenario", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert "none.toml: cannot read" in err and len(err.strip().splitlines()) == 1
    text = demo_scenario_path().read_text().replace('driver = "mavlink"', 'driver = "sim"', 1)
    text = text.replace("../../core/data/sample_farm.geojson", str(sample_farm_path()))
    bad = tmp_path / "sim.toml"
    bad.write_text(text)
    assert main(["demo", "--out", str(tmp_path / "o"), "--scenario", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "fleet[1].driver" in err and "'sim'" in err and not (tmp_path / "o" / "fleet.db").exists()


# --- planning the farm ------------------------------------------------------------------------------------

def test_roads_are_straight_legs_sampled_every_ten_metres_without_their_end():
    path = _road([(0.0, 0.0), (0.0, 0.0), (25.0, 0.0), (25.0, 40.0)], speed_mps=5.0)
    assert path.dtype == PATH_DTYPE and (path["kind"] == SegmentKind.TRANSIT).all()
    xy = np.column_stack([path["x"], path["y"]])
    assert xy[0].tolist() == [0.0, 0.0] and [25.0, 40.0] not in xy.tolist()
    steps = np.hypot(*np.diff(np.vstack([xy, [25.0, 40.0]]), axis=0).T)
    assert steps.max() <= 10.0 + 1e-9 and steps.sum() == pytest.approx(65.0)
    assert len(_road([(1.0, 1.0), (1.2, 1.1)], speed_mps=5.0)) == 0      # already there


def test_a_prefix_keeps_sorties_on_their_samples():
    path = make_path([(0, 0), (10, 0), (20, 0), (30, 0)], kind=SegmentKind.SWATH, speed_mps=5.0, sections=1)
    plan = Plan(path, sorties=(Sortie(0, 2, (0.0, 0.0), 10.0, 100.0), Sortie(2, 4, (0.0, 0.0), 10.0, 100.0)))
    out = _prefixed(plan, _road([(-30.0, 0.0), (0.0, 0.0)], speed_mps=8.0))
    assert len(out) == len(plan) + 3 and out.meta["ferry_samples"] == 3
    for before, after in zip(plan.sorties, out.sorties, strict=True):
        assert out.path[after.start]["x"] == plan.path[before.start]["x"] and after.stop - after.start == 2


def test_the_farm_plan_chains_fields_through_gates_and_the_yard():
    sc = load_scenario(demo_scenario_path())
    starts = start_poses(sc)
    farm = plan_farm(sc, starts)
    assert [j.entry.field for j in farm.jobs] == ["Creek field", "Pond field", "North field"]
    for vid in ("t1", "d1", "d2"):
        plans = farm.plans_of(vid)
        assert len(plans) == 3 and all(p.vehicle == vid for p in plans)
        first = plans[0].path[0]
        assert (first["x"], first["y"]) == pytest.approx(starts[vid][:2])      # from the yard
        for a, b in itertools.pairwise(plans):                                 # on from where it stopped
            assert (b.path[0]["x"], b.path[0]["y"]) == pytest.approx((a.path[-1]["x"], a.path[-1]["y"]))
    for plan, job in zip(farm.plans_of("t1"), sc.jobs, strict=True):    # the tractor enters by the gate
        gx, gy, _ = job.params["gate"]
        assert np.hypot(plan.path["x"] - gx, plan.path["y"] - gy).min() < 1.0
        assert not plan.sorties
    for d in ("d1", "d2"):
        assert sum(len(p.sorties) for p in farm.plans_of(d)) >= 3
    bad_job = dataclasses.replace(sc.jobs[0], params=sc.jobs[0].params | {"gate": [1, 2]})
    sc2 = dataclasses.replace(sc, jobs=(bad_job,))
    with pytest.raises(ScenarioError, match=r"jobs\[0\]\.params\.gate: must be \[x, y, heading_deg\]"):
        plan_farm(sc2, starts)


def test_the_plan_cursor_follows_the_vehicle_and_never_jumps_to_a_later_crossing():
    # the last leg crosses the first at (25, 0), as a drone's way back from a depot crosses passes ahead
    path = make_path([(0, 0), (50, 0), (50, 20), (25, 20), (25, -20)], kind=SegmentKind.SWATH, speed_mps=3.0,
                     sections=1)
    view = PlanView(Plan(path))
    first_leg = int(np.flatnonzero(view.cum <= 45.0)[-1])
    c = PlanCursor(view)
    xs = np.arange(0.0, 40.0, 0.5)
    seen = [c.follow(float(x), 0.0) for x in xs]
    assert seen == sorted(seen) and max(seen) <= first_leg      # through the crossing at x = 25, still leg 1
    assert c.s_m == pytest.approx(39.5, abs=1.0)
    assert c.follow(25.0, 19.0, at_least=0) <= first_leg + 1    # far off: it may not run ahead to reach it
    assert c.follow(50.0, 10.0, at_least=int(np.flatnonzero(view.cum <= 60.0)[-1])) >= first_leg + 1
    assert c.follow(0.0, 0.0) >= first_leg + 1                  # never back
    late = PlanCursor(view)                 # from the dispatcher's index it catches up by the slack a look
    assert late.follow(25.0, -19.5, at_least=2) == 2
    looks = [late.follow(25.0, -19.5) for _ in range(6)]
    assert looks == sorted(looks) and looks[-1] == 3 and late.s_m == pytest.approx(134.5)


# --- what the world measures ------------------------------------------------------------------------------

def test_the_ledger_adds_up_applied_area_time_and_serves_the_depot():
    tool = build_implement("sprayer:boom_width_m=12,n_sections=4")
    spec = EXAMPLE_TRACTOR
    world = World(rng=np.random.default_rng(1), dt_s=0.05)
    world.add_vehicle("t", TractorModel(spec, payload=payload_from_implement(tool)))
    world.model("t").arm()
    world.set_control("t", GroundControl(0.0, 2.0, 0b0111))     # three of four 3 m sections, straight on
    widths = -np.diff(section_edges(tool), axis=1)[:, 0]
    assert widths.tolist() == pytest.approx([3.0, 3.0, 3.0, 3.0])
    ledger = Ledger({"t": spec}, {"t": widths}, depots=[], every=2)
    world.observers.append(ledger)
    x0 = world.state("t").implement_x
    world.run(20.0)
    led, s = ledger.vehicles["t"], world.state("t")
    assert led.first_moved_s is not None and led.last_moved_s == pytest.approx(world.t_s, abs=0.11)
    assert led.working_s > 15.0 and led.moving_s == pytest.approx(led.working_s, abs=1.5)
    assert led.applied_m2 == pytest.approx(9.0 * (s.implement_x - x0), rel=0.02)   # 9 m of boom on
    assert math.isnan(led.min_battery_pct)                                          # no battery on a tractor
    assert s.tank_l < spec.tank_l
    world.set_control("t", GroundControl(0.0, 0.0, 0))
    world.run(10.0)
    assert not ledger.services
    ledger.depots.append((s.x + 1.0, s.y))                 # the crew walks over to where it stopped
    world.run(0.2)
    assert [e["vehicle"] for e in ledger.services] == ["t"] and world.state("t").tank_l == spec.tank_l


# --- the page ---------------------------------------------------------------------------------------------

def _report(completed: bool = True) -> dict:
    vehicle = {"kind": "tractor", "driver": "tractor", "implement": "sprayer", "agent": "agrifleet agent ...",
               "distance_m": 1000.0, "working_distance_m": 800.0, "applied_area_m2": 19200.0,
               "share_of_farm": 0.6, "time_working_s": 600.0, "time_moving_s": 700.0, "busy_s": 720.0,
               "product_used_l": 192.0, "energy_used_wh": None, "min_battery_pct": None,
               "sorties_planned": None,
               "depot_services": 0, "cross_track": {"rms_m": 0.012, "max_m": 0.03, "samples": 10},
               "fleet_coverage": 1.0, "missions": [1, 4], "missions_complete": 2}
    return {
        "scenario": {"name": "farm <&> test", "description": "a \"quoted\" farm"}, "completed": completed,
        "summary": {"fields": 1, "area_ha": 3.2, "vehicles": 2, "coverage": 0.987, "overlap": 0.05,
                    "work_s": 1200.0, "wall_s": 30.0, "achieved_speed_factor": 49.9, "product_used_l": 250.0,
                    "depot_services": 3},
        "criteria": [{"name": "coverage_min", "limit": 0.95, "measured": 0.987, "worst": "", "passed": True},
                     {"name": "overlap_max", "limit": 0.01, "measured": 0.05, "worst": "f", "passed": False}],
        "fields": [{"name": "North <field>", "area_ha": 3.2, "coverage": 0.987, "overlap": 0.05,
                    "skipped_m2": 12.0, "applied_outside_m2": 3.0, "fleet_coverage": 1.0, "vehicles": ["t1", "<d1>"],
                    "state": "complete"}],
        "vehicles": {"t1": vehicle, "<d1>": dict(vehicle, kind="multirotor", driver="mavlink",
                                                 energy_used_wh=900.0, min_battery_pct=41.0, sorties_planned=3,
                                                 depot_services=3)},
        "fleet": {"dispatcher": "tcp://127.0.0.1:5", "keys": "keys", "database": "fleet.db",
                  "missions_stored": 2, "agents": {"t1": "agrifleet agent --vehicle t1 --driver tractor"}},
        "timings": {"wall_s": 30.0, "plan_s": 2.0, "achieved_speed_factor": float("nan")},
        "planning": {"notes": ["transit <leaves> the field"]},
        "events": [{"vehicle": "t1", "code": "low_battery", "severity": "warning", "text": "battery 19 %"}],
    }


def test_the_page_embeds_its_pictures_and_escapes_every_name():
    pictures = {"plans": PNG_MAGIC + b"one", "coverage": PNG_MAGIC + b"two"}
    page = render_html(_report(), pictures)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [base64.b64decode(b) for b in images] == [pictures["plans"], pictures["coverage"]]   # page order
    assert "Driven tracks" not in page                   # a missing picture leaves no empty section
    assert "<field>" not in page and "North &lt;field&gt;" in page and "&lt;d1&gt;" in page
    assert "farm &lt;&amp;&gt; test" in page and "&quot;quoted&quot;" in page
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page
    assert "http://" not in page and "https://" not in page and "url(" not in page      # nothing to fetch


def test_the_page_tables_hold_one_row_per_vehicle_field_criterion_and_event():
    page = render_html(_report(completed=False), {})
    tables = re.findall(r"<table>.*?</table>", page, flags=re.DOTALL)
    rows = [len(re.findall(r"<tr>", t)) - 1 for t in tables]     # minus the heading row
    assert rows[:3] == [2, 1, 2]              # vehicles, fields, criteria
    assert rows[-1] == 1                      # events
    assert '<span class="bad">not done</span>' in page and '<span class="bad">failed</span>' in page
    assert "19.20" not in page and "1.92" in page          # applied hectares: 19200 m2
    assert "x50" in page and "98.7 %" in page and "&ndash;" in page   # NaN and None shown as a dash
