"""ISOXML (ISO 11783-10) TaskData for farm management software and ISOBUS task controllers.

``TASKDATA.XML`` (version 4.3) holds a customer (CTR), a farm (FRM), one partfield (PFD) per field with
its boundary polygon (PLN type 1: exterior LSG type 1, holes LSG type 2) and one obstacle polygon (PLN
type 6) per hole, and per plan a guidance group (GGP) with one guidance pattern (GPN) per working pass: an
AB line (type 1) when the pass is straight within the tolerance, else a curve (type 3) through its
decimated points. A task (TSK, status planned) per plan ties partfield and guidance together (GAN).
Coordinates are WGS84 with 9 decimals. The target is a folder (``TASKDATA/TASKDATA.XML``, as terminals
expect), a ``.xml`` file, or a ``.zip`` archive holding ``TASKDATA/TASKDATA.XML``.
"""
from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import shapely

from agrifleet.core import __version__
from agrifleet.core.plan import Plan, SegmentKind

from ._common import ExportOptions, ExportResult, anchored
from ._decimate import decimate, point_segment_distance

__all__ = ["IsoxmlExporter", "plans_to_taskdata"]

_MAX_TEXT = 32


def _text(value: str) -> str:
    return value[:_MAX_TEXT]


def _passes(plan: Plan) -> list[tuple[SegmentKind, int, int, int]]:
    """Working passes ``(kind, swath, start, stop)``: consecutive segments of one swath joined."""
    out: list[list[Any]] = []
    for seg in plan.segments():
        if seg.kind not in (SegmentKind.SWATH, SegmentKind.HEADLAND):
            continue
        if out and out[-1][0] == seg.kind and out[-1][1] == seg.swath and out[-1][3] == seg.start:
            out[-1][3] = seg.stop
        else:
            out.append([seg.kind, seg.swath, seg.start, seg.stop])
    return [(SegmentKind(k), int(sw), int(a), int(b)) for k, sw, a, b in out]


def plans_to_taskdata(plans: Sequence[Plan], options: ExportOptions) -> tuple[bytes, dict[str, int]]:
    """The TASKDATA.XML document for anchored plans, and counts of what it holds."""
    from lxml import etree

    root = etree.Element("ISO11783_TaskData", VersionMajor="4", VersionMinor="3",
                         ManagementSoftwareManufacturer="agrifleet", ManagementSoftwareVersion=__version__,
                         DataTransferOrigin="1")
    etree.SubElement(root, "CTR", A="CTR1", B=_text(options.customer))
    etree.SubElement(root, "FRM", A="FRM1", B=_text(options.farm), I="CTR1")
    counts = {"partfields": 0, "obstacles": 0, "guidance_patterns": 0, "tasks": 0}

    def point(parent: Any, kind: int, lonlat: np.ndarray) -> None:
        etree.SubElement(parent, "PNT", A=str(kind), C=f"{lonlat[1]:.9f}", D=f"{lonlat[0]:.9f}")

    def ring(parent: Any, kind: int, lonlat: np.ndarray) -> None:
        lsg = etree.SubElement(parent, "LSG", A=str(kind))
        if len(lonlat) > 1 and np.array_equal(lonlat[0], lonlat[-1]):
            lonlat = lonlat[:-1]  # ISOXML rings are implicitly closed
        for p in lonlat:
            point(lsg, 2, p)

    fields: dict[tuple[str, bytes], Any] = {}
    for k, plan in enumerate(plans):
        frame = plan.frame
        assert frame is not None
        key = (plan.field_name, shapely.to_wkb(plan.boundary) if plan.boundary is not None else b"")
        if key not in fields:
            n = len(fields) + 1
            area = int(round(plan.boundary.area)) if plan.boundary is not None else 0
            pfd = etree.SubElement(root, "PFD", A=f"PFD{n}", C=_text(plan.field_name or f"field {n}"), D=str(area),
                                   E="CTR1", F="FRM1")
            if plan.boundary is not None:
                pln = etree.SubElement(pfd, "PLN", A="1", B=_text(plan.field_name or "boundary"), C=str(area))
                ring(pln, 1, frame.to_wgs84(np.asarray(plan.boundary.exterior.coords)[:, :2]))
                for hole in plan.boundary.interiors:
                    ring(pln, 2, frame.to_wgs84(np.asarray(hole.coords)[:, :2]))
                for j, hole in enumerate(plan.boundary.interiors, start=1):
                    obst = etree.SubElement(pfd, "PLN", A="6", B=f"obstacle {j}",
                                            C=str(int(round(shapely.Polygon(hole).area))))
                    ring(obst, 1, frame.to_wgs84(np.asarray(hole.coords)[:, :2]))
                    counts["obstacles"] += 1
            fields[key] = pfd
            counts["partfields"] += 1
        pfd = fields[key]
        ggp_id = f"GGP{k + 1}"
        ggp = etree.SubElement(pfd, "GGP", A=ggp_id, B=_text(plan.vehicle or f"plan {k + 1}"))
        for kind, swath, a, b in _passes(plan):
            sub = plan.path[a:b] if b - a >= 2 else plan.path[a:min(b + 1, len(plan.path))]  # the pass's own samples
            xy = np.column_stack([sub["x"], sub["y"]])
            straight = len(xy) < 3 or float(point_segment_distance(xy[1:-1], xy[0], xy[-1]).max()) <= max(
                options.tolerance_m, 0.01)
            pts = xy[[0, -1]] if straight else xy[decimate(sub, options.tolerance_m)]
            counts["guidance_patterns"] += 1
            label = f"{kind.name.lower()} {swath}"
            attrs = {"A": f"GPN{counts['guidance_patterns']}", "B": label, "C": "1" if straight else "3",
                     "E": "4", "I": "16"}  # no propagation; desktop-generated
            if straight:
                d = pts[1] - pts[0]
                attrs["G"] = f"{math.degrees(math.atan2(d[0], d[1])) % 360.0:.4f}"  # clockwise from north
            gpn = etree.SubElement(ggp, "GPN", **attrs)
            lsg = etree.SubElement(gpn, "LSG", A="5")
            lonlat = frame.to_wgs84(pts)
            for i, p in enumerate(lonlat):
                point(lsg, 6 if i == 0 else 7 if i == len(lonlat) - 1 else 9, p)
        tsk = etree.SubElement(root, "TSK", A=f"TSK{k + 1}", B=_text(plan.vehicle or plan.field_name or f"plan {k + 1}"),
                               C="CTR1", D="FRM1", E=pfd.get("A"), G="1")
        etree.SubElement(tsk, "GAN", A=ggp_id)
        counts["tasks"] += 1
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml, counts


class IsoxmlExporter:
    name = "isoxml"
    suffix = ""
    description = "ISOXML TaskData (TASKDATA.XML: customer, farm, partfields, obstacles, guidance lines, tasks)"

    def export(self, plans: Sequence[Plan], target: Path, options: ExportOptions) -> ExportResult:
        placed = [anchored(p, options, k) for k, p in enumerate(plans)]
        xml, counts = plans_to_taskdata(placed, options)
        suffix = target.suffix.lower()
        if suffix == ".xml":
            out = target
            out.write_bytes(xml)
        elif suffix == ".zip":
            out = target
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
                z.writestr("TASKDATA/TASKDATA.XML", xml)
        else:
            target.mkdir(parents=True, exist_ok=True)
            out = target / "TASKDATA.XML"
            out.write_bytes(xml)
        return ExportResult(files=[out], details=[{"file": str(out), **counts}])
