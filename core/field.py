"""Fields: the land to work, its obstacles and zones, validated before anything plans on it.

A :class:`Field` holds one polygon in the local metric frame of its farm (holes are obstacles), the frame
itself (``None`` when the file was already in local metres), and the zones drawn on it. Readers of the file
formats live in :mod:`agrifleet.core.field_files`; this module owns the geometry checks they all share, so
every format reports the same problems in the same words.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

from .errors import FieldError
from .geo import LocalFrame

__all__ = ["Field", "Zone", "RingSource", "validate_rings", "where"]


@dataclass(frozen=True, slots=True)
class Zone:
    """A polygon drawn on a field with tags, e.g. ``{"unsuitable_for": "ground"}`` for a wet patch."""

    name: str
    polygon: Polygon
    tags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Field:
    """One field polygon in local metres. Interior rings are obstacles the machines must not enter."""

    name: str
    boundary: Polygon
    frame: LocalFrame | None = None
    zones: tuple[Zone, ...] = ()
    source: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.boundary, Polygon) or self.boundary.is_empty:
            raise FieldError(f"field {self.name!r}: boundary must be a non-empty Polygon")
        if not self.boundary.is_valid:
            raise FieldError(f"field {self.name!r}: {explain_validity(self.boundary)}")

    @property
    def outer(self) -> Polygon:
        """The boundary without its holes."""
        return Polygon(self.boundary.exterior)

    @property
    def obstacles(self) -> list[Polygon]:
        return [Polygon(ring) for ring in self.boundary.interiors]

    @property
    def area_m2(self) -> float:
        return float(self.boundary.area)

    @property
    def is_geographic(self) -> bool:
        return self.frame is not None


@dataclass(frozen=True, slots=True)
class RingSource:
    """Where a polygon came from, for error messages: file, feature index and name, part."""

    path: str
    feature: int | None = None
    name: str | None = None
    part: int | None = None

    def __str__(self) -> str:
        return where(self.path, self.feature, self.name, self.part)


def where(path: str, feature: int | None = None, name: str | None = None, part: int | None = None) -> str:
    text = str(path)
    if feature is not None:
        text += f": feature {feature}"
        if name:
            text += f" ({name!r})"
    elif name:
        text += f": {name!r}"
    if part is not None:
        text += f" part {part}"
    return text


def _clean_ring(coords: Any, src: RingSource, ring_no: int, geographic: bool) -> np.ndarray:
    label = "boundary" if ring_no == 0 else f"hole {ring_no}"
    try:
        pts = np.asarray(coords, dtype=float)
    except (TypeError, ValueError):
        raise FieldError(f"{src}: {label} has coordinates that are not numbers") from None
    if pts.ndim != 2 or pts.shape[0] == 0 or pts.shape[1] < 2:
        raise FieldError(f"{src}: {label} is not a list of [x, y] positions")
    pts = pts[:, :2]
    bad = ~np.isfinite(pts).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise FieldError(f"{src}: {label} point {i} is not finite: {pts[i].tolist()}")
    if geographic:
        _check_lonlat(pts, src, label)
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.any(np.diff(pts, axis=0) != 0.0, axis=1)
    pts = pts[keep]
    if len(pts) > 1 and np.array_equal(pts[0], pts[-1]):
        pts = pts[:-1]
    distinct = np.unique(pts, axis=0)
    if len(distinct) < 3:
        raise FieldError(f"{src}: {label} has {len(distinct)} distinct points; a polygon needs at least 3")
    return pts


def _check_lonlat(pts: np.ndarray, src: RingSource, label: str) -> None:
    lon, lat = pts[:, 0], pts[:, 1]
    lat_bad = np.abs(lat) > 90.0
    lon_bad = np.abs(lon) > 180.0
    swapped_ok = not (np.abs(lon) > 90.0).any() and not (np.abs(lat) > 180.0).any()
    if lat_bad.mean() >= 0.5 and swapped_ok:
        i = int(np.argmax(lat_bad))
        raise FieldError(
            f"{src}: {label} point {i} {pts[i].tolist()} has latitude {lat[i]:g} outside [-90, 90]; "
            "the axes are probably swapped (GeoJSON and KML write longitude first)"
        )
    if lat_bad.any():
        i = int(np.argmax(lat_bad))
        raise FieldError(f"{src}: {label} point {i} has latitude {lat[i]:g}, outside [-90, 90]")
    if lon_bad.any():
        i = int(np.argmax(lon_bad))
        raise FieldError(f"{src}: {label} point {i} has longitude {lon[i]:g}, outside [-180, 180]")


def validate_rings(rings: Sequence[Any], src: RingSource, geographic: bool) -> list[np.ndarray]:
    """Check the raw rings of one polygon (as written in the file) and return them cleaned.

    The checks run in the file's own coordinates so that a reported position can be found in the file.
    """
    if not rings:
        raise FieldError(f"{src}: polygon has no rings")
    cleaned = [_clean_ring(r, src, i, geographic) for i, r in enumerate(rings)]
    outer = Polygon(cleaned[0])
    if not outer.exterior.is_simple or not outer.is_valid:
        raise FieldError(f"{src}: boundary is not a simple ring: {_explain(outer)}")
    if outer.area <= 0.0 or not math.isfinite(outer.area):
        raise FieldError(f"{src}: boundary has zero area")
    holes: list[Polygon] = []
    for k, ring in enumerate(cleaned[1:], start=1):
        hole = Polygon(ring)
        if not hole.exterior.is_simple or not hole.is_valid:
            raise FieldError(f"{src}: hole {k} is not a simple ring: {_explain(hole)}")
        if hole.area <= 0.0:
            raise FieldError(f"{src}: hole {k} has zero area")
        if not outer.contains(hole):
            raise FieldError(f"{src}: hole {k} is not inside the boundary")
        for j, other in enumerate(holes, start=1):
            if hole.intersection(other).area > 0.0 or hole.overlaps(other) or hole.within(other):
                raise FieldError(f"{src}: holes {j} and {k} overlap")
        holes.append(hole)
    return cleaned


def _explain(poly: Polygon) -> str:
    text = explain_validity(poly)
    if text.startswith("Self-intersection"):
        at = text[text.find("[") + 1 : text.find("]")]
        return f"it crosses itself at ({', '.join(at.split())})"
    if not poly.exterior.is_simple:
        return "it crosses itself"
    return text


def build_polygon(rings_local: Sequence[np.ndarray], src: RingSource) -> Polygon:
    """Rings already in local metres -> an oriented, valid Polygon (CCW boundary, CW holes)."""
    poly = Polygon(rings_local[0], holes=list(rings_local[1:]))
    if not poly.is_valid:
        # Projection can only make a valid ring invalid at sub-millimetre scale; say so rather than guess.
        raise FieldError(f"{src}: polygon is not valid after projection: {explain_validity(poly)}")
    if poly.area < 1.0:
        raise FieldError(f"{src}: polygon has zero area ({poly.area:.3g} m²)")
    return orient(shapely.normalize(poly), sign=1.0)
