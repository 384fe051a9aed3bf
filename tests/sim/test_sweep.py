"""Batch trials on local processes and on a Dask cluster: same trials, same results, in trial order."""
from __future__ import annotations

import json

import pytest
from agrifleet.core.cli import main
from agrifleet.sim.scenario import load_scenario
from agrifleet.sim.sweep import run_one, run_sweep, table, trials_for

from ._trials import small

VOLATILE = ("wall_s", "real_time_factor")


def stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    ok = load_scenario(small(tmp, name="ok.toml"))
    late = load_scenario(small(tmp, name="late.toml", criteria="coverage_min = 0.9\ndone_within_s = 30"))
    return ok, late


@pytest.fixture(scope="module")
def expected(scenarios):
    """The trials run one after the other in this process: what every executor must reproduce."""
    ok, late = scenarios
    return [run_one(t.scenario, t.seed) for t in trials_for([ok, late], 2)]


def test_seeds_follow_the_scenarios_own(scenarios, expected):
    assert [(s["scenario"], s["seed"]) for s in expected] == [("ok", 0), ("ok", 1), ("late", 0), ("late", 1)]
    assert [s["status"] for s in expected] == ["passed", "passed", "failed", "failed"]
    assert expected[2]["failed_criteria"] == ["done_within_s"] and expected[2]["exit_code"] == 1
    assert expected[0]["coverage_min"] > 0.9 and expected[0]["coverage_min"] != expected[1]["coverage_min"]
    lines = table(expected)
    assert len(lines) == 6 and "ok" in lines[2] and "failed" in lines[4]


def test_local_processes_reproduce_the_trials_in_order(scenarios, expected):
    ok, late = scenarios
    seen = []
    out = run_sweep(trials_for([ok, late], 2), workers=2, progress=seen.append)
    assert [stable(s) for s in out] == [stable(s) for s in expected]
    assert len(seen) == 4 and all(s["wall_s"] > 0 for s in out)


def test_dask_local_cluster_reproduces_the_trials_and_returns_reports(scenarios, expected):
    from distributed import Client, LocalCluster

    ok, late = scenarios
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        out = run_sweep(trials_for([ok, late], 2), client=client, with_reports=True)
    assert [stable({k: v for k, v in s.items() if k != "files"}) for s in out] == [stable(s) for s in expected]
    report = json.loads(out[0]["files"]["report.json"])
    assert report["seed"] == 0 and report["passed"]
    assert out[0]["files"]["report.png"][:4] == b"\x89PNG"


def test_cli_sweep_on_a_scheduler_writes_reports(scenarios, tmp_path, capsys):
    from distributed import LocalCluster

    ok, _ = scenarios
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        code = main(["sim", "sweep", ok.source, "--seeds", "2", "--scheduler", cluster.scheduler_address,
                     "--report", str(tmp_path / "r"), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["passed"] == 2 and [t["seed"] for t in printed["trials"]] == [0, 1]
    for seed in (0, 1):
        report = json.loads((tmp_path / "r" / f"ok-seed{seed}" / "report.json").read_text())
        assert report["seed"] == seed and (tmp_path / "r" / f"ok-seed{seed}" / "report.png").exists()


def test_cli_sweep_prints_a_table_and_fails_when_a_trial_fails(scenarios, capsys):
    ok, late = scenarios
    assert main(["sim", "sweep", ok.source, late.source, "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "scenario" in out.splitlines()[0] and "late.toml seed 0: failed done_within_s" in out
    assert "2 of 3" not in out and "1 of 2 trial(s) passed" in out


def test_a_bad_scenario_stops_the_sweep_before_it_starts_or_is_reported_per_trial(scenarios, tmp_path, capsys):
    ok, _ = scenarios
    broken = small(tmp_path, name="broken.toml", criteria="coverage_min = 'high'")
    assert main(["sim", "sweep", ok.source, str(broken)]) == 2
    assert "broken.toml: criteria.coverage_min: must be a finite number" in capsys.readouterr().err
    # a problem found only when the job is planned ends that trial, not the sweep
    unplannable = load_scenario(small(tmp_path, name="bad-params.toml", params="headland_passes = -3"))
    out = run_sweep(trials_for([unplannable, ok], 1), workers=1)
    assert [s["status"] for s in out] == ["bad scenario", "passed"]
    assert "jobs[0]" in out[0]["error"] and out[0]["exit_code"] == 2
