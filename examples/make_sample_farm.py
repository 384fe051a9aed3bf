#!/usr/bin/env python3
"""Write agrifleet's bundled sample farm (core/data/sample_farm.geojson): three fields in the Po valley.

The fields are drawn in local metres and converted to WGS84 with agrifleet's own LocalFrame, so the file is
reproducible: ``python examples/make_sample_farm.py``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from agrifleet.core.geo import LocalFrame

FRAME = LocalFrame(lat0_deg=44.7231, lon0_deg=11.3158)


def circle(cx: float, cy: float, r: float, n: int, wobble: tuple[float, ...] = (1.0,)) -> list[tuple[float, float]]:
    return [(cx + r * wobble[i % len(wobble)] * math.cos(2 * math.pi * i / n),
             cy + r * wobble[i % len(wobble)] * math.sin(2 * math.pi * i / n)) for i in range(n)]


def rotate(pts, deg: float, about=(0.0, 0.0)):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    ox, oy = about
    return [(ox + c * (x - ox) - s * (y - oy), oy + s * (x - ox) + c * (y - oy)) for x, y in pts]


def lonlat(ring, ccw: bool) -> list[list[float]]:
    pts = np.asarray(ring, dtype=float)
    x, y = pts[:, 0], pts[:, 1]
    area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    if (area > 0) != ccw:
        pts = pts[::-1]
    ll = FRAME.to_wgs84(pts)
    ll = np.vstack([ll, ll[:1]])
    return [[round(float(a), 8), round(float(b), 8)] for a, b in ll]


def feature(name: str, outer, holes=(), **props) -> dict:
    return {"type": "Feature", "properties": {"name": name, **props},
            "geometry": {"type": "Polygon",
                         "coordinates": [lonlat(outer, True)] + [lonlat(h, False) for h in holes]}}


def main() -> None:
    north = rotate([(-420, 40), (0, 40), (10, 330), (-410, 350)], 8, about=(-200, 200))
    pylon = rotate([(-250, 170), (-235, 170), (-235, 185), (-250, 185)], 8, about=(-200, 200))
    pond_field = [(40, 20), (380, -10), (430, 210), (250, 330), (60, 290)]
    pond = circle(220, 150, 38, 14, wobble=(1.0, 0.9, 1.1, 0.95, 1.05, 0.85, 1.0))
    wet = [(330, 10), (395, 5), (410, 70), (345, 80)]
    creek = [(-300, -60), (120, -60), (120, -200), (-80, -200), (-80, -140), (-300, -140)]
    features = [
        feature("North field", north, [pylon], crop="wheat", description="12 ha with a power pylon"),
        feature("Pond field", pond_field, [pond], crop="maize", description="pentagon around a farm pond"),
        feature("Wet corner", wet, role="zone", unsuitable_for="ground",
                description="waterlogged in spring: drones only"),
        feature("Creek field", creek, crop="soy", description="L-shaped field along the creek"),
    ]
    out = {"type": "FeatureCollection", "name": "agrifleet sample farm", "features": features}
    target = Path(__file__).resolve().parent.parent / "core" / "data" / "sample_farm.geojson"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
