"""The report of a trial: criteria with measured values, per-vehicle and per-job figures, faults, events.

``report.json`` holds only what the simulation decides, so the same scenario and seed give the same bytes
(floats rounded to 6 decimals, NaN written as ``null``); wall-clock figures go to ``timing.json``. The
picture (``report.png``) is drawn by :mod:`._report_plot`.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from agrifleet.core.messages import EventCode, Severity
from agrifleet.core.plan import Plan
from agrifleet.core.store import MissionRow
from agrifleet.core.vehicle import VehicleState

from ._metrics import TrialMetrics
from .coverage import CoverageMap
from .scenario import JobEntry, Scenario
from .world import WorldEvent

__all__ = ["FORMAT", "JobRecord", "TrialRecord", "TrialResult", "build_result", "render_files", "report_json",
           "write_files", "write_report"]

FORMAT = "agrifleet.sim.report"
VERSION = 1


@dataclass(slots=True)
class JobRecord:
    entry: JobEntry
    job_id: int
    submitted_at_s: float
    status: dict[str, Any] | None       # FleetManager.job_status
    plans: dict[int, Plan]              # plan id -> plan (originals and re-planned pieces)
    cmap: CoverageMap


@dataclass(slots=True)
class TrialRecord:
    """Everything a trial leaves behind, for the report and the picture."""

    scenario: Scenario
    seed: int
    sim_s: float
    done_at_s: float | None
    jobs: list[JobRecord]
    metrics: TrialMetrics
    faults: list[dict[str, Any]]
    events: list[dict[str, Any]]
    missions: dict[str, list[MissionRow]]
    failures: dict[str, str]
    states: dict[str, VehicleState]
    lost: list[tuple[float, str]]
    frames_lost: int
    collisions: list[WorldEvent]
    agent_counters: dict[str, dict[str, int]]
    services: list[dict[str, Any]]
    deterministic: bool


@dataclass(frozen=True, slots=True)
class TrialResult:
    report: dict[str, Any]      # deterministic
    timing: dict[str, Any]      # wall clock
    record: TrialRecord

    @property
    def passed(self) -> bool:
        return bool(self.report["passed"])

    @property
    def exit_code(self) -> int:
        """0 when every criterion holds, 1 when one fails."""
        return 0 if self.passed else 1


def clean(value: Any) -> Any:
    """JSON-ready and stable: numpy scalars to Python, floats rounded, non-finite to ``None``."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value


def report_json(report: Mapping[str, Any]) -> str:
    return json.dumps(clean(report), indent=1, allow_nan=False) + "\n"


# --- building ----------------------------------------------------------------------------------------------

def _job(rec: JobRecord, missions: dict[int, MissionRow]) -> dict[str, Any]:
    cov = rec.cmap.report().to_dict()
    cov.pop("skipped_wkt", None)
    status = rec.status or {}
    out = {"name": rec.entry.name, "id": rec.job_id, "field": rec.entry.field, "planner": rec.entry.planner or "fleet",
           "implement": rec.entry.implement, "vehicles": list(rec.entry.vehicles),
           "submitted_at_s": rec.submitted_at_s, "state": status.get("state", "not submitted"),
           "fleet_coverage": status.get("coverage"), "working_m": status.get("working_m"),
           "as_applied": cov, "missions": [], "replanned": []}
    by_plan = {m.plan_id: m for m in missions.values() if m.job_id == rec.job_id}
    pieces: dict[int, list[dict[str, Any]]] = {}
    for pid, plan in rec.plans.items():
        m = by_plan.get(pid)
        if m is None:
            continue
        source = plan.meta.get("source_mission") if "source_range" in plan.meta else None
        entry = {"id": m.id, "vehicle": m.vehicle, "phase": m.phase.name.lower(), "samples": len(plan),
                 "acked_index": m.acked_index, "done_m": m.done_m, "reason": m.reason,
                 "working_m": plan.metrics.working_length_m + plan.metrics.headland_length_m}
        if source:
            entry["source_mission"] = int(source)
            entry["source_range"] = [int(v) for v in plan.meta["source_range"]]
            pieces.setdefault(int(source), []).append({"mission": m.id, "vehicle": m.vehicle,
                                                       "samples": entry["source_range"]})
        out["missions"].append(entry)
    for entry in out["missions"]:
        if entry["id"] in pieces:
            out["replanned"].append({"mission": entry["id"], "vehicle": entry["vehicle"],
                                     "phase": entry["phase"], "reason": entry["reason"],
                                     "from_index": entry["acked_index"], "pieces": pieces[entry["id"]]})
    return out


def _vehicles(record: TrialRecord) -> dict[str, Any]:
    out = {}
    for entry in record.scenario.fleet:
        vid = entry.id
        m = record.metrics.vehicles[vid]
        s = record.states[vid]
        breaches = len(m.breaches) + sum(1 for e in record.collisions if e.vehicle == vid)
        served = [v for v in record.services if v["vehicle"] == vid]
        out[vid] = {
            "kind": entry.kind, "driver": entry.driver, "implement": entry.implement,
            "final_xy": [s.x, s.y], "distance_m": m.distance_m, "working_m": m.working_m,
            "cross_track": m.xte_swath.to_dict(), "cross_track_headland": m.xte_headland.to_dict(),
            "energy_used_wh": m.energy_start_wh - s.battery_wh + sum(
                entry.spec.battery_wh - v["battery_wh"] for v in served) if entry.spec.battery_wh > 0 else 0.0,
            "product_used_l": m.tank_start_l - s.tank_l + sum(
                entry.spec.tank_l - v["tank_l"] for v in served) if entry.spec.tank_l > 0 else 0.0,
            "failed": bool(record.failures.get(vid)), "failure": record.failures.get(vid, ""),
            "missions": [r.id for r in record.missions.get(vid, [])], "breaches": breaches,
            "depot_services": len(served),
            "agent": record.agent_counters.get(vid, {}),
        }
    return out


def _criteria(record: TrialRecord, jobs: list[dict[str, Any]], vehicles: dict[str, Any],
              breaches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    c = record.scenario.criteria
    out: list[dict[str, Any]] = []

    def add(name: str, limit: Any, measured: Any, passed: bool, worst: str = "") -> None:
        out.append({"name": name, "limit": limit, "measured": measured, "passed": bool(passed),
                    "worst": worst})

    def worst_job(key: str, pick: Any) -> tuple[float | None, str]:
        values = [(j["as_applied"][key], j["name"]) for j in jobs if j["as_applied"][key] is not None
                  and math.isfinite(j["as_applied"][key])]
        return pick(values) if values else (None, "")

    if c.coverage_min is not None:
        v, name = worst_job("coverage_ratio", min)
        add("coverage_min", c.coverage_min, v, v is not None and v >= c.coverage_min, name)
    if c.overlap_max is not None:
        v, name = worst_job("overlap_ratio", max)
        add("overlap_max", c.overlap_max, v, v is not None and v <= c.overlap_max, name)
    measured = [(d["cross_track"]["rms_m"], d["cross_track"]["max_m"], vid) for vid, d in vehicles.items()
                if d["cross_track"]["samples"]]
    if c.cross_track_rms_max_m is not None:
        v, name = max(((r, vid) for r, _, vid in measured), default=(None, ""))
        limit = c.cross_track_rms_max_m
        add("cross_track_rms_max_m", limit, v, v is not None and v <= limit, name)
    if c.cross_track_max_m is not None:
        v, name = max(((mx, vid) for _, mx, vid in measured), default=(None, ""))
        add("cross_track_max_m", c.cross_track_max_m, v, v is not None and v <= c.cross_track_max_m, name)
    if c.no_geofence_breach:
        who = ", ".join(sorted({b["vehicle"] for b in breaches}))
        add("no_geofence_breach", 0, len(breaches), not breaches, who)
    if c.done_within_s is not None:
        add("done_within_s", c.done_within_s, record.done_at_s,
            record.done_at_s is not None and record.done_at_s <= c.done_within_s)
    return out


def _events(record: TrialRecord) -> list[dict[str, Any]]:
    out = []
    for e in record.events:
        try:
            code = EventCode(e["code"]).name.lower()
        except ValueError:
            code = str(e["code"])
        try:
            severity = Severity(e["severity"]).name.lower()
        except ValueError:
            severity = str(e["severity"])
        out.append({"t_s": e["t_s"], "vehicle": e["vehicle"], "mission": e["mission"], "code": code,
                    "severity": severity, "text": e["text"]})
    return out


def build_result(record: TrialRecord, timing: dict[str, Any]) -> TrialResult:
    sc = record.scenario
    missions = {m.id: m for rows in record.missions.values() for m in rows}
    jobs = [_job(j, missions) for j in record.jobs]
    vehicles = _vehicles(record)
    breaches = [b for vid in vehicles for b in record.metrics.vehicles[vid].breaches]
    breaches += [{"kind": "obstacle", "vehicle": e.vehicle, "at_s": e.t_s, "detail": e.detail}
                 for e in record.collisions]
    criteria = _criteria(record, jobs, vehicles, breaches)
    rms = [d["cross_track"]["rms_m"] for d in vehicles.values() if d["cross_track"]["samples"]]
    report = {
        "format": FORMAT, "version": VERSION,
        "scenario": {"name": sc.name, "file": Path(sc.source).name, "description": sc.description},
        "seed": record.seed, "deterministic": record.deterministic,
        "passed": all(c["passed"] for c in criteria),
        "criteria": criteria,
        "summary": {
            "sim_time_s": record.sim_s, "time_limit_s": sc.run.time_limit_s, "done_at_s": record.done_at_s,
            "completed": record.done_at_s is not None,
            "coverage_min": min((j["as_applied"]["coverage_ratio"] for j in jobs), default=None),
            "overlap_max": max((j["as_applied"]["overlap_ratio"] for j in jobs), default=None),
            "cross_track_rms_max_m": max(rms, default=None),
            "breaches": len(breaches), "faults_applied": len(record.faults),
            "replanned_missions": sum(len(j["replanned"]) for j in jobs),
        },
        "jobs": jobs,
        "vehicles": vehicles,
        "faults": record.faults,
        "depot_services": record.services,
        "breaches": breaches,
        "fleet": {"lost": [{"at_s": t, "vehicle": v} for t, v in record.lost],
                  "frames_lost": record.frames_lost},
        "events": _events(record),
    }
    return TrialResult(clean(report), clean(timing), record)


def render_files(result: TrialResult, picture: bool = True) -> dict[str, bytes]:
    """The report's files by name: ``report.json``, ``timing.json`` and (``picture``) ``report.png``."""
    files = {"report.json": report_json(result.report).encode("utf-8"),
             "timing.json": (json.dumps(result.timing, indent=1) + "\n").encode("utf-8")}
    if picture:
        import io

        from ._report_plot import draw_trial

        buf = io.BytesIO()
        draw_trial(result, buf)
        files["report.png"] = buf.getvalue()
    return files


def write_files(files: Mapping[str, bytes], directory: str | Path) -> list[Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def write_report(result: TrialResult, directory: str | Path, picture: bool = True) -> list[Path]:
    """Write ``report.json``, ``timing.json`` and (``picture``) ``report.png`` into ``directory``."""
    return write_files(render_files(result, picture), directory)
