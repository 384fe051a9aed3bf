"""QGroundControl ``.plan`` files: mission, geofence and rally points in QGC's JSON plan format (version 1).

The mission holds the items of :mod:`.mission` as ``SimpleItem``s (QGC adds home itself from
``plannedHomePosition``). The geofence is an inclusion polygon around the field (the boundary buffered by
``fence_margin_m``, grown to take in any part of the path outside it, such as the way to a depot) and one
exclusion polygon per obstacle. Rally points are the sorties' depots, else the start of the plan.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Polygon

from agrifleet.core.plan import Plan

from ._common import ExportOptions, ExportResult
from .mission import Mission, MissionItem, write_missions

__all__ = ["QgcExporter", "mission_to_qgc"]

MAV_AUTOPILOT = {"ardupilot": 3, "px4": 12}
MAV_TYPE_QUADROTOR, MAV_TYPE_GROUND_ROVER = 2, 10


def _num(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


def _item(it: MissionItem, seq: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "autoContinue": bool(it.autocontinue),
        "command": int(it.command),
        "doJumpId": seq,
        "frame": int(it.frame),
        "params": [_num(p) for p in it.params] + [it.lat_deg, it.lon_deg, it.alt_m],
        "type": "SimpleItem",
    }
    if it.is_nav and it.frame == 3:
        out.update({"AMSLAltAboveTerrain": None, "Altitude": it.alt_m, "AltitudeMode": 1})
    return out


def _ring_latlon(plan: Plan, ring: np.ndarray) -> list[list[float]]:
    lonlat = plan.frame.to_wgs84(ring[:-1, :2] if np.array_equal(ring[0], ring[-1]) else ring[:, :2])  # type: ignore
    return [[float(lat), float(lon)] for lon, lat in lonlat]


def geofence(plan: Plan, options: ExportOptions) -> dict[str, Any]:
    polygons: list[dict[str, Any]] = []
    path_line = LineString(plan.xy) if len(plan.path) > 1 else None
    if plan.boundary is not None:
        inclusion = Polygon(plan.boundary.exterior).buffer(options.fence_margin_m, join_style="mitre")
        if path_line is not None and not inclusion.contains(path_line):
            inclusion = inclusion.union(path_line.buffer(max(options.fence_margin_m, 1.0), join_style="mitre"))
    elif path_line is not None:
        inclusion = MultiPoint(plan.xy).convex_hull.buffer(max(options.fence_margin_m, 1.0), join_style="mitre")
    else:
        inclusion = Polygon()
    if inclusion.geom_type != "Polygon" and not inclusion.is_empty:
        inclusion = shapely.convex_hull(inclusion)  # one fence polygon: join the pieces
    if not inclusion.is_empty:
        ring = np.asarray(shapely.simplify(inclusion, 0.05).exterior.coords)
        polygons.append({"inclusion": True, "polygon": _ring_latlon(plan, ring), "version": 1})
    if plan.boundary is not None:
        for hole in plan.boundary.interiors:
            polygons.append({"inclusion": False, "polygon": _ring_latlon(plan, np.asarray(hole.coords)),
                             "version": 1})
    return {"circles": [], "polygons": polygons, "version": 2}


def rally_points(plan: Plan) -> dict[str, Any]:
    depots = list(dict.fromkeys(s.depot_xy for s in plan.sorties if s.depot_xy is not None))
    xy = np.array(depots if depots else [plan.xy[0]], dtype=float)
    lonlat = plan.frame.to_wgs84(xy)  # type: ignore[union-attr]
    return {"points": [[float(lat), float(lon), 0.0] for lon, lat in lonlat], "version": 2}


def mission_to_qgc(mission: Mission, plan: Plan, options: ExportOptions) -> dict[str, Any]:
    """A complete QGC plan document for one mission of an anchored plan."""
    speed = mission.cruise_speed_mps or 1.0
    return {
        "fileType": "Plan",
        "geoFence": geofence(plan, options),
        "groundStation": "QGroundControl",
        "mission": {
            "cruiseSpeed": speed,
            "firmwareType": MAV_AUTOPILOT[mission.firmware],
            "globalPlanAltitudeMode": 1,
            "hoverSpeed": speed,
            "items": [_item(it, seq) for seq, it in enumerate(mission.items, start=1)],
            "plannedHomePosition": list(mission.home),
            "vehicleType": MAV_TYPE_QUADROTOR if mission.air else MAV_TYPE_GROUND_ROVER,
            "version": 2,
        },
        "rallyPoints": rally_points(plan),
        "version": 1,
        "agrifleet": {"part": mission.part + 1, "parts": mission.n_parts, "first_sample": mission.first_sample,
                      "last_sample": mission.last_sample, "field_name": plan.field_name, "vehicle": plan.vehicle},
    }


class QgcExporter:
    name = "qgc"
    suffix = ".plan"
    description = "QGroundControl .plan (mission, geofence, rally points)"

    def export(self, plans: Sequence[Plan], target: Path, options: ExportOptions) -> ExportResult:
        return write_missions(plans, target, options,
                              lambda mission, plan: json.dumps(mission_to_qgc(mission, plan, options), indent=2))
