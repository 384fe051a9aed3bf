"""The ``[[fields]]`` of a scenario: field files or inline polygons, brought into one local frame.

An entry is a field file (relative to the scenario; ``feature`` picks one field of a file that holds
several) read by :func:`~agrifleet.core.field_files.load_fields`, or an inline ``polygon`` in local metres
or ``polygon_wgs84`` in lon/lat, with optional ``holes`` (obstacles). Inline rings get the same checks as
rings from files (:func:`~agrifleet.core.field.validate_rings`).

All fields of a scenario share one local frame, because they share one simulated world: ``[world]
origin`` when given, else the frame of the first geographic field file, else one around the inline WGS84
polygons. Fields in other frames are re-projected into it; local-metre fields are taken to be in it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from agrifleet.core.errors import FieldError
from agrifleet.core.field import Field, RingSource, Zone, build_polygon, validate_rings
from agrifleet.core.field_files import CRS_CHOICES, load_fields
from agrifleet.core.geo import LocalFrame
from shapely.geometry import Polygon

from ._toml_node import Node, fail

__all__ = ["FieldEntry", "read_fields"]


@dataclass(frozen=True, slots=True)
class FieldEntry:
    name: str
    field: Field
    source: str          # the file it came from, or "inline"


@dataclass(slots=True)
class _Raw:
    name: str
    node: Node
    field: Field | None = None                 # from a file
    local_rings: list[np.ndarray] | None = None
    wgs84_rings: list[np.ndarray] | None = None
    source: str = "inline"


def read_fields(nodes: Sequence[Node], base_dir: Path,
                origin: Sequence[float] | None) -> tuple[tuple[FieldEntry, ...], LocalFrame | None]:
    raws = [_read_one(node, base_dir, i) for i, node in enumerate(nodes)]
    seen: set[str] = set()
    for raw in raws:
        if raw.name in seen:
            raise raw.node.error("name", f"{raw.name!r} is used by two fields")
        seen.add(raw.name)
    frame = _choose_frame(raws, origin)
    out = []
    for raw in raws:
        out.append(FieldEntry(raw.name, _in_frame(raw, frame), raw.source))
    return tuple(out), frame


def _read_one(node: Node, base_dir: Path, index: int) -> _Raw:
    given = [k for k in ("file", "polygon", "polygon_wgs84") if node.has(k)]
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        raise fail(node.source, node.path, f"give exactly one of file, polygon, polygon_wgs84 (got {what})")
    if given[0] == "file":
        raw = _from_file(node, base_dir)
    else:
        geographic = given[0] == "polygon_wgs84"
        rings = [node.raw(given[0])] + _holes(node)
        try:
            cleaned = validate_rings(rings, RingSource(node.key(given[0])), geographic)
        except FieldError as exc:
            raise fail(node.source, node.key(given[0]), _strip(str(exc), node.key(given[0]))) from None
        name = node.text("name", f"field{index}")
        raw = _Raw(name, node, local_rings=None if geographic else cleaned,
                   wgs84_rings=cleaned if geographic else None)
    node.finish()
    return raw


def _strip(text: str, prefix: str) -> str:
    return text[len(prefix) + 2:] if text.startswith(prefix + ": ") else text


def _holes(node: Node) -> list[Any]:
    holes = node.raw("holes", [])
    if not isinstance(holes, list):
        raise node.error("holes", "must be a list of rings ([[x, y], ...] each)")
    return list(holes)


def _from_file(node: Node, base_dir: Path) -> _Raw:
    rel = node.text("file")
    crs = node.text("crs", "auto", choices=CRS_CHOICES)
    feature = node.text("feature", None)
    path = (base_dir / rel) if not Path(rel).is_absolute() else Path(rel)
    try:
        fields = load_fields(path, crs)
    except FieldError as exc:
        raise node.error("file", str(exc)) from None
    if feature is not None:
        chosen = [f for f in fields if f.name == feature]
        if not chosen:
            raise node.error("feature", f"{rel} has no field named {feature!r} "
                                        f"(it has: {', '.join(f.name for f in fields)})")
        fld = chosen[0]
    elif len(fields) > 1:
        raise node.error("file", f"{rel} holds {len(fields)} fields ({', '.join(f.name for f in fields)}); "
                                 "pick one with feature = \"NAME\"")
    else:
        fld = fields[0]
    name = node.text("name", fld.name)
    return _Raw(name, node, field=fld, source=rel)


def _choose_frame(raws: Sequence[_Raw], origin: Sequence[float] | None) -> LocalFrame | None:
    if origin is not None:
        return LocalFrame(float(origin[0]), float(origin[1]))
    for raw in raws:
        if raw.field is not None and raw.field.frame is not None:
            return raw.field.frame
    lonlat = [r for raw in raws if raw.wgs84_rings for r in raw.wgs84_rings]
    if lonlat:
        return LocalFrame.around(np.concatenate(lonlat))
    return None


def _in_frame(raw: _Raw, frame: LocalFrame | None) -> Field:
    src = RingSource(raw.node.key("polygon"))
    if raw.local_rings is not None:
        poly = _build(raw, raw.local_rings, src)
        return Field(name=raw.name, boundary=poly, frame=frame, source="inline", properties={"crs": "local"})
    if raw.wgs84_rings is not None:
        assert frame is not None
        poly = _build(raw, [frame.to_local(r) for r in raw.wgs84_rings], src)
        return Field(name=raw.name, boundary=poly, frame=frame, source="inline", properties={"crs": "wgs84"})
    fld = raw.field
    assert fld is not None
    if fld.frame is None or frame is None or fld.frame == frame:
        return Field(name=raw.name, boundary=fld.boundary, frame=frame, zones=fld.zones, source=fld.source,
                     properties=fld.properties)
    old = fld.frame

    def move(geom: Polygon) -> Polygon:
        return shapely.transform(geom, lambda xy: frame.to_local(old.to_wgs84(xy)))

    zones = tuple(Zone(z.name, move(z.polygon), z.tags) for z in fld.zones)
    return Field(name=raw.name, boundary=move(fld.boundary), frame=frame, zones=zones, source=fld.source,
                 properties=fld.properties)


def _build(raw: _Raw, rings: list[np.ndarray], src: RingSource) -> Polygon:
    try:
        return build_polygon(rings, src)
    except FieldError as exc:
        raise fail(raw.node.source, src.path, _strip(str(exc), src.path)) from None
