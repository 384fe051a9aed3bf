"""A plan as the MISSION_ITEM_INT lists an autopilot stores, and the way back from a mission seq to the
plan sample it stands for.

The conversion itself is the mission export's (:func:`agrifleet.planners.export.mission.build_missions`):
decimation within a tolerance, ``DO_CHANGE_SPEED`` where the speed changes, the implement's own actuation
commands (``DO_SET_SERVO`` / ``DO_SET_RELAY`` / ``DO_SPRAYER``) moved ahead by its lead and lag, a take-off
for drones, and a split into parts where a mission exceeds the autopilot's item limit. This module turns
those missions into wire tuples for the uploader, with ArduPilot's home at seq 0, and keeps for every seq
the plan sample reached when that item is reached (``TelemetrySample.plan_index``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from agrifleet.core.errors import ConfigError, PlanError
from agrifleet.core.implement import Implement
from agrifleet.core.plan import Plan
from agrifleet.planners.export._common import ExportOptions, anchored
from agrifleet.planners.export.mission import Mission, build_missions
from agrifleet.sim._mav_proto import GLOBAL_FRAMES

from ._mav_client import WireItem

__all__ = ["MissionPart", "items_differ", "plan_to_parts"]

HOME_SAMPLE = -1


@dataclass(frozen=True, slots=True)
class MissionPart:
    """One upload: wire items as the autopilot stores them, and the plan sample of every seq."""

    items: tuple[WireItem, ...]
    samples: tuple[int, ...]          # per seq: last plan sample reached once the item is reached
    first_seq: int                    # seq of the first item flown (1 on ArduPilot)
    first_sample: int
    last_sample: int

    def sample_of(self, seq: int) -> int:
        if not self.samples:
            return -1
        return self.samples[min(max(seq, 0), len(self.samples) - 1)]


def _wire(it: Any) -> WireItem:
    """A mission-export item as MISSION_ITEM_INT fields (frames 0/3 become their _INT twins)."""
    frame = {0: 5, 3: 6}.get(int(it.frame), int(it.frame))
    positional = frame in GLOBAL_FRAMES
    x = int(round(it.lat_deg * 1e7)) if positional else int(it.lat_deg)
    y = int(round(it.lon_deg * 1e7)) if positional else int(it.lon_deg)
    p = tuple(float(v) for v in it.params)
    return (frame, int(it.command), 0, 1 if it.autocontinue else 0, p[0], p[1], p[2], p[3], x, y,
            float(it.alt_m))


def _part(mission: Mission, offset: int) -> MissionPart:
    stored = mission.uploaded
    first_seq = len(stored) - len(mission.items)
    items = []
    samples = []
    last = max(mission.first_sample, 0) + offset
    for seq, it in enumerate(stored):
        items.append(_wire(it))
        if seq >= first_seq and it.sample >= 0:
            last = it.sample + offset
        samples.append(last if seq >= first_seq else HOME_SAMPLE)
    if items and first_seq == 0:            # PX4: seq 0 flown first; mark it current as ground stations do
        items[0] = items[0][:2] + (1,) + items[0][3:]
    return MissionPart(tuple(items), tuple(samples), first_seq, mission.first_sample + offset,
                       mission.last_sample + offset)


def plan_to_parts(plan: Plan, start_index: int, *, firmware: str, air: bool, implement: Implement | None,
                  max_items: int, tolerance_m: float = 0.1, acceptance_radius_m: float = 0.0,
                  end: str = "auto", origin: tuple[float, float] | None = None) -> list[MissionPart]:
    """The missions that fly ``plan`` from sample ``start_index`` on, each within ``max_items``."""
    if len(plan) < 2 or not 0 <= start_index < len(plan) - 1:
        raise PlanError(f"a plan of {len(plan)} samples cannot be flown from sample {start_index}")
    options = ExportOptions(origin=origin, firmware=firmware, vehicle="air" if air else "ground",
                            tolerance_m=tolerance_m, max_items=max_items, on_limit="split", end=end,
                            acceptance_radius_m=acceptance_radius_m, per_sortie=False, implement="none")
    try:
        rest = anchored(plan, options).slice(start_index, len(plan))
        missions, warnings = build_missions(rest, implement, options)
    except ConfigError as exc:
        raise PlanError(str(exc)) from None
    if not missions:
        raise PlanError("the plan gave no mission items")
    return [_part(m, start_index) for m in missions]


def items_differ(sent: Sequence[WireItem], got: Sequence[Any], first_seq: int) -> str:
    """Why a read-back differs from what was sent ("" when it matches); home (seq < first_seq) is the
    vehicle's own and is not compared."""
    if len(sent) != len(got):
        return f"{len(got)} items read back, {len(sent)} sent"
    for seq in range(first_seq, len(sent)):
        frame, cmd, _cur, _auto, p1, p2, p3, p4, x, y, z = sent[seq]
        m = got[seq]
        if (m.frame, m.command) != (frame, cmd):
            return f"item {seq}: frame/command {m.frame}/{m.command}, sent {frame}/{cmd}"
        if (m.x, m.y) != (x, y):
            return f"item {seq}: position {m.x},{m.y}, sent {x},{y}"
        for name, a, b in (("param1", m.param1, p1), ("param2", m.param2, p2), ("param3", m.param3, p3),
                           ("param4", m.param4, p4), ("z", m.z, z)):
            if not _same_float(a, b):
                return f"item {seq}: {name} {a!r}, sent {b!r}"
    return ""


def _same_float(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-5 * max(1.0, abs(b))

