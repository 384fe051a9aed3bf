"""A plan as MAVLink mission items: the common core of the QGC ``.plan`` and WPL 110 exports.

The dense path is decimated to waypoints within a tolerance (:mod:`._decimate`); every sample where speed,
direction, kind or sections change stays a waypoint. Commands follow the waypoint at which they take
effect (ArduPilot and PX4 both run the DO items after a NAV item once that item is reached):
``DO_CHANGE_SPEED`` where the speed changes, ``DO_SET_REVERSE`` where a ground vehicle changes direction,
and the implement's own actuation commands where its sections change, moved ahead of the change by the
implement's lead (on) and lag (off) times at the approach speed; when that point falls between two
waypoints a waypoint is inserted on the path there.

Drones get a ``NAV_TAKEOFF`` to the first sample's height and end with RTL (or LAND at the depot of a
sortie); ground vehicles just stop. Autopilots hold a limited number of items (ArduPilot on small boards:
724, home included), so a mission that does not fit is split into parts, preferably where the implement is
off, each part starting where the previous one ended and re-establishing speed, direction and implement
state; or, by choice, it is written whole with a warning.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from agrifleet.core.errors import ConfigError
from agrifleet.core.implement import Implement, MavCommand
from agrifleet.core.plan import Plan

from ._common import ExportOptions, ExportResult, anchored, output_paths, resolve_implement
from ._decimate import decimate

__all__ = ["MavFrame", "Mission", "MissionItem", "MissionCmd", "build_missions", "is_air", "write_missions"]

logger = logging.getLogger(__name__)

_MERGE_M = 0.01  # a switch point this close to a waypoint shares it


class MavFrame(IntEnum):
    GLOBAL = 0                # altitude above mean sea level (home)
    MISSION = 2               # no position (DO items)
    GLOBAL_RELATIVE_ALT = 3   # altitude above home


class MissionCmd(IntEnum):
    """MAV_CMD ids of the mission structure (the implement brings its own DO commands)."""

    NAV_WAYPOINT = 16
    NAV_RETURN_TO_LAUNCH = 20
    NAV_LAND = 21
    NAV_TAKEOFF = 22
    DO_CHANGE_SPEED = 178
    DO_SET_REVERSE = 194


_NAV_LAST = 95  # MAV_CMD_NAV_LAST: ids below are navigation commands


@dataclass(frozen=True, slots=True)
class MissionItem:
    """One mission item in the MISSION_ITEM layout: command, frame, param1-4, lat/lon degrees, altitude m."""

    command: int
    frame: int
    params: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    lat_deg: float = 0.0
    lon_deg: float = 0.0
    alt_m: float = 0.0
    autocontinue: bool = True
    sample: int = -1  # plan sample a waypoint stands for; -1 for commands and inserted switch points

    @property
    def is_nav(self) -> bool:
        return self.command <= _NAV_LAST


@dataclass(frozen=True, slots=True)
class Mission:
    """The items of one mission file (home not included), and where it sits in its plan."""

    items: tuple[MissionItem, ...]
    home: tuple[float, float, float]
    firmware: str
    air: bool
    part: int
    n_parts: int
    first_sample: int
    last_sample: int
    cruise_speed_mps: float

    @property
    def uploaded(self) -> tuple[MissionItem, ...]:
        """The items as an autopilot stores them: ArduPilot keeps home at seq 0."""
        if self.firmware != "ardupilot":
            return self.items
        lat, lon, alt = self.home
        return (MissionItem(MissionCmd.NAV_WAYPOINT, MavFrame.GLOBAL, (0, 0, 0, 0), lat, lon, alt),) + self.items

    @property
    def n_waypoints(self) -> int:
        return sum(1 for it in self.items if it.command == MissionCmd.NAV_WAYPOINT)


@dataclass(slots=True)
class _Stop:
    s_m: float
    xyz: tuple[float, float, float]
    sample: int
    dos: list[MissionItem] = field(default_factory=list)
    mask: int = 0         # implement state after this stop's commands
    speed: float = 0.0
    direction: int = 1
    switched_to: int | None = None  # implement state a switch event at this stop leaves
    lat_deg: float = 0.0
    lon_deg: float = 0.0


def is_air(plan: Plan, options: ExportOptions) -> bool:
    if options.vehicle != "auto":
        return options.vehicle == "air"
    return bool(len(plan.path)) and float(np.max(plan.path["z"])) > 0.5


def _do(cmd: MavCommand) -> MissionItem:
    p = cmd.params
    return MissionItem(int(cmd.command), MavFrame.MISSION, (p[0], p[1], p[2], p[3]), p[4], p[5], p[6])


def _speed(v: float) -> MissionItem:
    return MissionItem(MissionCmd.DO_CHANGE_SPEED, MavFrame.MISSION, (1.0, round(abs(v), 3), -1.0, 0.0))


def _reverse(direction: int) -> MissionItem:
    return MissionItem(MissionCmd.DO_SET_REVERSE, MavFrame.MISSION, (1.0 if direction < 0 else 0.0, 0, 0, 0))


def _switch_events(path: np.ndarray, s: np.ndarray, impl: Implement) -> list[tuple[float, int, int, int]]:
    """``(s_m, change sample, bits on, bits off)`` in path order, each moved ahead by its lead."""
    masks = path["sections"].astype(np.int64) & impl.all_on_mask
    events = [(0.0, 0, int(masks[0]), 0)]
    for i in np.flatnonzero(masks[1:] != masks[:-1]) + 1:
        v = float(path["speed"][i - 1])
        off, on = int(masks[i - 1] & ~masks[i]), int(masks[i] & ~masks[i - 1])
        if off:
            events.append((max(s[i] - impl.switch_lead_m(v, on=False), 0.0), int(i), 0, off))
        if on:
            events.append((max(s[i] - impl.switch_lead_m(v, on=True), 0.0), int(i), on, 0))
    events.append((float(s[-1]), len(path) - 1, 0, impl.all_on_mask))
    return sorted(events, key=lambda e: e[0])  # stable: equal positions keep path order


def _stops(path: np.ndarray, offset: int, impl: Implement | None, options: ExportOptions,
           air: bool) -> list[_Stop]:
    """Waypoints (kept samples and inserted switch points) with the commands that follow each."""
    xyz = np.column_stack([path["x"], path["y"], path["z"].astype(float)])
    s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(path["x"]), np.diff(path["y"])))])
    keep = decimate(path, options.tolerance_m)
    stops = {int(i): _Stop(float(s[i]), tuple(xyz[i]), offset + int(i)) for i in keep}
    inserted: list[_Stop] = []
    speed, direction = math.nan, 1
    for i in keep:
        st = stops[int(i)]
        if float(path["speed"][i]) != speed:
            speed = float(path["speed"][i])
            st.dos.append(_speed(speed))
        if not air and int(path["direction"][i]) != direction:
            direction = int(path["direction"][i])
            st.dos.append(_reverse(direction))
        st.speed, st.direction = speed, direction
    if impl is not None:
        kept_s = s[keep]
        mask = 0
        for s_e, change, on, off in _switch_events(path, s, impl):
            new = (mask | on) & ~off
            cmds = [_do(c) for c in impl.actuation_commands(mask, new)]
            mask = new
            if not cmds:
                continue
            if s_e >= s[change] - _MERGE_M:
                target = stops[change]
            else:
                j = int(np.searchsorted(kept_s, s_e))
                near = [k for k in (j - 1, j) if 0 <= k < len(keep) and abs(kept_s[k] - s_e) <= _MERGE_M]
                if near:
                    target = stops[int(keep[near[-1]])]
                else:
                    seg = min(int(np.searchsorted(s, s_e, side="right")) - 1, len(path) - 2)
                    t = (s_e - s[seg]) / max(s[seg + 1] - s[seg], 1e-12)
                    target = _Stop(s_e, tuple(xyz[seg] + t * (xyz[seg + 1] - xyz[seg])), -1)
                    inserted.append(target)
            target.dos.extend(cmds)
            target.switched_to = mask
    ordered = sorted(list(stops.values()) + inserted, key=lambda st: (st.s_m, st.sample < 0))
    mask, speed, direction = 0, float(path["speed"][0]), 1
    for st in ordered:  # carry the state forward through stops without commands of their own
        if st.switched_to is not None:
            mask = st.switched_to
        if st.sample >= 0:
            speed, direction = st.speed, st.direction
        st.mask, st.speed, st.direction = mask, speed, direction
    return ordered


def _sortie_ranges(plan: Plan) -> list[tuple[int, int]]:
    """Sample ranges of the sorties, with any stretch no sortie covers as a range of its own."""
    n = len(plan.path)
    cuts = sorted({0, n} | {min(max(b, 0), n) for s in plan.sorties for b in (s.start, s.stop)})
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b - a >= 2] or [(0, n)]


def build_missions(plan: Plan, impl: Implement | None, options: ExportOptions) -> tuple[list[Mission], list[str]]:
    """Missions for an anchored plan (one per sortie when asked, split to the item limit), and warnings."""
    if plan.frame is None:
        raise ConfigError("build_missions needs a plan with a geographic frame (see anchored())")
    if len(plan.path) < 2:
        raise ConfigError(f"plan {plan.field_name or plan.vehicle!r} has {len(plan.path)} samples; "
                          "a mission needs at least 2")
    warnings: list[str] = []
    air = is_air(plan, options)
    if impl is None and np.any(plan.path["sections"]):
        warnings.append("the plan switches implement sections but names no implement: no actuation "
                        "commands exported (give --implement SPEC)")
    ranges = _sortie_ranges(plan) if options.per_sortie else [(0, len(plan.path))]
    out: list[Mission] = []
    for a, b in ranges:
        stops = _stops(plan.path[a:b], a, impl, options, air)
        end = options.end if options.end != "auto" else ("none" if not air else "land" if len(ranges) > 1 else "rtl")
        out.extend(_parts(plan, stops, impl, options, air, end, warnings))
    logger.debug("plan %r: %d samples -> %d mission(s), %d items", plan.field_name or plan.vehicle,
                 len(plan.path), len(out), sum(len(m.items) for m in out))
    return out, warnings


def _parts(plan: Plan, stops: list[_Stop], impl: Implement | None, options: ExportOptions, air: bool, end: str,
           warnings: list[str]) -> list[Mission]:
    yaw = math.nan if options.firmware == "px4" else 0.0
    home_n = 1 if options.firmware == "ardupilot" else 0
    lonlat = plan.frame.to_wgs84(np.array([st.xyz[:2] for st in stops]))  # type: ignore[union-attr]
    for st, (lon, lat) in zip(stops, lonlat):
        st.lat_deg, st.lon_deg = float(lat), float(lon)

    def wp(st: _Stop) -> MissionItem:
        return MissionItem(MissionCmd.NAV_WAYPOINT, MavFrame.GLOBAL_RELATIVE_ALT,
                           (0.0, options.acceptance_radius_m, 0.0, yaw), st.lat_deg, st.lon_deg,
                           float(st.xyz[2]) if air else 0.0, sample=st.sample)

    def off_cmds(mask: int) -> list[MissionItem]:
        return [_do(c) for c in impl.actuation_commands(mask, 0)] if impl is not None and mask else []

    def restore(st: _Stop) -> list[MissionItem]:
        out = [_speed(st.speed)] + ([_reverse(st.direction)] if not air and st.direction < 0 else [])
        return out + ([_do(c) for c in impl.actuation_commands(0, st.mask)] if impl is not None else [])

    first, last = stops[0], stops[-1]
    takeoff_alt = options.takeoff_alt_m or max(float(first.xyz[2]), 2.0)
    takeoff = [MissionItem(MissionCmd.NAV_TAKEOFF, MavFrame.GLOBAL_RELATIVE_ALT, (0, 0, 0, yaw), first.lat_deg,
                           first.lon_deg, takeoff_alt)] if air else []
    tail = {"none": [], "rtl": [MissionItem(MissionCmd.NAV_RETURN_TO_LAUNCH, MavFrame.MISSION)],
            "land": [MissionItem(MissionCmd.NAV_LAND, MavFrame.GLOBAL_RELATIVE_ALT, (0, 0, 0, yaw), last.lat_deg,
                                 last.lon_deg, 0.0)]}[end]
    cost = [1 + len(st.dos) for st in stops]
    bounds: list[tuple[int, int]] = []
    a = 0
    while a < len(stops):
        used = home_n + (len(takeoff) if a == 0 else 1 + len(restore(stops[a - 1])))
        b = a
        while b < len(stops) and used + cost[b] + len(off_cmds(stops[b].mask)) + 1 <= options.max_items:
            used += cost[b]
            b += 1
        if b == len(stops) or options.on_limit != "split":
            b = len(stops)
            break
        if b == a:
            raise ConfigError(f"one waypoint needs {cost[a] + home_n + 2} mission items; --max-items "
                              f"{options.max_items} is too small")
        calm = [k for k in range(max(a + 1, (a + b) // 2), b) if stops[k - 1].mask == 0]
        b = calm[-1] if calm else b
        bounds.append((a, b))
        a = b
    bounds.append((a, len(stops)))
    missions = []
    for j, (a, b) in enumerate(bounds):
        items: list[MissionItem] = list(takeoff) if j == 0 else [wp(stops[a - 1])] + restore(stops[a - 1])
        for st in stops[a:b]:
            items.append(wp(st))
            items.extend(st.dos)
        if j < len(bounds) - 1:
            items.extend(off_cmds(stops[b - 1].mask))
        else:
            items.extend(tail)
        n = len(items) + home_n
        if n > options.max_items:
            msg = (f"mission of {n} items exceeds the {options.max_items}-item limit "
                   f"({options.firmware}); it may not upload (use --on-limit split)")
            if options.on_limit == "error":
                raise ConfigError(msg.replace(" (use --on-limit split)", "; use --on-limit split or warn"))
            warnings.append(msg)
        samples = [st.sample for st in stops[a:b] if st.sample >= 0]
        speeds = [st.speed for st in stops[a:b]]
        missions.append(Mission(tuple(items), (first.lat_deg, first.lon_deg, 0.0), options.firmware, air, j,
                                len(bounds),
                                min(samples, default=-1), max(samples, default=-1), max(speeds, default=0.0)))
    return missions


def write_missions(plans: Sequence[Plan], target: Path, options: ExportOptions,
                   render: Callable[[Mission, Plan], str]) -> ExportResult:
    """Build the missions of every plan and write one file per mission with ``render``."""
    result = ExportResult()
    built = []
    for k, plan in enumerate(plans):
        plan = anchored(plan, options, k)
        missions, warnings = build_missions(plan, resolve_implement(plan, options), options)
        label = plan.vehicle or plan.field_name or f"plan {k + 1}"
        result.warnings.extend(f"{label}: {w}" for w in warnings)
        built.append((plan, missions))
    paths = output_paths(target, [p for p, _ in built], [len(m) for _, m in built])
    for (plan, missions), files in zip(built, paths):
        for mission, path in zip(missions, files):
            path.write_text(render(mission, plan), encoding="utf-8")
            result.files.append(path)
            result.details.append({"file": str(path), "items": len(mission.uploaded),
                                   "waypoints": mission.n_waypoints, "part": mission.part + 1,
                                   "parts": mission.n_parts, "samples": [mission.first_sample,
                                                                         mission.last_sample]})
    return result
