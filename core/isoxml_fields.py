"""ISOXML (ISO 11783-10) partfields as a field source: ``TASKDATA.XML`` -> field polygons and obstacles.

Farm management software hands fields to terminals as TaskData. Each partfield (PFD) may hold polygons
(PLN): type 1 (partfield boundary) becomes a field, with its interior rings (LSG type 2) as holes; type 6
(obstacle) becomes an obstacle cut out of the field it lies on. Other polygon types (treatment zones, water,
buildings, roads, headland areas) are skipped with a log message: they may lie off the field, and a field
must not fail to load because a road beside it is drawn. Partfields kept in external files (XFR references,
``PFD00001.XML`` next to ``TASKDATA.XML``) are read too. Points are WGS84 (``C`` north = latitude,
``D`` east = longitude).

Registered in :data:`agrifleet.core.field_files.READERS` for ``.xml``; errors name the file, line and
element.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .errors import FieldError
from .field import RingSource
from .field_files import RawFile, RawPolygon

__all__ = ["read_isoxml"]

logger = logging.getLogger(__name__)

PLN_BOUNDARY = "1"
PLN_OBSTACLE = "6"
LSG_EXTERIOR = "1"
LSG_INTERIOR = "2"
ROOT = "ISO11783_TaskData"


def _parse(path: str, data: bytes) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FieldError(f"{path}: line {exc.lineno}: not valid XML ({exc.msg})") from None


def _ring(path: str, lsg: Any, src: RingSource) -> list[list[float]]:
    pts = []
    for pnt in lsg.iterchildren("PNT"):
        north, east = pnt.get("C"), pnt.get("D")
        try:
            pts.append([float(east), float(north)])  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise FieldError(f"{src}: line {pnt.sourceline}: PNT needs numeric C (north) and D (east), "
                             f"got C={north!r} D={east!r}") from None
    if not pts:
        raise FieldError(f"{src}: line {lsg.sourceline}: LSG has no PNT points")
    return pts


def _partfields(path: str, root: Any) -> list[Any]:
    found = list(root.iterchildren("PFD"))
    folder = Path(path).parent
    for xfr in root.iterchildren("XFR"):
        name = xfr.get("A") or ""
        if not name.startswith("PFD"):
            continue
        candidates = [p for p in folder.iterdir() if p.stem.upper() == name.upper() and p.suffix.upper() == ".XML"]
        if not candidates:
            raise FieldError(f"{path}: line {xfr.sourceline}: external file {name}.XML (XFR) is missing")
        ext = _parse(str(candidates[0]), candidates[0].read_bytes())
        found.extend(ext.iterchildren("PFD"))
    return found


def read_isoxml(path: str, text: str) -> RawFile:
    """Field polygons of every partfield in an ISOXML TaskData file."""
    root = _parse(path, text.encode("utf-8"))
    if root.tag != ROOT:
        raise FieldError(f"{path}: not ISOXML TaskData (root element <{root.tag}>, expected <{ROOT}>)")
    polygons: list[RawPolygon] = []
    for i, pfd in enumerate(_partfields(path, root)):
        name = pfd.get("C") or pfd.get("A") or None
        plns = list(pfd.iterchildren("PLN"))
        boundaries = [p for p in plns if p.get("A") == PLN_BOUNDARY]
        for pln in plns:
            kind = pln.get("A")
            if kind not in (PLN_BOUNDARY, PLN_OBSTACLE):
                logger.info("%s: partfield %r: skipping polygon of type %s (line %s)", path, name, kind,
                            pln.sourceline)
                continue
            part = boundaries.index(pln) if kind == PLN_BOUNDARY and len(boundaries) > 1 else None
            src = RingSource(path, i, name if kind == PLN_BOUNDARY else f"{name}: {pln.get('B') or 'obstacle'}",
                             part)
            lsgs = list(pln.iterchildren("LSG"))
            outer = [g for g in lsgs if g.get("A") == LSG_EXTERIOR]
            if len(outer) != 1:
                raise FieldError(f"{src}: line {pln.sourceline}: polygon has {len(outer)} exterior rings "
                                 "(LSG type 1); expected one")
            rings = [_ring(path, outer[0], src)] + [_ring(path, g, src) for g in lsgs if g.get("A") == LSG_INTERIOR]
            role = "field" if kind == PLN_BOUNDARY else "obstacle"
            props = {"name": name, "isoxml_partfield": pfd.get("A")} if role == "field" else {}
            polygons.append(RawPolygon(src, rings, role, props))
    if not any(p.role == "field" for p in polygons):
        raise FieldError(f"{path}: no partfield with a boundary polygon (PFD with PLN type 1)")
    return RawFile(polygons)
