"""Coverage accounting: the as-applied map of an implement driven along a trajectory.

The implement's working width, split into its sections, is swept along the driven trajectory of its
working centre (``state.implement_x/_y``, i.e. behind a tractor on the hitch, not the tractor's centre) and
painted onto a raster only where sections are on, by the ``raster`` kernel (:mod:`agrifleet.ext`). Each
step of each vehicle gives one quadrilateral per group of adjacent sections that are on. A cell counts one
application per *pass* (a run of the implement being on), so the consecutive quads of one pass do not
count as overlap; a second pass, or another vehicle, does.

From the raster: coverage ratio of the target area, overlap ratio (applied twice or more), the area
applied outside the target (over the boundary or on obstacles), skipped areas as polygons, statistics of
the applied rate, and a picture of the as-applied map. A grid cell belongs to the target when its centre
does; with 0.1 m cells the target area is exact to a fraction of a percent for field-sized shapes.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import shapely
from agrifleet.core.errors import ConfigError
from agrifleet.ext import kernel
from shapely.geometry import MultiPolygon, Polygon, box

from .energy import Payload

if TYPE_CHECKING:
    from .world import World

__all__ = ["CoverageMap", "CoverageRecorder", "CoverageReport", "section_edges"]

logger = logging.getLogger(__name__)

MAX_CELLS = 100_000_000  # 11 bytes a cell: about 1.1 GB


def section_edges(tool: Any) -> np.ndarray:
    """``(S, 2)`` lateral [left, right] edges of the sections (left positive), bit ``k`` = row ``k``.

    Accepts an implement plugin (``core.implement.Implement``: its ``section_bounds_m``), a
    :class:`~agrifleet.sim.energy.Payload`, or ``(width_m, n_sections)``."""
    if hasattr(tool, "section_bounds_m"):
        edges = np.asarray(tool.section_bounds_m, dtype=float).reshape(-1, 2)
    elif isinstance(tool, Payload):
        widths = np.asarray(tool.section_widths_m)
        left = tool.width_m / 2 - np.concatenate([[0.0], np.cumsum(widths)[:-1]])
        edges = np.column_stack([left, left - widths])
    elif isinstance(tool, tuple) and len(tool) == 2:
        width, n = float(tool[0]), int(tool[1])
        if not (width > 0 and 1 <= n <= 32):
            raise ConfigError(f"coverage: implement ({width!r} m, {n!r} sections) needs width > 0 "
                              "and 1..32 sections")
        left = width / 2 - width / n * np.arange(n)
        edges = np.column_stack([left, left - width / n])
    else:
        raise ConfigError(f"coverage: cannot take sections from {type(tool).__name__}")
    if len(edges) == 0 or len(edges) > 32 or not np.all(edges[:, 0] > edges[:, 1]):
        raise ConfigError("coverage: sections must be 1..32 strips with left edge > right edge")
    return edges


def _groups(mask: int, edges: np.ndarray) -> list[tuple[float, float]]:
    """Lateral extents of the runs of adjacent sections switched on in ``mask``."""
    out: list[tuple[float, float]] = []
    k, n = 0, len(edges)
    while k < n:
        if mask >> k & 1:
            a = k
            while k + 1 < n and mask >> (k + 1) & 1 and abs(edges[k, 1] - edges[k + 1, 0]) < 1e-9:
                k += 1
            out.append((float(edges[a, 0]), float(edges[k, 1])))
        k += 1
    return out


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Figures of one as-applied map. Areas in m², ratios of the target area, rates in units per ha."""

    target_area_m2: float
    covered_m2: float
    overlap_m2: float
    outside_m2: float
    skipped: tuple[Polygon, ...]
    skipped_area_m2: float
    rate_mean: float
    rate_std: float
    rate_p5: float
    rate_p95: float
    within_10pct: float  # share of the covered target within +-10 % of the nominal rate

    @property
    def coverage_ratio(self) -> float:
        return self.covered_m2 / self.target_area_m2 if self.target_area_m2 > 0 else math.nan

    @property
    def overlap_ratio(self) -> float:
        return self.overlap_m2 / self.target_area_m2 if self.target_area_m2 > 0 else math.nan

    @property
    def rate_cv(self) -> float:
        return self.rate_std / self.rate_mean if self.rate_mean > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"target_area_m2": self.target_area_m2, "covered_m2": self.covered_m2,
                "coverage_ratio": self.coverage_ratio, "overlap_m2": self.overlap_m2,
                "overlap_ratio": self.overlap_ratio, "outside_m2": self.outside_m2,
                "skipped_area_m2": self.skipped_area_m2, "n_skipped": len(self.skipped),
                "skipped_wkt": [p.wkt for p in self.skipped], "rate_mean": self.rate_mean,
                "rate_std": self.rate_std, "rate_cv": self.rate_cv, "rate_p5": self.rate_p5,
                "rate_p95": self.rate_p95, "within_10pct": self.within_10pct}


class CoverageMap:
    """A raster over a target area (a field polygon; holes are obstacles, not to be applied)."""

    def __init__(self, target: Polygon, cell_m: float = 0.1, margin_m: float = 10.0, *,
                 reference: bool | None = None) -> None:
        if not isinstance(target, Polygon) or target.is_empty or not target.is_valid:
            raise ConfigError("coverage: the target must be a valid, non-empty polygon")
        if not (math.isfinite(cell_m) and cell_m > 0):
            raise ConfigError(f"coverage: cell_m = {cell_m!r} must be > 0")
        minx, miny, maxx, maxy = target.bounds
        self.cell_m = float(cell_m)
        self.x0, self.y0 = minx - margin_m, miny - margin_m
        self.nx = int(math.ceil((maxx - minx + 2 * margin_m) / cell_m))
        self.ny = int(math.ceil((maxy - miny + 2 * margin_m) / cell_m))
        if self.nx * self.ny > MAX_CELLS:
            raise ConfigError(f"coverage: {self.nx} x {self.ny} cells of {cell_m} m is too many; "
                              "use larger cells")
        self.target = target
        self._k = kernel("raster", reference=reference)
        # np.full writes every page now, so the first pass of a run does not pay the page faults
        self.count = np.full((self.ny, self.nx), 0, dtype=np.uint16)
        self.stamp = np.full((self.ny, self.nx), -1, dtype=np.int32)
        self.applied = np.full((self.ny, self.nx), 0.0, dtype=np.float32)
        self.mask = np.zeros((self.ny, self.nx), dtype=np.uint8)
        self._k.fill_polygon(self.mask, _edges_of(target), self.x0, self.y0, self.cell_m, 1)
        self._next_run = 0

    @property
    def cell_area_m2(self) -> float:
        return self.cell_m * self.cell_m

    def new_run(self) -> int:
        """A fresh pass id (a pass is painted once per cell)."""
        self._next_run += 1
        return self._next_run

    def paint(self, poses: np.ndarray, sections: np.ndarray, runs: np.ndarray, edges: np.ndarray,
              rate_per_ha: float = 1.0, max_step_m: float = 5.0) -> int:
        """Paint the sweep between consecutive ``poses`` ``(N, 3)`` (x, y, heading of the working centre).

        ``sections[k]`` and ``runs[k]`` belong to the stretch ending at pose ``k``; a stretch longer than
        ``max_step_m`` (a jump, not a drive) is skipped. Returns the number of cells painted."""
        poses = np.asarray(poses, dtype=float).reshape(-1, 3)
        if len(poses) < 2:
            return 0
        sec = np.asarray(sections, dtype=np.int64)[1:]
        run = np.asarray(runs, dtype=np.int32)[1:]
        p0, p1 = poses[:-1], poses[1:]
        ok = (sec != 0) & (np.hypot(p1[:, 0] - p0[:, 0], p1[:, 1] - p0[:, 1]) <= max_step_m)
        quads, quad_runs = [], []
        for mask in np.unique(sec[ok]):
            sel = ok & (sec == mask)
            a, b, r = p0[sel], p1[sel], run[sel]
            na = np.column_stack([-np.sin(a[:, 2]), np.cos(a[:, 2])])
            nb = np.column_stack([-np.sin(b[:, 2]), np.cos(b[:, 2])])
            for left, right in _groups(int(mask), edges):
                q = np.stack([a[:, :2] + right * na, b[:, :2] + right * nb, b[:, :2] + left * nb,
                              a[:, :2] + left * na], axis=1)
                quads.append(q)
                quad_runs.append(r)
        if not quads:
            return 0
        q = np.ascontiguousarray(np.concatenate(quads))
        rr = np.ascontiguousarray(np.concatenate(quad_runs), dtype=np.int32)
        rates = np.full(len(q), float(rate_per_ha))
        return int(self._k.sweep_quads(self.count, self.stamp, self.applied, self.x0, self.y0, self.cell_m,
                                       q, rr, rates))

    # --- results ------------------------------------------------------------------------------------------
    def report(self, nominal_rate: float | None = None, min_skip_m2: float = 0.25) -> CoverageReport:
        target = self.mask.astype(bool)
        a = self.cell_area_m2
        covered = target & (self.count > 0)
        rates = self.applied[covered].astype(float)
        if nominal_rate is not None:
            nominal = nominal_rate
        else:
            nominal = float(np.median(rates)) if len(rates) else 0.0
        if len(rates):
            p5, p95 = (float(v) for v in np.percentile(rates, [5, 95]))
            within = float(np.mean(np.abs(rates - nominal) <= 0.1 * nominal)) if nominal > 0 else math.nan
            mean, std = float(rates.mean()), float(rates.std())
        else:
            p5 = p95 = mean = std = within = math.nan
        skipped = self.skipped_polygons(min_skip_m2)
        return CoverageReport(
            target_area_m2=float(target.sum()) * a, covered_m2=float(covered.sum()) * a,
            overlap_m2=float((target & (self.count > 1)).sum()) * a,
            outside_m2=float((~target & (self.count > 0)).sum()) * a, skipped=skipped,
            skipped_area_m2=float(sum(p.area for p in skipped)), rate_mean=mean, rate_std=std, rate_p5=p5,
            rate_p95=p95, within_10pct=within)

    def skipped_polygons(self, min_area_m2: float = 0.25) -> tuple[Polygon, ...]:
        """Target cells nobody applied, merged into polygons of at least ``min_area_m2``."""
        skip = (self.mask != 0) & (self.count == 0)
        rows = np.flatnonzero(skip.any(axis=1))
        if len(rows) == 0:
            return ()
        boxes = []
        c = self.cell_m
        for j in rows:
            line = np.concatenate([[0], skip[j].view(np.int8), [0]])
            d = np.diff(line)
            starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
            y = self.y0 + j * c
            boxes.extend(box(self.x0 + s * c, y, self.x0 + e * c, y + c) for s, e in zip(starts, stops))
        merged = shapely.union_all(boxes, grid_size=c / 100)
        parts = merged.geoms if isinstance(merged, MultiPolygon) else [merged]
        out = [shapely.simplify(p, c / 2) for p in parts if p.area >= min_area_m2]
        return tuple(sorted(out, key=lambda p: -p.area))

    def picture(self) -> np.ndarray:
        """Classes per cell: 0 outside, 1 applied outside, 2 skipped, 3 applied once, 4 twice or more."""
        img = np.zeros(self.count.shape, dtype=np.uint8)
        t = self.mask != 0
        img[~t & (self.count > 0)] = 1
        img[t & (self.count == 0)] = 2
        img[t & (self.count == 1)] = 3
        img[t & (self.count > 1)] = 4
        return img

    def save_png(self, path: str, max_pixels: int = 2000, title: str = "as-applied") -> None:
        """Write the as-applied map as a PNG (matplotlib, imported here only)."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap

        img = self.picture()
        step = max(1, int(math.ceil(max(img.shape) / max_pixels)))
        if step > 1:  # keep the worst class in each block so thin skips stay visible
            ny, nx = (img.shape[0] // step) * step, (img.shape[1] // step) * step
            blocks = img[:ny, :nx].reshape(ny // step, step, nx // step, step)
            img = np.where((blocks == 2).any(axis=(1, 3)), 2, blocks.max(axis=(1, 3)))
        cmap = ListedColormap(["#f0f0f0", "#9ecae1", "#d62728", "#2ca02c", "#ff7f0e"])
        fig, ax = plt.subplots(figsize=(8, 8 * img.shape[0] / max(img.shape[1], 1) + 0.5))
        extent = (self.x0, self.x0 + self.nx * self.cell_m, self.y0, self.y0 + self.ny * self.cell_m)
        ax.imshow(img, origin="lower", cmap=cmap, vmin=0, vmax=4, extent=extent, interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel("east (m)")
        ax.set_ylabel("north (m)")
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)


def _edges_of(poly: Polygon) -> np.ndarray:
    rings = [np.asarray(poly.exterior.coords)] + [np.asarray(r.coords) for r in poly.interiors]
    return np.ascontiguousarray(np.concatenate([np.column_stack([r[:-1, :2], r[1:, :2]]) for r in rings]))


@dataclass(slots=True)
class _Track:
    edges: np.ndarray
    rate: float
    poses: list[tuple[float, float, float]]
    sections: list[int]
    runs: list[int]
    run: int = 0
    on: bool = False


class CoverageRecorder:
    """A world observer that paints the implements of chosen vehicles onto a :class:`CoverageMap`.

    Poses are buffered and painted in batches of ``batch`` steps (one kernel call per batch)."""

    def __init__(self, cmap: CoverageMap, *, every_n_steps: int = 1, batch: int = 2048) -> None:
        if every_n_steps < 1 or batch < 2:
            raise ConfigError("coverage recorder: every_n_steps >= 1 and batch >= 2 are required")
        self.cmap = cmap
        self.every = every_n_steps
        self.batch = batch
        self._tracks: dict[str, _Track] = {}

    def track(self, vehicle_id: str, tool: Any, rate_per_ha: float | None = None) -> None:
        """Record ``vehicle_id`` with the sections of ``tool`` (implement, Payload or (width, n)).

        The vehicle may join the world later; until it is there, nothing is recorded for it."""
        if rate_per_ha is None:
            consumable = getattr(tool, "consumable", None)
            rate_per_ha = getattr(tool, "rate_per_ha", None) or (
                consumable.rate_per_ha if consumable else 1.0)
        self._tracks[vehicle_id] = _Track(section_edges(tool), float(rate_per_ha), [], [], [])

    def attach(self, world: "World", vehicles: Iterable[tuple[str, Any]] = ()) -> "CoverageRecorder":
        for vid, tool in vehicles:
            self.track(vid, tool)
        world.observers.append(self)
        return self

    def __call__(self, world: "World") -> None:
        if world.steps % self.every:
            return
        present = world.vehicles
        # A snapshot: vehicles may be tracked from another thread while the world steps.
        for vid, tr in list(self._tracks.items()):
            model = present.get(vid)
            if model is None:  # not in the world (yet, or any more): paint nothing, end the pass
                if tr.poses:
                    self._flush(tr)
                    tr.poses, tr.sections, tr.runs = [], [], []
                tr.on = False
                continue
            s = model.state
            sec = s.sections
            if sec and not tr.on:
                tr.run = self.cmap.new_run()
            tr.on = bool(sec)
            tr.poses.append((s.implement_x, s.implement_y, s.implement_heading_rad))
            tr.sections.append(sec)
            tr.runs.append(tr.run)
            if len(tr.poses) >= self.batch:
                self._flush(tr)

    def _flush(self, tr: _Track) -> None:
        if len(tr.poses) >= 2:
            self.cmap.paint(np.array(tr.poses), np.array(tr.sections), np.array(tr.runs), tr.edges, tr.rate)
        # keep the last pose: the next batch's first stretch starts there
        tr.poses, tr.sections, tr.runs = tr.poses[-1:], tr.sections[-1:], tr.runs[-1:]

    def flush(self) -> None:
        """Paint everything buffered (call before reading the map)."""
        for tr in self._tracks.values():
            self._flush(tr)
