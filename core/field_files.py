"""Field file readers: GeoJSON, KML, ESRI Shapefile and WKT into validated :class:`Field` objects.

Each reader turns its format into :class:`RawPolygon` records (rings as written in the file, plus where
they came from); :func:`load_fields` then decides the coordinate system, validates every ring in the
file's own coordinates, projects everything into one local frame for the farm, and attaches obstacle and
zone features to the fields they lie on.

A feature's ``role`` property says what it is: ``field`` (the default), ``obstacle`` (cut out of the
fields it lies on) or ``zone`` (kept with its tags, e.g. ``unsuitable_for = "ground"``).

KML is parsed with lxml rather than fastkml: fastkml 1.x silently drops a polygon whose coordinates mix
2-D and 3-D tuples, and a farm manager's file must never lose a field without a word.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from pyproj import CRS, Transformer

from .errors import FieldError
from .field import Field, RingSource, Zone, build_polygon, validate_rings, where
from .geo import LocalFrame, to_wgs84

__all__ = ["RawPolygon", "load_fields", "READERS", "CRS_CHOICES", "sample_farm_path"]

CRS_CHOICES = ("auto", "wgs84", "local", "gcj02", "bd09")
ROLES = ("field", "obstacle", "zone")


def sample_farm_path() -> Path:
    """The bundled sample farm (``core/data/sample_farm.geojson``: three fields in WGS84 with obstacles and
    a wet zone tagged ``unsuitable_for = "ground"``)."""
    return Path(__file__).resolve().parent / "data" / "sample_farm.geojson"


@dataclass(slots=True)
class RawPolygon:
    """One polygon as read from a file, before validation."""

    src: RingSource
    rings: list[Any]
    role: str = "field"
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RawFile:
    polygons: list[RawPolygon]
    declared_crs: CRS | None = None


# --- readers ----------------------------------------------------------------------------------------------

def _feature_name(props: dict[str, Any]) -> str | None:
    for key in ("name", "Name", "NAME", "title", "id"):
        value = props.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def _role(props: dict[str, Any], src: RingSource) -> str:
    role = str(props.get("role", "field")).lower()
    if role not in ROLES:
        raise FieldError(f"{src}: property role = {props.get('role')!r} is not one of {', '.join(ROLES)}")
    return role


def _geojson_polygons(geom: Any, src: RingSource, props: dict[str, Any]) -> list[RawPolygon]:
    if geom is None:
        raise FieldError(f"{src}: feature has no geometry")
    if not isinstance(geom, dict) or "type" not in geom:
        raise FieldError(f"{src}: geometry is not a GeoJSON object with a 'type'")
    kind = geom["type"]
    role = _role(props, src)
    if kind == "Polygon":
        return [RawPolygon(src, _rings(geom, src), role, props)]
    if kind == "MultiPolygon":
        parts = geom.get("coordinates")
        if not isinstance(parts, list) or not parts:
            raise FieldError(f"{src}: MultiPolygon has no polygons")
        out = []
        for k, rings in enumerate(parts):
            part_src = RingSource(src.path, src.feature, src.name, k if len(parts) > 1 else None)
            if not isinstance(rings, list):
                raise FieldError(f"{part_src}: polygon is not a list of rings")
            out.append(RawPolygon(part_src, rings, role, props))
        return out
    if kind == "GeometryCollection":
        out = []
        for sub in geom.get("geometries") or []:
            out.extend(_geojson_polygons(sub, src, props))
        if not out:
            raise FieldError(f"{src}: GeometryCollection holds no polygon")
        return out
    raise FieldError(f"{src}: unsupported geometry type {kind!r} (expected Polygon or MultiPolygon)")


def _rings(geom: dict, src: RingSource) -> list[Any]:
    rings = geom.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise FieldError(f"{src}: Polygon has no coordinates")
    return rings


def _declared_geojson_crs(doc: dict, path: str) -> CRS | None:
    """The pre-RFC 7946 ``crs`` member, still written by QGIS and ogr2ogr for projected data."""
    member = doc.get("crs")
    if not isinstance(member, dict):
        return None
    name = (member.get("properties") or {}).get("name")
    if not name:
        return None
    try:
        crs = CRS.from_user_input(name)
    except Exception:  # pyproj raises CRSError, but a bad name must never escape as a traceback
        raise FieldError(f"{path}: crs {name!r} is not a coordinate reference system pyproj knows") from None
    return None if crs.is_geographic else crs


def read_geojson(path: str, text: str) -> RawFile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FieldError(f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or "type" not in doc:
        raise FieldError(f"{path}: not a GeoJSON object (no 'type' member)")
    polygons: list[RawPolygon] = []
    if doc["type"] == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise FieldError(f"{path}: FeatureCollection has no 'features' list")
        if not features:
            raise FieldError(f"{path}: FeatureCollection has no features")
        for i, feat in enumerate(features):
            if not isinstance(feat, dict):
                raise FieldError(f"{where(path, i)}: is not a GeoJSON Feature")
            props = feat.get("properties") or {}
            if not isinstance(props, dict):
                props = {}
            src = RingSource(path, i, _feature_name(props))
            polygons.extend(_geojson_polygons(feat.get("geometry"), src, props))
    elif doc["type"] == "Feature":
        props = doc.get("properties") or {}
        if not isinstance(props, dict):
            props = {}
        polygons.extend(_geojson_polygons(doc.get("geometry"), RingSource(path, 0, _feature_name(props)), props))
    else:
        polygons.extend(_geojson_polygons(doc, RingSource(path, 0), {}))
    return RawFile(polygons, _declared_geojson_crs(doc, path))


def _kml_coordinates(text: str | None, src: RingSource, line: int | None) -> list[list[float]]:
    at = f" (line {line})" if line else ""
    pts = []
    for token in (text or "").split():
        parts = token.split(",")
        try:
            pts.append([float(parts[0]), float(parts[1])])
        except (ValueError, IndexError):
            raise FieldError(f"{src}: coordinate {token!r}{at} is not 'lon,lat[,alt]'") from None
    if not pts:
        raise FieldError(f"{src}: empty <coordinates>{at}")
    return pts


def read_kml(path: str, text: str) -> RawFile:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise FieldError(f"{path}: line {exc.lineno}: not valid XML ({exc.msg})") from None

    def local(tag: Any) -> str:
        return etree.QName(tag).localname if isinstance(tag, str) else ""

    polygons: list[RawPolygon] = []
    placemarks = [el for el in root.iter() if local(el.tag) == "Placemark"]
    for i, pm in enumerate(placemarks):
        name_el = next((c for c in pm if local(c.tag) == "name"), None)
        name = (name_el.text or "").strip() if name_el is not None else None
        props: dict[str, Any] = {"name": name} if name else {}
        for data in pm.iter():
            if local(data.tag) in ("Data", "SimpleData") and data.get("name"):
                value = next((c.text for c in data if local(c.tag) == "value"), data.text)
                props[data.get("name")] = (value or "").strip()
        src = RingSource(path, i, name)
        role = _role(props, src)
        found = [el for el in pm.iter() if local(el.tag) == "Polygon"]
        if not found:
            kinds = sorted({local(el.tag) for el in pm.iter()} & {"Point", "LineString", "LinearRing", "Model"})
            raise FieldError(f"{src}: unsupported geometry type {kinds[0] if kinds else 'none'!r} "
                             "(expected Polygon)")
        for k, poly in enumerate(found):
            part_src = RingSource(path, i, name, k if len(found) > 1 else None)
            rings = []
            for boundary_tag in ("outerBoundaryIs", "innerBoundaryIs"):
                for boundary in (c for c in poly if local(c.tag) == boundary_tag):
                    for coords in (el for el in boundary.iter() if local(el.tag) == "coordinates"):
                        rings.append(_kml_coordinates(coords.text, part_src, coords.sourceline))
            if not rings:
                raise FieldError(f"{part_src}: Polygon has no outerBoundaryIs (line {poly.sourceline})")
            polygons.append(RawPolygon(part_src, rings, role, props))
    if not polygons:
        raise FieldError(f"{path}: no Placemark with a Polygon")
    return RawFile(polygons)


def read_wkt(path: str, text: str) -> RawFile:
    import shapely.wkt
    from shapely.errors import ShapelyError

    polygons: list[RawPolygon] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        src = RingSource(f"{path}:{lineno}", len(polygons))
        try:
            geom = shapely.wkt.loads(line)
        except (ShapelyError, ValueError) as exc:
            raise FieldError(f"{path}: line {lineno}: not valid WKT ({exc})") from None
        mapping = shapely.geometry.mapping(geom)
        polygons.extend(_geojson_polygons(_lists(mapping), src, {}))
    return RawFile(polygons)


def _lists(obj: Any) -> Any:
    if isinstance(obj, (tuple, list)):
        return [_lists(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    return obj


def read_shapefile(path: str, _text: None) -> RawFile:
    import shapefile  # pyshp

    try:
        reader = shapefile.Reader(path)
    except Exception as exc:  # pyshp raises ShapefileException and plain OSErrors for broken sets
        raise FieldError(f"{path}: cannot read shapefile ({exc})") from None
    polygons: list[RawPolygon] = []
    with reader:
        names = [f[0] for f in reader.fields[1:]]
        for i, rec in enumerate(reader.iterShapeRecords()):
            props = dict(zip(names, list(rec.record)))
            src = RingSource(path, i, _feature_name(props))
            shape = rec.shape
            if shape.shapeType not in (shapefile.POLYGON, shapefile.POLYGONZ, shapefile.POLYGONM):
                raise FieldError(f"{src}: unsupported geometry type {shape.shapeTypeName!r} (expected POLYGON)")
            polygons.extend(_shapefile_polygons(shape, src, _role(props, src), props))
        prj = Path(path).with_suffix(".prj")
        declared = None
        if prj.exists():
            try:
                crs = CRS.from_wkt(prj.read_text(errors="replace"))
            except Exception:
                raise FieldError(f"{prj}: not a projection pyproj can read") from None
            declared = None if crs.is_geographic else crs
    if not polygons:
        raise FieldError(f"{path}: shapefile holds no polygons")
    return RawFile(polygons, declared)


def _shapefile_polygons(shape: Any, src: RingSource, role: str, props: dict) -> list[RawPolygon]:
    """Shapefile rings: clockwise = outer ring, counter-clockwise = hole of the outer ring around it."""
    from shapely.geometry import Polygon

    pts = np.asarray(shape.points, dtype=float)
    bounds = list(shape.parts) + [len(pts)]
    outers: list[list[Any]] = []
    holes: list[np.ndarray] = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        ring = pts[a:b]
        if len(ring) < 3:
            raise FieldError(f"{src}: ring with {len(ring)} points; a polygon needs at least 3")
        x, y = ring[:, 0], ring[:, 1]
        signed = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
        if signed > 0:
            holes.append(ring)
        else:
            outers.append([ring])
    for hole in holes:
        host = next((o for o in outers if Polygon(o[0]).contains(Polygon(hole).representative_point())), None)
        if host is None:
            raise FieldError(f"{src}: hole is not inside any outer ring")
        host.append(hole)
    return [RawPolygon(RingSource(src.path, src.feature, src.name, k if len(outers) > 1 else None),
                       rings, role, props) for k, rings in enumerate(outers)]


def read_isoxml(path: str, text: str) -> RawFile:
    """ISOXML TaskData partfields (:mod:`agrifleet.core.isoxml_fields`, imported on use)."""
    from .isoxml_fields import read_isoxml as read

    return read(path, text)


Reader = Callable[[str, Any], RawFile]
READERS: dict[str, tuple[Reader, bool]] = {
    # suffix: (reader, binary file read by the reader itself)
    ".geojson": (read_geojson, False),
    ".json": (read_geojson, False),
    ".kml": (read_kml, False),
    ".wkt": (read_wkt, False),
    ".txt": (read_wkt, False),
    ".shp": (read_shapefile, True),
    ".xml": (read_isoxml, False),  # ISOXML TASKDATA.XML
}


# --- loading ----------------------------------------------------------------------------------------------

def _read(path: str) -> RawFile:
    suffix = Path(path).suffix.lower()
    if suffix not in READERS:
        raise FieldError(f"{path}: unsupported file type {suffix or '(none)'!r} "
                         f"(expected one of {', '.join(sorted(READERS))})")
    reader, reads_itself = READERS[suffix]
    if not os.path.exists(path):
        raise FieldError(f"{path}: no such file")
    if os.path.isdir(path):
        raise FieldError(f"{path}: is a directory, not a field file")
    if reads_itself:
        if os.path.getsize(path) == 0:
            raise FieldError(f"{path}: file is empty")
        return reader(path, None)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FieldError(f"{path}: cannot read ({exc.strerror})") from None
    if not data.strip():
        raise FieldError(f"{path}: file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FieldError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return reader(path, text)


def _all_points(polygons: Iterable[RawPolygon]) -> np.ndarray:
    chunks = []
    for poly in polygons:
        for ring in poly.rings:
            try:
                arr = np.asarray(ring, dtype=float)
            except (TypeError, ValueError):
                continue
            if arr.ndim == 2 and arr.shape[1] >= 2:
                chunks.append(arr[:, :2])
    return np.concatenate(chunks) if chunks else np.empty((0, 2))


def _looks_geographic(pts: np.ndarray) -> bool:
    """Decide ``auto``: most points clustered within half a degree of a plausible lon/lat median."""
    finite = pts[np.isfinite(pts).all(axis=1)]
    if len(finite) == 0:
        return False
    med = np.median(finite, axis=0)
    if abs(med[0]) > 180.0 or abs(med[1]) > 180.0:
        return False
    near = np.all(np.abs(finite - med) <= 0.5, axis=1)
    return bool(near.mean() >= 0.5)


def load_fields(path: str | os.PathLike[str], crs: str = "auto") -> list[Field]:
    """Read a field file and return its fields in one local metric frame, obstacles cut out.

    ``crs`` names the coordinates of the file: ``wgs84`` lon/lat, ``gcj02``/``bd09`` (Chinese web maps),
    ``local`` metres, or ``auto`` (a projected CRS declared by the file, else lon/lat when the points
    cluster like geographic coordinates, else local metres). Raises :class:`FieldError` naming the file,
    the feature and the problem.
    """
    path = os.fspath(path)
    if crs not in CRS_CHOICES:
        raise FieldError(f"{path}: crs {crs!r} is not one of {', '.join(CRS_CHOICES)}")
    raw = _read(path)
    if not raw.polygons:
        raise FieldError(f"{path}: no polygons")
    projected = raw.declared_crs
    if crs == "auto":
        crs = "projected" if projected is not None else (
            "wgs84" if _looks_geographic(_all_points(raw.polygons)) else "local")
    geographic = crs in ("wgs84", "gcj02", "bd09")
    checked = [(p, validate_rings(p.rings, p.src, geographic)) for p in raw.polygons]
    frame: LocalFrame | None = None
    if crs == "projected":
        to_ll = Transformer.from_crs(projected, "EPSG:4326", always_xy=True)
        checked = [(p, [np.column_stack(to_ll.transform(r[:, 0], r[:, 1])) for r in rings])
                   for p, rings in checked]
        geographic, crs = True, "wgs84"
    if geographic:
        checked = [(p, [to_wgs84(r, crs) for r in rings]) for p, rings in checked]
        frame = LocalFrame.around(np.concatenate([r for _, rings in checked for r in rings]))
        checked = [(p, [frame.to_local(r) for r in rings]) for p, rings in checked]
    shapes = [(p, build_polygon(rings, p.src)) for p, rings in checked]
    return _assemble(path, shapes, frame, crs)


def _assemble(path: str, shapes: list, frame: LocalFrame | None, crs: str) -> list[Field]:
    fields = [(p, poly) for p, poly in shapes if p.role == "field"]
    if not fields:
        raise FieldError(f"{path}: no feature with role 'field'")
    zones: list[list[Zone]] = [[] for _ in fields]
    boundaries = [poly for _, poly in fields]
    for p, poly in shapes:
        if p.role == "field":
            continue
        hits = [k for k, b in enumerate(boundaries) if b.intersects(poly)]
        if not hits:
            raise FieldError(f"{p.src}: {p.role} does not lie on any field")
        for k in hits:
            if p.role == "obstacle":
                cut = boundaries[k].difference(poly)
                if cut.geom_type != "Polygon" or cut.is_empty:
                    raise FieldError(f"{p.src}: obstacle splits or covers field {fields[k][0].src}")
                boundaries[k] = cut
            else:
                zones[k].append(Zone(p.src.name or f"zone {p.src.feature}", poly, dict(p.properties)))
    out = []
    stem = Path(path).stem
    for k, ((p, _), boundary) in enumerate(zip(fields, boundaries)):
        name = p.src.name or (stem if len(fields) == 1 else f"{stem}-{p.src.feature}")
        if p.src.part is not None:
            name = f"{name}/{p.src.part}"
        props = {key: v for key, v in p.properties.items() if isinstance(v, (str, int, float, bool))}
        props["crs"] = crs
        out.append(Field(name=name, boundary=boundary, frame=frame, zones=tuple(zones[k]),
                         source=str(p.src), properties=props))
    return out
