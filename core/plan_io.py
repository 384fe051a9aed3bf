"""Plan files: msgpack (exact) and GeoJSON (for maps and GIS), both lossless round trips.

A plan file holds one or more plans (one per field part or per vehicle). GeoJSON output is a
FeatureCollection: per plan, one Polygon feature for the field and one LineString feature per segment
(kind, implement state, direction, swath), with per-vertex heading and speed in the properties so the
file reads back into the same samples. Coordinates are WGS84 lon/lat for geographic plans (or GCJ-02 /
BD-09 for Chinese web maps, with ``out_crs``) and local metres otherwise. The foreign member
``agrifleet`` carries what a map does not draw: frame, parameters, sorties and metrics.

Segment features overlap by one vertex (a segment's LineString ends on the first sample of the next one)
so that maps draw an unbroken path; the ``first`` property says which samples a feature owns.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon

from .codec import CodecError, packb, unpackb
from .errors import PlanError
from .geo import LocalFrame, from_wgs84, to_wgs84
from .plan import PATH_DTYPE, Plan, PlanMetrics, SegmentKind, Sortie

__all__ = ["FORMAT", "read_plans", "write_plans", "plans_to_geojson", "plans_from_geojson",
           "plans_to_msgpack", "plans_from_msgpack"]

FORMAT = "agrifleet.plan"
VERSION = 1
OUT_CRS = ("wgs84", "gcj02", "bd09")


def _plan_header(plan: Plan) -> dict[str, Any]:
    return {
        "frame": plan.frame.to_dict() if plan.frame else None,
        "field_name": plan.field_name,
        "width_m": plan.width_m,
        "turn_radius_m": plan.turn_radius_m,
        "implement": plan.implement,
        "vehicle": plan.vehicle,
        "params": dict(plan.params),
        "sorties": [s.to_dict() for s in plan.sorties],
        "metrics": plan.metrics.to_dict() if plan.metrics else None,
        "meta": dict(plan.meta),
        "n_samples": len(plan.path),
    }


def _plan_from_header(h: dict[str, Any], path: np.ndarray, boundary: Polygon | None) -> Plan:
    return Plan(
        path=path,
        frame=LocalFrame.from_dict(h["frame"]) if h.get("frame") else None,
        boundary=boundary,
        field_name=str(h.get("field_name", "")),
        width_m=float(h.get("width_m", 0.0)),
        turn_radius_m=float(h.get("turn_radius_m", 0.0)),
        implement=str(h.get("implement", "")),
        vehicle=str(h.get("vehicle", "")),
        params=dict(h.get("params") or {}),
        sorties=tuple(Sortie.from_dict(s) for s in h.get("sorties") or ()),
        metrics=PlanMetrics.from_dict(h["metrics"]) if h.get("metrics") else None,
        meta=dict(h.get("meta") or {}),
    )


# --- msgpack ----------------------------------------------------------------------------------------------

def plans_to_msgpack(plans: Sequence[Plan]) -> bytes:
    docs = []
    for plan in plans:
        doc = _plan_header(plan)
        doc["path"] = plan.path
        doc["boundary_wkb"] = shapely.to_wkb(plan.boundary) if plan.boundary is not None else None
        docs.append(doc)
    return packb({"format": FORMAT, "version": VERSION, "plans": docs})


def plans_from_msgpack(data: bytes, source: str = "plan") -> list[Plan]:
    try:
        doc = unpackb(data)
    except CodecError as exc:
        raise PlanError(f"{source}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PlanError(f"{source}: not an agrifleet plan file")
    out = []
    for i, d in enumerate(doc.get("plans") or []):
        try:
            path = d["path"]
            if not isinstance(path, np.ndarray) or path.dtype != PATH_DTYPE:
                raise PlanError(f"{source}: plan {i}: path has the wrong layout")
            wkb = d.get("boundary_wkb")
            boundary = shapely.from_wkb(wkb) if wkb else None
            out.append(_plan_from_header(d, path, boundary))
        except (KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as exc:
            if isinstance(exc, PlanError):
                raise
            raise PlanError(f"{source}: plan {i}: {type(exc).__name__}: {exc}") from None
    return out


# --- GeoJSON ----------------------------------------------------------------------------------------------

def _to_out(plan: Plan, xy: np.ndarray, out_crs: str) -> np.ndarray:
    if plan.frame is None:
        return xy
    return from_wgs84(plan.frame.to_wgs84(xy), out_crs)


def _from_out(frame: LocalFrame | None, coords: np.ndarray, out_crs: str) -> np.ndarray:
    if frame is None:
        return coords
    return frame.to_local(to_wgs84(coords, out_crs))


def plans_to_geojson(plans: Sequence[Plan], out_crs: str = "wgs84") -> dict[str, Any]:
    if out_crs not in OUT_CRS:
        raise PlanError(f"out_crs {out_crs!r} is not one of {', '.join(OUT_CRS)}")
    features: list[dict[str, Any]] = []
    for k, plan in enumerate(plans):
        if plan.boundary is not None:
            rings = [np.asarray(plan.boundary.exterior.coords)] + [np.asarray(r.coords)
                                                                    for r in plan.boundary.interiors]
            coords = [_to_out(plan, r[:, :2], out_crs).tolist() for r in rings]
            features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": coords},
                             "properties": {"plan": k, "role": "field", "name": plan.field_name}})
        p = plan.path
        out_xy = _to_out(plan, plan.xy, out_crs)
        for seg in plan.segments():
            stop = min(seg.stop + 1, len(p))
            pts = np.column_stack([out_xy[seg.start:stop], p["z"][seg.start:stop].astype(float)])
            if len(pts) == 1:
                geom = {"type": "Point", "coordinates": pts[0].tolist()}
            else:
                geom = {"type": "LineString", "coordinates": pts.tolist()}
            features.append({"type": "Feature", "geometry": geom, "properties": {
                "plan": k,
                "role": "path",
                "kind": seg.kind.name.lower(),
                "implement": seg.sections != 0,
                "sections": seg.sections,
                "direction": "reverse" if seg.direction < 0 else "forward",
                "swath": seg.swath,
                "first": seg.start,
                "count": seg.stop - seg.start,
                "heading_deg": np.degrees(p["heading"][seg.start:seg.stop]).tolist(),
                "speed_mps": p["speed"][seg.start:seg.stop].astype(float).tolist(),
            }})
    return {"type": "FeatureCollection", "features": features,
            "agrifleet": {"format": FORMAT, "version": VERSION, "crs": out_crs,
                          "plans": [_plan_header(p) for p in plans]}}


def plans_from_geojson(doc: Any, source: str = "plan") -> list[Plan]:
    meta = doc.get("agrifleet") if isinstance(doc, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PlanError(f"{source}: not an agrifleet plan file (no 'agrifleet' member); "
                        "field files go to 'agrifleet plan', plan files to 'agrifleet export'")
    out_crs = meta.get("crs", "wgs84")
    headers = meta.get("plans") or []
    paths = [np.zeros(int(h.get("n_samples", 0)), dtype=PATH_DTYPE) for h in headers]
    boundaries: list[Polygon | None] = [None] * len(headers)
    frames = [LocalFrame.from_dict(h["frame"]) if h.get("frame") else None for h in headers]
    try:
        for i, feat in enumerate(doc.get("features") or []):
            props = feat.get("properties") or {}
            k = int(props["plan"])
            if props.get("role") == "field":
                rings = [_from_out(frames[k], np.asarray(r, dtype=float)[:, :2], out_crs)
                         for r in feat["geometry"]["coordinates"]]
                boundaries[k] = Polygon(rings[0], rings[1:])
                continue
            coords = np.asarray(feat["geometry"]["coordinates"], dtype=float)
            coords = coords.reshape(-1, coords.shape[-1])
            first, count = int(props["first"]), int(props["count"])
            seg = paths[k][first:first + count]
            local = _from_out(frames[k], coords[:count, :2], out_crs)
            seg["x"], seg["y"] = local[:, 0], local[:, 1]
            seg["z"] = coords[:count, 2] if coords.shape[1] > 2 else 0.0
            seg["heading"] = np.radians(np.asarray(props["heading_deg"], dtype=float))
            seg["speed"] = props["speed_mps"]
            seg["kind"] = int(SegmentKind[str(props["kind"]).upper()])
            seg["direction"] = -1 if props.get("direction") == "reverse" else 1
            seg["sections"] = int(props.get("sections", 0))
            seg["swath"] = int(props.get("swath", -1))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise PlanError(f"{source}: feature {i}: {type(exc).__name__}: {exc}") from None
    return [_plan_from_header(h, paths[k], boundaries[k]) for k, h in enumerate(headers)]


# --- files --------------------------------------------------------------------------------------------------

def write_plans(plans: Sequence[Plan], path: str | os.PathLike[str], out_crs: str = "wgs84") -> None:
    """Write ``.geojson``/``.json`` or ``.msgpack``/``.afp`` by suffix."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".geojson", ".json"):
        target.write_text(json.dumps(plans_to_geojson(plans, out_crs)), encoding="utf-8")
    elif suffix in (".msgpack", ".afp", ".mpk"):
        target.write_bytes(plans_to_msgpack(plans))
    else:
        raise PlanError(f"{target}: unknown plan file type {suffix!r} (use .geojson or .msgpack)")


def read_plans(path: str | os.PathLike[str]) -> list[Plan]:
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise PlanError(f"{source}: cannot read ({exc.strerror})") from None
    if not data.strip():
        raise PlanError(f"{source}: file is empty")
    if data.lstrip()[:1] == b"{":
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PlanError(f"{source}: not valid JSON ({exc})") from None
        return plans_from_geojson(doc, source)
    return plans_from_msgpack(data, source)

