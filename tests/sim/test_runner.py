"""Headless trials: the CI example passes, criteria decide the exit code, faults do what they say, and the same
seed gives the same report byte for byte."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from agrifleet.core.cli import main
from agrifleet.sim._report import report_json
from agrifleet.sim.runner import run_trial
from agrifleet.sim.scenario import load_scenario

from ..conftest import ROOT
from ._trials import small

CI = ROOT / "examples" / "scenarios" / "ci-two-tractors.toml"
PACED = ROOT / "examples" / "scenarios" / "paced-tractor-link-and-mavlink.toml"


@pytest.fixture(scope="module")
def ci_result():
    return run_trial(load_scenario(CI))


def test_the_ci_example_passes_with_its_broken_tractor_replanned(ci_result):
    report = ci_result.report
    assert report["passed"] and ci_result.exit_code == 0
    assert [c["name"] for c in report["criteria"]] == ["coverage_min", "overlap_max", "cross_track_rms_max_m",
                                                       "no_geofence_breach", "done_within_s"]
    (job,) = report["jobs"]
    assert job["state"] == "complete" and job["as_applied"]["coverage_ratio"] >= 0.95
    # t1 broke down at 150 s and said so: its mission failed and the rest of it went to t2
    (replan,) = job["replanned"]
    assert replan["vehicle"] == "t1" and replan["phase"] == "failed" and "VEHICLE_FAILURE" in replan["reason"]
    assert {p["vehicle"] for p in replan["pieces"]} == {"t2"}
    assert all(p["samples"][0] >= replan["from_index"] for p in replan["pieces"])
    pieces = [m for m in job["missions"] if m.get("source_mission") == replan["mission"]]
    assert pieces and all(m["phase"] == "complete" for m in pieces)
    texts = [e["text"] for e in report["events"] if e["vehicle"] == "t1"]
    assert any("re-planned onto t2" in t for t in texts)
    t1, t2 = report["vehicles"]["t1"], report["vehicles"]["t2"]
    assert t1["failed"] and not t2["failed"] and t2["working_m"] > 2 * t1["working_m"]
    failure = next(f for f in report["faults"] if f["kind"] == "vehicle_failure")
    assert failure["applied_at_s"] == pytest.approx(150.0, abs=0.11)
    # a broken tractor stops where it broke (within its braking distance)
    assert abs(t1["final_xy"][0] - failure["xy"][0]) + abs(t1["final_xy"][1] - failure["xy"][1]) < 5.0
    assert report["summary"]["replanned_missions"] == 1 and report["summary"]["breaches"] == 0
    assert ci_result.timing["wall_s"] > 0 and "wall_s" not in json.dumps(report)


def test_same_seed_same_bytes_also_from_the_command_line_in_another_process(ci_result, tmp_path):
    expected = report_json(ci_result.report)
    out = tmp_path / "cli"
    env = dict(os.environ, PYTHONHASHSEED="1234")       # another hash seed: set orders must not leak
    done = subprocess.run([sys.executable, "-m", "agrifleet.core.cli", "sim", "run", str(CI), "--report", str(out),
                           "--json", "--no-picture"], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["passed"] and printed["timing"]["real_time_factor"] > 1
    assert (out / "report.json").read_text() == expected
    again = run_trial(load_scenario(CI), ci_result.report["seed"] + 1)
    assert report_json(again.report) != expected


def test_cli_run_writes_report_and_picture(tmp_path, capsys):
    scenario = small(tmp_path)
    assert main(["sim", "run", str(scenario), "--report", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "coverage_min" in out
    assert (tmp_path / "r" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    timing = json.loads((tmp_path / "r" / "timing.json").read_text())
    assert report["format"] == "agrifleet.sim.report" and report["deterministic"] and timing["sim_s"] > 0


def test_a_failing_criterion_exits_1(tmp_path, capsys):
    scenario = small(tmp_path, criteria="coverage_min = 0.9\ndone_within_s = 30")
    assert main(["sim", "run", str(scenario), "--report", str(tmp_path / "r"), "--json", "--no-picture"]) == 1
    printed = json.loads(capsys.readouterr().out)
    verdicts = {c["name"]: c["passed"] for c in printed["criteria"]}
    assert verdicts == {"coverage_min": True, "done_within_s": False} and not printed["passed"]
    assert printed["summary"]["done_at_s"] > 30


def test_a_bad_scenario_exits_2_with_one_line(tmp_path, capsys):
    scenario = small(tmp_path, criteria="coverage_min = 2")
    assert main(["sim", "run", str(scenario)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "criteria.coverage_min: must be <= 1, got 2" in err
    # parameters the planner refuses are the scenario's fault too, found when the job is planned
    bad_params = small(tmp_path, name="p.toml", params='headland_passes = "x"')
    assert main(["sim", "run", str(bad_params)]) == 2
    assert "jobs[0]: headland passes = 'x'" in capsys.readouterr().err


@pytest.mark.parametrize("planner", ["", "coverage", "job"])
def test_jobs_are_planned_by_the_fleet_manager_or_by_the_planner_plugin_they_name(tmp_path, planner):
    scenario = small(tmp_path, vehicles=2, name=f"{planner or 'fleet'}.toml")
    if planner:
        scenario.write_text(scenario.read_text().replace("[[jobs]]\n", f'[[jobs]]\nplanner = "{planner}"\n'))
    report = run_trial(load_scenario(scenario)).report
    (job,) = report["jobs"]
    assert job["planner"] == (planner or "fleet") and job["state"] == "complete"
    assert {m["vehicle"] for m in job["missions"]} == {"t1", "t2"}       # the work was shared
    assert job["as_applied"]["coverage_ratio"] > 0.9 and report["passed"]


def test_gnss_degradation_raises_cross_track_error(tmp_path):
    def rms(quality: str) -> tuple[float, list[str]]:
        faults = (f'[[faults]]\nat_s = 0\nvehicle = "t1"\nkind = "gnss"\nquality = "{quality}"\n'
                  "duration_s = 10000\n") if quality else ""
        r = run_trial(load_scenario(small(tmp_path, faults=faults, name=f"{quality or 'fixed'}.toml"))).report
        return r["vehicles"]["t1"]["cross_track"]["rms_m"], [e["code"] for e in r["events"]]

    fixed, fixed_events = rms("")
    float_, _ = rms("rtk_float")
    single, single_events = rms("single")
    assert fixed < 0.05 and float_ > 3 * fixed and single > 2 * float_
    assert "gnss_degraded" in single_events and "gnss_degraded" not in fixed_events


def test_a_silent_failure_is_noticed_by_its_silence_then_replanned(tmp_path):
    faults = '[[faults]]\nat_s = 40\nvehicle = "t1"\nkind = "vehicle_failure"\nsilent = true\n'
    scenario = small(tmp_path, vehicles=2, faults=faults, run="replan_after_s = 5")
    report = run_trial(load_scenario(scenario)).report
    (lost,) = report["fleet"]["lost"]
    assert lost["vehicle"] == "t1" and lost["at_s"] == pytest.approx(43.0, abs=0.3)   # 3 heartbeats of 1 s
    (job,) = report["jobs"]
    (replan,) = job["replanned"]
    assert replan["phase"] == "reassigned" and replan["reason"] == "vehicle t1 lost"
    when = next(e["t_s"] for e in report["events"] if "re-planned onto t2" in e["text"])
    assert when == pytest.approx(48.0, abs=0.3)                                      # + replan_after_s
    assert job["state"] == "complete" and job["as_applied"]["coverage_ratio"] > 0.9


@pytest.mark.parametrize("seconds,replanned", [(4, 0), (25, 1)])
def test_link_loss_replans_only_when_it_outlasts_the_fleets_patience(tmp_path, seconds, replanned):
    faults = f'[[faults]]\nat_s = 30\nvehicle = "t1"\nkind = "link_loss"\nduration_s = {seconds}\n'
    scenario = small(tmp_path, vehicles=2, faults=faults, run="replan_after_s = 8")
    report = run_trial(load_scenario(scenario)).report
    assert report["fleet"]["frames_lost"] > 0
    assert [lost["vehicle"] for lost in report["fleet"]["lost"]] == ["t1"]
    (job,) = report["jobs"]
    assert len(job["replanned"]) == replanned and job["state"] == "complete"
    t1 = [m for m in job["missions"] if m["vehicle"] == "t1"]
    assert t1[0]["phase"] == ("reassigned" if replanned else "complete")
    if replanned:
        # back on the link, t1 is told to stop the mission that is no longer its own
        assert report["vehicles"]["t1"]["agent"]["progress"] > 0
        assert any(p["vehicle"] == "t2" for p in job["replanned"][0]["pieces"])


@pytest.mark.slow
def test_paced_trial_drives_a_tractor_link_and_a_mavlink_drone(tmp_path):
    text = PACED.read_text().replace("[96, 0], [96, 60], [0, 60]", "[60, 0], [60, 36], [0, 36]").replace(
        "start = [90, 2, 90]", "start = [56, 2, 90]").replace("done_within_s = 600", "done_within_s = 280")
    path = tmp_path / "paced.toml"
    path.write_text(text)
    result = run_trial(load_scenario(path), speed_factor=8.0)
    report = result.report
    assert not report["deterministic"] and result.timing["paced"]
    assert [j["state"] for j in report["jobs"]] == ["complete", "complete"]
    assert min(j["as_applied"]["coverage_ratio"] for j in report["jobs"]) > 0.85
    assert report["vehicles"]["t1"]["driver"] == "tractor" and report["vehicles"]["d1"]["driver"] == "mavlink"
    # the tractor link is paced in simulated time: guidance on the agent still holds the headland pass
    assert report["vehicles"]["t1"]["cross_track_headland"]["rms_m"] < 0.15
