"""1,000 malformed field files: each one gives a FieldError with a message naming the file, nothing else.

Every generated file is broken by construction (one of the mutation kinds below applied to a random valid
field), so the test cannot pass by accident on a file that happens to be valid.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from agrifleet.core.errors import FieldError
from agrifleet.core.field_files import load_fields


def _star(rng: np.random.Generator, n: int, lon0: float, lat0: float) -> np.ndarray:
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    r = rng.uniform(0.002, 0.004, n)
    return np.column_stack([lon0 + r * np.cos(ang), lat0 + r * np.sin(ang)])


def _ring(pts: np.ndarray) -> list:
    return np.vstack([pts, pts[:1]]).tolist()


def _doc(rings: list, props=None, gtype="Polygon") -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props or {"name": "f"}, "geometry": {"type": gtype, "coordinates": rings}}]}


def _mutations(rng: np.random.Generator):
    lon0, lat0 = rng.uniform(-170, 170), rng.uniform(-70, 70)
    pts = _star(rng, int(rng.integers(5, 12)), lon0, lat0)
    good = _ring(pts)
    text = json.dumps(_doc([good]))
    size = rng.uniform(0.001, 0.003)
    bowtie = np.array([[0, 0], [1, 1], [1, 0], [0, 1]]) * size + [lon0, lat0] + rng.uniform(-1e-4, 1e-4, (4, 2))
    far_hole = _ring(_star(rng, 5, lon0 + 1.0, lat0))
    inner = pts * 0.0 + np.array([lon0, lat0]) + (pts - [lon0, lat0]) * 0.1
    big_hole = _ring((pts - [lon0, lat0]) * 1.5 + [lon0, lat0])
    nan_pts = pts.copy()
    nan_pts[int(rng.integers(0, len(pts)))] = [math.nan, lat0]
    lat_bad = pts.copy()
    lat_bad[:, 1] = rng.uniform(91, 150, len(pts))
    return [
        ("json", text[: int(rng.integers(1, len(text) - 1))]),                 # truncated
        ("json", text.replace('"coordinates"', '"coords"')),                  # missing member
        ("json", json.dumps(_doc([_ring(bowtie)]))),                           # self-intersection
        ("json", json.dumps(_doc([[good[0], good[1], good[0]]]))),             # too few points
        ("json", json.dumps(_doc([good, far_hole]))),                          # hole outside
        ("json", json.dumps(_doc([good, big_hole]))),                          # hole bigger than field
        ("json", json.dumps(_doc([_ring(nan_pts)]))),                          # NaN coordinate
        ("json", json.dumps(_doc([_ring(lat_bad)]))),                          # latitude out of range
        ("json", json.dumps(_doc([_ring(inner), _ring(inner)]))),              # hole == boundary
        ("json", json.dumps(_doc(good[0], gtype="Point"))),                    # unsupported type
        ("json", json.dumps({"type": "FeatureCollection", "features": []})),  # empty
        ("json", json.dumps(_doc([[["a", "b"], ["c", "d"], ["e", "f"]]]))),  # not numbers
        ("json", ""),                                                          # empty file
        ("json", json.dumps([1, 2, 3])),                                       # not an object
        ("bin", bytes(rng.integers(128, 256, int(rng.integers(1, 64))).astype(np.uint8))),
        ("kml", "<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>"
                + " ".join(f"{a},{b}" for a, b in pts[:2]) + "</coordinates>"),  # truncated XML
        ("kml", '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><LineString><coordinates>0,0 1,1'
                "</coordinates></LineString></Placemark></kml>"),
        ("wkt", "POLYGON ((" + ", ".join(f"{a} {b}" for a, b in np.vstack([bowtie, bowtie[:1]])) + "))"),
        ("wkt", "POLYGON ((" + ", ".join(f"{a} {b}" for a, b in pts[:3])),    # unterminated
    ]


def test_one_thousand_malformed_files_each_raise_a_field_error(tmp_path):
    rng = np.random.default_rng(20261130)
    suffix = {"json": ".geojson", "bin": ".geojson", "kml": ".kml", "wkt": ".wkt"}
    made = 0
    kinds_seen = set()
    while made < 1000:
        for i, (kind, content) in enumerate(_mutations(rng)):
            path = tmp_path / f"bad{made}{suffix[kind]}"
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
            with pytest.raises(FieldError) as info:
                load_fields(path, crs="wgs84" if kind != "wkt" else "auto")
            message = str(info.value)
            assert str(path) in message and len(message) > len(str(path)) + 5
            assert "\n" not in message
            kinds_seen.add(i)
            made += 1
            if made == 1000:
                break
    assert len(kinds_seen) == 19
