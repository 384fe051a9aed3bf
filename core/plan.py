"""Plans: the path one machine drives, with what it does on every stretch of it.

A :class:`Plan` is a structured numpy array of path samples in the field's local frame (x east, y north,
metres; heading in radians counter-clockwise from east) plus what is needed to read it without the planner:
its frame, the field boundary it was planned for, the working width and turning radius, planner
parameters, sorties and metrics. The attributes of a sample (kind, implement sections, direction, speed)
hold for the stretch from that sample to the next one. Readers and writers live in
:mod:`agrifleet.core.plan_io`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any, Iterator, Mapping

import numpy as np
from shapely.geometry import Polygon

from .errors import PlanError
from .geo import LocalFrame

__all__ = ["PATH_DTYPE", "Plan", "PlanMetrics", "Segment", "SegmentKind", "Sortie", "make_path"]


class SegmentKind(IntEnum):
    """What a stretch of path is for. Values travel on the wire; never renumber."""

    SWATH = 1      # working pass across the field
    HEADLAND = 2   # working pass around the boundary or an obstacle
    TURN = 3       # non-working manoeuvre between passes
    TRANSIT = 4    # non-working travel inside the field (between cells, along the headland)
    SERVICE = 5    # travel to and from a refill, landing or home point


WORKING_KINDS = (SegmentKind.SWATH, SegmentKind.HEADLAND)

PATH_DTYPE = np.dtype([
    ("x", "<f8"),          # m east
    ("y", "<f8"),          # m north
    ("z", "<f4"),          # m above ground (drones); 0 for ground vehicles
    ("heading", "<f8"),    # rad, CCW from east: the way the machine faces, also when reversing
    ("speed", "<f4"),      # m/s planned on the stretch that starts here
    ("kind", "u1"),        # SegmentKind
    ("direction", "i1"),   # +1 forward, -1 reverse
    ("sections", "<u4"),   # implement section bitmask; 0 = implement off
    ("swath", "<i4"),      # index of the swath or headland pass this sample belongs to; -1 otherwise
])


def make_path(xy: np.ndarray, heading: np.ndarray | None = None, *, kind: SegmentKind,
              speed_mps: float, sections: int = 0, direction: int = 1, swath: int = -1,
              z_m: float | np.ndarray = 0.0) -> np.ndarray:
    """Build a path array for one stretch; headings default to the direction of travel."""
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    out = np.zeros(len(pts), dtype=PATH_DTYPE)
    out["x"], out["y"] = pts[:, 0], pts[:, 1]
    if heading is None:
        heading = _travel_heading(pts) + (math.pi if direction < 0 else 0.0)
    out["heading"] = heading
    out["z"] = z_m
    out["speed"] = speed_mps
    out["kind"] = int(kind)
    out["direction"] = direction
    out["sections"] = sections
    out["swath"] = swath
    return out


def _travel_heading(pts: np.ndarray) -> np.ndarray:
    if len(pts) < 2:
        return np.zeros(len(pts))
    d = np.diff(pts, axis=0)
    h = np.arctan2(d[:, 1], d[:, 0])
    return np.append(h, h[-1])


@dataclass(frozen=True, slots=True)
class Segment:
    """A maximal run of samples ``[start, stop)`` that share kind, sections, direction and swath."""

    start: int
    stop: int
    kind: SegmentKind
    sections: int
    direction: int
    swath: int


@dataclass(frozen=True, slots=True)
class Sortie:
    """One trip out of a service point and back: the path samples ``[start, stop)`` it flies or drives."""

    start: int
    stop: int
    depot_xy: tuple[float, float] | None = None
    payload_l: float = 0.0
    energy_wh: float = 0.0
    resume_xy: tuple[float, float] | None = None  # where the work of this sortie begins (breakpoint)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "stop": self.stop,
                "depot_xy": list(self.depot_xy) if self.depot_xy else None,
                "payload_l": self.payload_l, "energy_wh": self.energy_wh,
                "resume_xy": list(self.resume_xy) if self.resume_xy else None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Sortie":
        def xy(v: Any) -> tuple[float, float] | None:
            return (float(v[0]), float(v[1])) if v else None
        return cls(int(d["start"]), int(d["stop"]), xy(d.get("depot_xy")), float(d.get("payload_l", 0.0)),
                   float(d.get("energy_wh", 0.0)), xy(d.get("resume_xy")))


@dataclass(frozen=True, slots=True)
class PlanMetrics:
    """Figures of a plan. Path figures come from the samples; field figures from the planner's check."""

    path_length_m: float
    working_length_m: float
    headland_length_m: float
    turn_length_m: float
    transit_length_m: float
    service_length_m: float
    reverse_length_m: float
    n_swaths: int
    n_turns: int
    duration_s: float
    field_area_m2: float = math.nan
    coverage_ratio: float = math.nan
    overlap_ratio: float = math.nan
    boundary_violations: int = -1

    @classmethod
    def from_path(cls, path: np.ndarray, **field_figures: Any) -> "PlanMetrics":
        lengths = segment_lengths(path)
        kind = path["kind"][:-1] if len(path) else path["kind"]
        rev = path["direction"][:-1] < 0 if len(path) else np.zeros(0, bool)

        def total(k: SegmentKind) -> float:
            return float(lengths[kind == k].sum())

        swaths = path["swath"][(path["kind"] == SegmentKind.SWATH) & (path["swath"] >= 0)]
        turn_runs = 0
        if len(kind):
            is_turn = kind == SegmentKind.TURN
            turn_runs = int(np.count_nonzero(is_turn[1:] & ~is_turn[:-1]) + int(is_turn[0]))
        speed = np.maximum(path["speed"][:-1].astype(float), 1e-3) if len(path) else np.zeros(0)
        return cls(
            path_length_m=float(lengths.sum()),
            working_length_m=total(SegmentKind.SWATH),
            headland_length_m=total(SegmentKind.HEADLAND),
            turn_length_m=total(SegmentKind.TURN),
            transit_length_m=total(SegmentKind.TRANSIT),
            service_length_m=total(SegmentKind.SERVICE),
            reverse_length_m=float(lengths[rev].sum()),
            n_swaths=int(len(np.unique(swaths))),
            n_turns=turn_runs,
            duration_s=float((lengths / speed).sum()),
            **field_figures,
        )

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PlanMetrics":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def segment_lengths(path: np.ndarray) -> np.ndarray:
    """Length of each stretch ``i -> i+1`` (``len(path) - 1`` values)."""
    if len(path) < 2:
        return np.zeros(0)
    return np.hypot(np.diff(path["x"]), np.diff(path["y"]))


@dataclass(frozen=True, slots=True)
class Plan:
    """A drivable path for one machine on one field, in the field's local frame."""

    path: np.ndarray
    frame: LocalFrame | None = None
    boundary: Polygon | None = None
    field_name: str = ""
    width_m: float = 0.0
    turn_radius_m: float = 0.0
    implement: str = ""
    vehicle: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    sorties: tuple[Sortie, ...] = ()
    metrics: PlanMetrics | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.path, np.ndarray) or self.path.dtype != PATH_DTYPE or self.path.ndim != 1:
            raise PlanError("plan path must be a 1-D array of PATH_DTYPE")
        if not (np.isfinite(self.path["x"]).all() and np.isfinite(self.path["y"]).all()):
            raise PlanError("plan path holds non-finite coordinates")
        bad_kind = ~np.isin(self.path["kind"], [int(k) for k in SegmentKind])
        if bad_kind.any():
            i = int(np.argmax(bad_kind))
            raise PlanError(f"plan path sample {i} has unknown segment kind {int(self.path['kind'][i])}")
        if self.metrics is None:
            object.__setattr__(self, "metrics", PlanMetrics.from_path(self.path))
        for s in self.sorties:
            if not 0 <= s.start <= s.stop <= len(self.path):
                raise PlanError(f"sortie [{s.start}, {s.stop}) is outside the path of {len(self.path)} samples")

    def __len__(self) -> int:
        return len(self.path)

    @property
    def xy(self) -> np.ndarray:
        """``(N, 2)`` sample positions."""
        return np.column_stack([self.path["x"], self.path["y"]])

    def segments(self) -> Iterator[Segment]:
        """Maximal runs of samples that share kind, sections, direction and swath."""
        p = self.path
        if len(p) == 0:
            return
        key = np.stack([p["kind"].astype(np.int64), p["sections"].astype(np.int64),
                        p["direction"].astype(np.int64), p["swath"].astype(np.int64)], axis=1)
        cuts = np.flatnonzero(np.any(key[1:] != key[:-1], axis=1)) + 1
        bounds = np.concatenate([[0], cuts, [len(p)]])
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield Segment(int(a), int(b), SegmentKind(int(p["kind"][a])), int(p["sections"][a]),
                          int(p["direction"][a]), int(p["swath"][a]))

    def with_(self, **changes: Any) -> "Plan":
        """A copy with some attributes replaced; metrics are recomputed when the path changes."""
        if "path" in changes and "metrics" not in changes:
            changes["metrics"] = None
        return replace(self, **changes)

    def slice(self, start: int, stop: int) -> "Plan":
        """The plan from sample ``start`` up to ``stop`` (exclusive), e.g. the unfinished rest of a mission."""
        start, stop = max(0, start), min(len(self.path), stop)
        sorties = tuple(replace(s, start=max(s.start, start) - start, stop=min(s.stop, stop) - start)
                        for s in self.sorties if s.stop > start and s.start < stop)
        return self.with_(path=self.path[start:stop].copy(), sorties=sorties)
