"""KML 2.2 for Google Earth and farm GIS: per plan a folder with the field and one line per segment.

Segments (runs of samples sharing kind, sections, direction and swath) become ``LineString`` placemarks
styled by kind (working passes green, headland blue, turns orange, transit and service grey), with the
segment's attributes and per-vertex speeds in ``ExtendedData``, so the file says everything the map shows.
Like the GeoJSON plan file, a segment's line ends on the first sample of the next one, so the drawn path
has no gaps; ``first`` and ``count`` say which samples a placemark owns. Drones' lines are drawn at their
height (``relativeToGround``), ground vehicles' clamped to the ground.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from agrifleet.core.plan import Plan

from ._common import ExportOptions, ExportResult, anchored

__all__ = ["KML_NS", "KmlExporter", "plans_to_kml"]

KML_NS = "http://www.opengis.net/kml/2.2"
# KML colours are aabbggrr
STYLES = {"field": ("ff2f8f2f", "402f8f2f"), "swath": ("ff00c000", None), "headland": ("ffff8000", None),
          "turn": ("ff0080ff", None), "transit": ("ff808080", None), "service": ("ffb0b0b0", None)}


def _coords(lonlat: np.ndarray, z: np.ndarray) -> str:
    return " ".join(f"{lon:.9f},{lat:.9f},{h:.3f}" for (lon, lat), h in zip(lonlat, z))


def plans_to_kml(plans: Sequence[Plan]) -> bytes:
    """A KML document for plans that carry a geographic frame."""
    from lxml import etree

    def el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        node = etree.SubElement(parent, f"{{{KML_NS}}}{tag}", **attrs)
        if text is not None:
            node.text = text
        return node

    root = etree.Element(f"{{{KML_NS}}}kml", nsmap={None: KML_NS})
    doc = el(root, "Document")
    el(doc, "name", "agrifleet plans")
    for sid, (line, poly) in STYLES.items():
        style = el(doc, "Style", id=sid)
        ls = el(style, "LineStyle")
        el(ls, "color", line)
        el(ls, "width", "3" if sid == "swath" else "2")
        if poly:
            el(el(style, "PolyStyle"), "color", poly)
    for k, plan in enumerate(plans):
        frame = plan.frame
        assert frame is not None
        folder = el(doc, "Folder")
        el(folder, "name", " ".join(filter(None, [f"plan {k + 1}", plan.field_name, plan.vehicle])))
        data = el(folder, "ExtendedData")
        for key, value in (("plan", str(k)), ("field_name", plan.field_name), ("vehicle", plan.vehicle),
                           ("implement", plan.implement), ("width_m", repr(plan.width_m))):
            el(el(data, "Data", name=key), "value", value)
        if plan.boundary is not None:
            pm = el(folder, "Placemark")
            el(pm, "name", plan.field_name or "field")
            el(pm, "styleUrl", "#field")
            poly = el(pm, "Polygon")
            rings = [np.asarray(plan.boundary.exterior.coords)] + [np.asarray(r.coords)
                                                                   for r in plan.boundary.interiors]
            for j, ring in enumerate(rings):
                holder = el(poly, "outerBoundaryIs" if j == 0 else "innerBoundaryIs")
                el(el(holder, "LinearRing"), "coordinates", _coords(frame.to_wgs84(ring[:, :2]), np.zeros(len(ring))))
        p = plan.path
        lonlat = frame.to_wgs84(plan.xy) if len(p) else np.zeros((0, 2))
        air = bool(len(p)) and float(p["z"].max()) > 0.5
        for seg in plan.segments():
            stop = min(seg.stop + 1, len(p))
            name = seg.kind.name.lower()
            pm = el(folder, "Placemark")
            el(pm, "name", f"{name} {seg.swath}" if seg.swath >= 0 else name)
            el(pm, "styleUrl", f"#{name}")
            data = el(pm, "ExtendedData")
            for key, value in (("kind", name), ("sections", str(seg.sections)),
                               ("direction", "reverse" if seg.direction < 0 else "forward"),
                               ("swath", str(seg.swath)), ("first", str(seg.start)),
                               ("count", str(seg.stop - seg.start)),
                               ("speed_mps", " ".join(f"{v:.9g}" for v in p["speed"][seg.start:seg.stop])),
                               ("heading_deg", " ".join(
                                   f"{v:.9g}" for v in np.degrees(p["heading"][seg.start:seg.stop])))):
                el(el(data, "Data", name=key), "value", value)
            geom = el(pm, "LineString" if stop - seg.start > 1 else "Point")
            if geom.tag.endswith("LineString"):
                el(geom, "tessellate", "1")
            el(geom, "altitudeMode", "relativeToGround" if air else "clampToGround")
            el(geom, "coordinates", _coords(lonlat[seg.start:stop], p["z"][seg.start:stop].astype(float)))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class KmlExporter:
    name = "kml"
    suffix = ".kml"
    description = "KML for Google Earth and GIS (field, path by segment kind)"

    def export(self, plans: Sequence[Plan], target: Path, options: ExportOptions) -> ExportResult:
        placed = [anchored(p, options, k) for k, p in enumerate(plans)]
        target.write_bytes(plans_to_kml(placed))
        n_segments = sum(sum(1 for _ in p.segments()) for p in placed)
        return ExportResult(files=[target], details=[{"file": str(target), "plans": len(placed),
                                                      "segments": n_segments}])

