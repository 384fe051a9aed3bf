"""The demo's report: ``report.json`` (figures) and ``report.html`` (one self-contained page).

The figures build on the trial report (:mod:`._report`: as-applied coverage per job, distances, cross-track,
product and energy, missions, events), measured on the world's true states, and add what a demo shows
off: the area each machine applied and for how long it worked, sorties and depot stops, the fleet's own
progress figures from the dispatcher's database, how the processes were wired, and the timings. Floats are
rounded and NaN written as ``null`` (:func:`._report.clean`).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._report import clean

if TYPE_CHECKING:
    from ._demo_run import DemoRun

__all__ = ["FORMAT", "build_report", "summary_lines", "write_report"]

FORMAT = "agrifleet.demo.report"
VERSION = 1


def _fields(run: DemoRun, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for job in jobs:
        fld = run.scenario.field(job["field"])
        cov = job["as_applied"]
        out.append({"name": job["field"], "area_ha": fld.area_m2 / 1e4, "job": job["name"],
                    "job_id": job["id"], "state": job["state"], "coverage": cov["coverage_ratio"], "overlap": cov["overlap_ratio"],
                    "skipped_m2": cov["skipped_area_m2"], "applied_outside_m2": cov["outside_m2"],
                    "fleet_coverage": job["fleet_coverage"], "vehicles": job["vehicles"],
                    "obstacles": len(fld.obstacles), "zones": [z.name for z in fld.zones]})
    return out


def _vehicles(run: DemoRun, trial_vehicles: dict[str, Any], jobs: list[dict[str, Any]],
              farm_m2: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in run.scenario.fleet:
        vid = entry.id
        t = trial_vehicles[vid]
        led = run.world.ledger.vehicles.get(vid)
        plans = run.farm.plans_of(vid)
        missions = [m for j in jobs for m in j["missions"] if m["vehicle"] == vid]
        planned_m = sum(m["working_m"] for m in missions)
        done_m = sum(m["done_m"] for m in missions)
        air = not entry.spec.kind.is_ground
        busy = (led.last_moved_s - led.first_moved_s) if led and led.first_moved_s is not None else 0.0
        out[vid] = {
            "kind": entry.kind, "driver": entry.driver, "implement": entry.implement,
            "agent": run.agents.get(vid, ""),
            "distance_m": t["distance_m"], "working_distance_m": t["working_m"],
            "applied_area_m2": led.applied_m2 if led else 0.0,
            "share_of_farm": (led.applied_m2 / farm_m2) if led and farm_m2 > 0 else 0.0,
            "time_working_s": led.working_s if led else 0.0, "time_moving_s": led.moving_s if led else 0.0,
            "first_moved_s": led.first_moved_s if led else None,
            "last_moved_s": led.last_moved_s if led else None,
            "busy_s": busy,
            "product_used_l": t["product_used_l"], "energy_used_wh": t["energy_used_wh"] if air else None,
            "min_battery_pct": led.min_battery_pct if led and air else None,
            "sorties_planned": sum(len(p.sorties) for p in plans) if air else None,
            "depot_services": t["depot_services"],
            "ecu": run.world.ecu_stats.get(vid),      # tractor link: watchdog trips, holds for the driver
            "cross_track": t["cross_track"], "cross_track_headland": t["cross_track_headland"],
            "missions": [m["id"] for m in missions],
            "missions_complete": sum(m["phase"] == "complete" for m in missions),
            "fleet_working_m": planned_m, "fleet_done_m": done_m,
            "fleet_coverage": done_m / planned_m if planned_m > 0 else None,
            "final_xy": t["final_xy"], "breaches": t["breaches"],
        }
    return out


def build_report(run: DemoRun) -> dict[str, Any]:
    """The report as a JSON-ready dict (see the module documentation)."""
    trial = run.trial.report
    jobs = trial["jobs"]
    fields = _fields(run, jobs)
    farm_m2 = sum(run.scenario.field(f["name"]).area_m2 for f in fields)
    vehicles = _vehicles(run, trial["vehicles"], jobs, farm_m2)
    covered = sum((f["coverage"] or 0.0) * f["area_ha"] for f in fields)
    overlap = sum((f["overlap"] or 0.0) * f["area_ha"] for f in fields)
    area_ha = farm_m2 / 1e4
    work_s = run.done_at_s - run.submitted_at_s if run.done_at_s is not None else None
    completed = run.done_at_s is not None and all(j["state"] == "complete" for j in jobs)
    timings = dict(run.timings, speed_factor=run.speed_factor)
    return clean({
        "format": FORMAT, "version": VERSION,
        "scenario": trial["scenario"], "seed": run.seed,
        "completed": completed, "passed": trial["passed"],
        "summary": {
            "fields": len(fields), "area_ha": area_ha, "vehicles": len(vehicles),
            "coverage": covered / area_ha if area_ha > 0 else None,
            "overlap": overlap / area_ha if area_ha > 0 else None,
            "work_started_s": run.submitted_at_s, "done_at_s": run.done_at_s, "work_s": work_s,
            "sim_s": run.timings.get("sim_s"), "wall_s": run.timings.get("wall_s"),
            "speed_factor": run.speed_factor,
            "achieved_speed_factor": run.timings.get("achieved_speed_factor"),
            "product_used_l": sum(v["product_used_l"] for v in vehicles.values()),
            "depot_services": len(trial["depot_services"]), "breaches": len(trial["breaches"]),
        },
        "criteria": trial["criteria"],
        "fields": fields,
        "vehicles": vehicles,
        "jobs": jobs,
        "fleet": {
            "dispatcher": run.endpoint, "curve": True, "keys": "keys", "database": "fleet.db",
            "agents": run.agents, "agent_exit_codes": run.agent_exit,
            "dispatcher_stats": run.dispatcher_stats,
            "missions_stored": sum(len(j["missions"]) for j in jobs),
        },
        "planning": {"wall_s": run.farm.wall_s, "notes": list(run.farm.notes),
                     "jobs": [{"job": jp.entry.name, "field": jp.entry.field,
                               "vehicles": {vid: {"samples": len(p), "working_m": p.metrics.working_length_m
                                                  + p.metrics.headland_length_m, "sorties": len(p.sorties),
                                                  "planned_s": p.meta.get("finish_s", math.nan)}
                                            for vid, p in jp.plans.items()}} for jp in run.farm.jobs]},
        "timings": timings,
        "depot_services": trial["depot_services"],
        "breaches": trial["breaches"],
        "events": trial["events"],
    })


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A few lines for the terminal."""
    s = report["summary"]
    state = "done" if report["completed"] else "NOT DONE"
    pct = (lambda v: "n/a" if v is None else f"{100 * v:.1f} %")
    lines = [(f"{report['scenario']['name']}: {state}: {s['fields']} fields, {s['area_ha']:.1f} ha, coverage "
              f"{pct(s['coverage'])}, overlap {pct(s['overlap'])}")]
    if s["work_s"] is not None:
        lines.append(f"  work took {s['work_s'] / 60:.1f} min of farm time, {s['wall_s']:.0f} s on this "
                     f"machine (x{s['achieved_speed_factor'] or 0:.0f})")
    for f in report["fields"]:
        lines.append(f"  {f['name']:<14} {f['area_ha']:5.2f} ha  coverage {pct(f['coverage']):>8}  "
                     f"overlap {pct(f['overlap']):>7}  {f['state']}")
    for vid, v in report["vehicles"].items():
        extra = (f", {v['depot_services']} depot stops, battery >= {v['min_battery_pct']:.0f} %"
                 if v["min_battery_pct"] is not None else "")
        lines.append(f"  {vid:<4} {v['kind']:<10} {v['driver']:<8} {v['applied_area_m2'] / 1e4:5.2f} ha "
                     f"applied, {v['distance_m'] / 1e3:5.2f} km, {v['product_used_l']:6.1f} l{extra}")
    return lines


def write_report(run: DemoRun, report: dict[str, Any]) -> list[Path]:
    """Write ``report`` (see :func:`build_report`) as ``report.json`` and ``report.html`` into the run's
    output folder; returns the paths."""
    from ._demo_html import draw_pictures, render_html

    out = run.out
    json_path, html_path = out / "report.json", out / "report.html"
    json_path.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(report, draw_pictures(run, report)), encoding="utf-8")
    return [json_path, html_path]
